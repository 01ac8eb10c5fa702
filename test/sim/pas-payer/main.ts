/**
 * The simulated PAS payer as its own process:
 *   npx tsx test/sim/pas-payer/main.ts [--port 0] [--host 127.0.0.1] [--slow-ms 1500] [--notify-after-ms 300]
 *                                      [--token-ttl-s 300] [--clients-file clients.json]
 * `clients.json` maps client ids to the JWKS of their public keys ({ "<client_id>": { "keys": [...] } }); more
 * clients can be registered at run time with POST /_sim/clients. Prints
 * `pagw-sim pas payer listening on http://127.0.0.1:<port>/fhir` once it accepts connections; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { startPasSim } from './server.ts';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const clientsFile = flag('clients-file');
const sim = await startPasSim({
  port: Number(flag('port') ?? 8791),
  host: flag('host') ?? '127.0.0.1',
  slowMs: Number(flag('slow-ms') ?? 1500),
  notifyAfterMs: Number(flag('notify-after-ms') ?? 300),
  tokenTtlSeconds: Number(flag('token-ttl-s') ?? 300),
  ...(clientsFile ? { clients: JSON.parse(readFileSync(clientsFile, 'utf8')) } : {}),
});
process.stdout.write(`pagw-sim pas payer listening on ${sim.fhirBase}\n`);
const stop = () => {
  sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
