/**
 * Property tests are deterministic in CI and fresh elsewhere.
 * - `FC_SEED=<n>` replays a run (fast-check prints the seed and path of any failure).
 * - Under `CI=true` without FC_SEED, every property uses one fixed seed, so a CI run cannot fail by luck;
 *   the long random search lives in `npm run fuzz`, outside CI.
 * - Otherwise a fresh seed per run, printed here so a failure can be replayed.
 */
import fc from 'fast-check';

const FIXED_CI_SEED = 20261129;

const fromEnv = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
if (fromEnv !== undefined && !Number.isSafeInteger(fromEnv)) {
  throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
}
const seed = fromEnv ?? (process.env.CI === 'true' ? FIXED_CI_SEED : undefined);
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
