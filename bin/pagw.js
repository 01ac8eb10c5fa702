#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between a clone and a running gateway.
// `pagw --version` alone is answered before the loader starts (it costs a few hundred milliseconds); every other
// command loads only the modules it needs (src/cli/main.ts).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runCli } = await import('../src/cli/main.ts');
  process.exitCode = await runCli(args);
}
