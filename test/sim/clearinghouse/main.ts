/**
 * The simulated clearinghouse as its own process:
 *   npx tsx test/sim/clearinghouse/main.ts [--port 0] [--host 127.0.0.1] [--slow-ms 1500] [--latency-ms 0]
 * With SIM_LOGIN=user:password in the environment (not argv: it would show in `ps`) every envelope must carry
 * that CORE UserName/Password.
 * prints `pagw-sim clearinghouse listening on http://127.0.0.1:<port>/core` once it accepts connections, and
 * stops on SIGTERM or SIGINT.
 */
import { startSim } from './server.ts';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const sim = await startSim({
  port: Number(flag('port') ?? 8790),
  host: flag('host') ?? '127.0.0.1',
  slowMs: Number(flag('slow-ms') ?? 1500),
  latencyMs: Number(flag('latency-ms') ?? 0),
  ...(process.env.SIM_LOGIN
    ? {
        login: {
          username: process.env.SIM_LOGIN.slice(0, process.env.SIM_LOGIN.indexOf(':')),
          password: process.env.SIM_LOGIN.slice(process.env.SIM_LOGIN.indexOf(':') + 1),
        },
      }
    : {}),
});
process.stdout.write(`pagw-sim clearinghouse listening on ${sim.endpoint}\n`);
const stop = () => {
  sim.stop().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
