/** The X12 connector keeps the PayerConnector contract against the simulated clearinghouse process. */

import { openHarness } from './clearinghouse-harness.ts';
import { connectorContract } from './connector-contract.ts';

const members = {
  approve: 'W100',
  deny: 'DENY100',
  pend: 'PEND100',
  unreachable: 'FAIL5XX100',
  aaa: 'AAA100',
} as const;

connectorContract('x12 via the simulated clearinghouse', async () => {
  const h = await openHarness();
  const connector = h.connector();
  return {
    connector,
    // The breaker is per payer: the unreachable scenario gets a payer of its own, so it trips nobody else's.
    context: (scenario) =>
      scenario === 'unreachable' ? h.context({ ...h.payer, id: 'unreachable-payer' }) : h.context(),
    request: (scenario) => h.request(members[scenario]),
    liveSubmissions: (trace) => h.liveSubmissions(trace),
    close: () => h.close(),
  };
});
