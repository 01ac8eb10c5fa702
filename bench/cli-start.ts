/**
 * bench/cli-start: how long `pagw` takes to start and how much memory it takes, per command, each with its ratio
 * to `node -e 0` measured in the same run (rounds alternate the baseline and the commands, so a busy machine
 * slows both alike). Goals from issue #10: `--help` under 0.5 s, `map` of one HL7 file under 1 s and 120 MB.
 *
 *   npx tsx bench/cli-start.ts [--rounds 5] [--root OTHER_CHECKOUT]     (npm run bench:cli)
 *
 * Reports per command the median wall time, the median CPU time (user + system, which a busy machine inflates
 * far less than wall time) and the largest max RSS, from /usr/bin/time. "tsx floor" is the loader alone with one
 * small TypeScript module: what any command but `--version` pays before it does anything.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, root: { type: 'string' } },
});
const rounds = Math.max(1, Number(values.rounds));
// --root measures another checkout with the same fixtures (e.g. the commit before a change, for before/after).
const root = path.resolve(values.root ?? path.join(import.meta.dirname, '..'));
const bin = path.join(root, 'bin', 'pagw.js');
const fixture = (...parts: string[]) => path.join(root, 'test', 'fixtures', ...parts);

const commands: Array<{ label: string; args: string[] }> = [
  { label: 'node -e 0 (baseline)', args: ['-e', '0'] },
  {
    label: 'tsx floor (loader + one small .ts)',
    args: [
      '--input-type=module',
      '-e',
      `const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(path.join(root, 'src', 'errors', 'index.ts'))});`,
    ],
  },
  { label: 'pagw --version', args: [bin, '--version'] },
  { label: 'pagw --help', args: [bin, '--help'] },
  {
    label: 'pagw x12 parse <271>',
    args: [bin, 'x12', 'parse', fixture('x12', 'corpus', '271-lfh-subscriber-active.x12')],
  },
  { label: 'pagw map <one HL7 ORM>', args: [bin, 'map', fixture('hl7v2', 'fhirconverter_ORM-O01-02.hl7')] },
  {
    label: 'pagw map <one FHIR bundle>',
    args: [bin, 'map', fixture('fhir', 'synthetic_bundle-transaction-two-orders.json')],
  },
];

interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
  status: number;
}

const scratch = mkdtempSync(path.join(tmpdir(), 'pagw-cli-start-'));
const timeFile = path.join(scratch, 'time');

function run(args: string[]): Sample {
  // GNU time writes "wall user system maxrss-KB" to a file, so the command's own output cannot mix in.
  const result = spawnSync(
    '/usr/bin/time',
    ['-f', '%e %U %S %M', '-o', timeFile, process.execPath, ...args],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    },
  );
  if (result.error) throw result.error;
  // GNU time prints "Command exited with non-zero status N" first when the command fails: keep the last line.
  const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!;
  const [wall, user, system, rssKb] = last.split(/\s+/).map(Number);
  return { wall: wall!, cpu: user! + system!, rssMb: rssKb! / 1024, status: result.status ?? -1 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (spawnSync('/usr/bin/time', ['-f', '%e', 'true']).status !== 0) {
  console.error('bench/cli-start needs GNU time at /usr/bin/time (Debian package "time")');
  process.exit(2);
}
const samples = commands.map(() => [] as Sample[]);
run(commands[3]!.args); // one unmeasured start: tsx's transform cache, the page cache
for (let r = 0; r < rounds; r++) {
  commands.forEach((c, i) => {
    samples[i]!.push(run(c.args));
  });
}
rmSync(scratch, { recursive: true, force: true });

const base = { wall: median(samples[0]!.map((s) => s.wall)), cpu: median(samples[0]!.map((s) => s.cpu)) };
console.log(
  `pagw start-up, median of ${rounds} rounds; ${cpus().length} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `  ${'command'.padEnd(36)} ${'wall s'.padStart(7)} ${'× node'.padStart(7)} ${'cpu s'.padStart(7)} ${'× node'.padStart(7)} ${'max RSS MB'.padStart(11)}`,
);
commands.forEach((c, i) => {
  const wall = median(samples[i]!.map((s) => s.wall));
  const cpu = median(samples[i]!.map((s) => s.cpu));
  const rss = Math.max(...samples[i]!.map((s) => s.rssMb));
  const failed = samples[i]!.find((s) => s.status !== 0);
  console.log(
    `  ${c.label.padEnd(36)} ${wall.toFixed(2).padStart(7)} ${(wall / base.wall).toFixed(1).padStart(7)} ${cpu.toFixed(2).padStart(7)} ${(cpu / Math.max(base.cpu, 0.01)).toFixed(1).padStart(7)} ${rss.toFixed(0).padStart(11)}${failed ? `  (exit ${failed.status})` : ''}`,
  );
});
