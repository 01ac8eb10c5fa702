/**
 * A suite that needs a service it cannot find skips LOUDLY; in CI (CI=true) it fails instead, so a green CI
 * run never hides a suite that did not run.
 */
export function inCi(): boolean {
  return /^(1|true|yes)$/i.test(process.env.CI ?? '');
}

/**
 * Call when a required service is missing. Throws in CI; elsewhere prints a warning and returns true so the
 * caller can `describe.skipIf(missing)`.
 */
export function serviceMissing(service: string, reason: unknown): true {
  const why = reason instanceof Error ? reason.message : String(reason);
  if (inCi()) throw new Error(`[pagw tests] required service unavailable in CI: ${service}: ${why}`);
  console.warn(`\n[pagw tests] SKIPPING suites that need ${service}: ${why}\n`);
  return true;
}
