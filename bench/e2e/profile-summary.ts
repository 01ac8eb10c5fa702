/**
 * Where a gateway's CPU time went, from a V8 CPU profile (`node --cpu-prof`): self time grouped by area (our folders,
 * each npm package, Node's own internals, garbage collection, idle), and the top functions by self time.
 * bench/e2e.ts runs it on the gateway's profile with --cpu-prof; it also runs alone:
 *
 *   npx tsx bench/e2e/profile-summary.ts CPU.….cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The area a frame's code belongs to: `src/store`, `connectors/x12`, `pkg pg`, `node internals`, `(gc)` … */
export function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program: V8 and native code)';
    return functionName ? `(native ${functionName})` : '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith('wasm:')) return 'wasm (PGlite: the embedded PostgreSQL)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const packageAt = file.lastIndexOf('/node_modules/');
  if (packageAt >= 0) {
    const parts = file.slice(packageAt + '/node_modules/'.length).split('/');
    return `pkg ${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  const relative = path.relative(repoRoot, file);
  if (relative.startsWith('..')) return 'other';
  const parts = relative.split(path.sep);
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  areas: Array<{ area: string; ms: number; shareOfBusy: number }>;
  functions: Array<{ name: string; where: string; ms: number; shareOfBusy: number }>;
}

/** Self time per function and area; `window` (µs, the profile's monotonic clock) keeps only the samples inside it. */
export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    selfMs.set(id, (selfMs.get(id) ?? 0) + delta / 1000);
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; ms: number }>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame.url, frame.functionName);
    totalMs += ms;
    if (area === '(idle)') {
      idleMs += ms;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const where = frame.url
      ? `${frame.url.replace(/^file:\/\//, '').replace(`${repoRoot}/`, '')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const busyMs = totalMs - idleMs;
  const share = (ms: number) => Number((ms / Math.max(1, busyMs)).toFixed(3));
  return {
    totalMs,
    busyMs,
    areas: [...areas.entries()]
      .map(([area, ms]) => ({ area, ms, shareOfBusy: share(ms) }))
      .sort((a, b) => b.ms - a.ms),
    functions: [...functions.values()]
      .map((f) => ({ ...f, shareOfBusy: share(f.ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

export function printProfileSummary(summary: ProfileSummary, areaLimit = 20): void {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  console.log(
    `  CPU profile: ${(summary.busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s profiled`,
  );
  console.log('  self time by area (share of busy time):');
  for (const a of summary.areas.slice(0, areaLimit))
    console.log(`    ${pct(a.shareOfBusy)}  ${(a.ms / 1000).toFixed(2).padStart(7)} s  ${a.area}`);
  console.log('  top functions by self time:');
  for (const f of summary.functions) console.log(`    ${pct(f.shareOfBusy)}  ${f.name}  ${f.where}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/e2e/profile-summary.ts FILE.cpuprofile [--top N]');
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 25;
  printProfileSummary(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top));
}
