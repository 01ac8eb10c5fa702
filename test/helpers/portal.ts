/**
 * A payer directory for portal tests (a portal-only payer and a [x12, portal] payer whose clearinghouse is
 * unreachable, both on the simulated portal with the sim-health recipe) and the clinic's portal secrets.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const portalLogin = { username: 'goodhealth-pa-desk', password: 'E2e-Portal-Secret-91' };
export const portalSeed = 'JZXW6IDTMVRXEZLUEB2GK43UEBZWKZLE';

export function portalPayerFiles(dir: string, portalUrl: string): void {
  const rules = [
    {
      version: '2026.1',
      effective: { start: '2020-01-01' },
      sla: { standardHours: 168, expeditedHours: 72 },
      defaults: { paRequired: true, reviewPolicy: 'none' },
      rules: [],
    },
  ];
  const portal = {
    type: 'portal',
    url: portalUrl,
    recipe: 'sim-health',
    credentialsRef: 'vault:portal/sim-health',
    totpRef: 'vault:portal/sim-health/totp',
    statusCheckMinutes: 1,
  };
  const write = (payer: object) =>
    writeFileSync(path.join(dir, `${(payer as { id: string }).id}.json`), JSON.stringify(payer, null, 2));
  write({
    id: 'portal-only-health',
    name: 'Portal Only Health',
    identifiers: { aliases: [{ value: 'PORTALONLY' }] },
    channels: [portal],
    ruleVersions: rules,
  });
  write({
    id: 'dual-channel-health',
    name: 'Dual Channel Health',
    identifiers: { aliases: [{ value: 'DUALCHAN' }] },
    channels: [
      {
        type: 'x12',
        // Nothing listens there: connection refused, never sent.
        clearinghouse: { name: 'nowhere', endpoint: 'http://127.0.0.1:9/core' },
        interchange: { receiverId: 'NOWHERE' },
        timeoutMs: 2000,
        retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
        circuitBreaker: { failureThreshold: 1, cooldownMs: 86_400_000 },
      },
      portal,
    ],
    ruleVersions: rules,
  });
}

export const portalSecrets = (tenant: string) => [
  { tenant, name: 'portal/sim-health/username', value: portalLogin.username },
  { tenant, name: 'portal/sim-health/password', value: portalLogin.password },
  { tenant, name: 'portal/sim-health/totp', value: portalSeed, kind: 'totp' as const },
];
