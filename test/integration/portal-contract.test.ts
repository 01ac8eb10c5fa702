/** The portal robot keeps the PayerConnector contract against the simulated payer portal, in real Chromium. */
import { describe } from 'vitest';
import { browserMissing } from '../helpers/browser.ts';
import { connectorContract } from './connector-contract.ts';
import { openPortalHarness } from './portal-harness.ts';

const members = {
  approve: 'W100',
  deny: 'DENY100',
  pend: 'W101',
  unreachable: 'W102',
  aaa: 'REFUSE100',
} as const;

const missing = browserMissing();
describe.skipIf(missing)('portal robot', () => {
  connectorContract('portal robot via the simulated payer portal', async () => {
    const h = await openPortalHarness();
    return {
      connector: h.connector(),
      capabilities: { eligibility: false, decidesOnSubmit: false },
      // An unreachable portal: a port nothing listens on.
      context: (scenario) =>
        scenario === 'unreachable' ? h.context({ url: 'http://127.0.0.1:9' }) : h.context(),
      request: (scenario) => h.request(members[scenario]),
      liveSubmissions: (trace) => h.liveSubmissions(trace),
      close: () => h.close(),
    };
  });
});
