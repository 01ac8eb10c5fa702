/**
 * The simulated pharmacy system as its own process:
 *   npx tsx test/sim/pharmacy-system/main.ts [--port 8792] [--host 127.0.0.1] [--page-size 2] [--unsupported Observation]
 * With SIM_CALLBACK_SECRET in the environment (not argv: it would show in `ps`) write-backs must be signed with it;
 * with SIM_FHIR_TOKEN the FHIR API wants that bearer token. Prints
 * `pagw-sim pharmacy system listening on http://127.0.0.1:<port>` once it accepts connections; stops on SIGTERM.
 */
import { startPharmacySim } from './server.ts';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const sim = await startPharmacySim({
  port: Number(flag('port') ?? 8792),
  host: flag('host') ?? '127.0.0.1',
  pageSize: Number(flag('page-size') ?? 2),
  unsupported: (flag('unsupported') ?? '').split(',').filter(Boolean),
  ...(process.env.SIM_CALLBACK_SECRET ? { callbackSecret: process.env.SIM_CALLBACK_SECRET } : {}),
  ...(process.env.SIM_FHIR_TOKEN ? { fhirToken: process.env.SIM_FHIR_TOKEN } : {}),
});
process.stdout.write(`pagw-sim pharmacy system listening on ${sim.url}\n`);
const stop = () => {
  sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
