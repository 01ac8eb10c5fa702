/**
 * `pagw --version` and `--help` (issue #10 item 9 and item 2): the version is package.json's, answered without
 * starting the TypeScript loader when it is the only argument; help lists every command and exits 0.
 * How fast they start is measured in bench/cli-start.ts, not here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.ts';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

describe('pagw --version', () => {
  it.each(['--version', '-V', '--config pagw.json --version'])(
    'pagw %s prints the package version and exits 0',
    async (line) => {
      const { code, stdout, stderr } = await runCli(line.split(' '));
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    },
  );
});

describe('pagw --help', () => {
  it('lists every command and the version option, exit 0', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['start', 'migrate', 'validate', 'audit', 'token', 'map', 'x12']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(stdout).toContain('-V, --version');
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const { code, stderr } = await runCli(['no-such-command']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'no-such-command'");
  });
});
