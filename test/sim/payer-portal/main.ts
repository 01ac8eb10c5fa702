/**
 * The simulated payer portal as its own process:
 *   SIM_PORTAL_LOGIN=user:password SIM_PORTAL_TOTP_SEED=<base32> npx tsx test/sim/payer-portal/main.ts \
 *     [--port 0] [--host 127.0.0.1] [--session-timeout-ms 900000] [--session-max-pages N] \
 *     [--rate-max 600] [--rate-window-ms 60000] [--hold-confirm-ms 60000]
 * Secrets come from the environment, never argv (which `ps` shows). Prints
 * `pagw-sim payer portal listening on http://127.0.0.1:<port>` when ready; stops on SIGTERM or SIGINT.
 */
import { startPortalSim } from './server.ts';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const number = (name: string) => (flag(name) === undefined ? undefined : Number(flag(name)));

const login = process.env.SIM_PORTAL_LOGIN ?? 'clinic-user:portal-password';
const at = login.indexOf(':');
const sessionMaxPages = number('session-max-pages');
const holdConfirmMs = number('hold-confirm-ms');
const sessionTimeoutMs = number('session-timeout-ms');
const sim = await startPortalSim({
  port: number('port') ?? 8792,
  host: flag('host') ?? '127.0.0.1',
  username: login.slice(0, at),
  password: login.slice(at + 1),
  totpSeed: process.env.SIM_PORTAL_TOTP_SEED ?? 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
  ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
  ...(sessionMaxPages !== undefined ? { sessionMaxPages } : {}),
  ...(holdConfirmMs !== undefined ? { holdConfirmMs } : {}),
  rateLimit: { max: number('rate-max') ?? 600, windowMs: number('rate-window-ms') ?? 60_000 },
});
process.stdout.write(`pagw-sim payer portal listening on ${sim.url}\n`);
const stop = () => {
  sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
