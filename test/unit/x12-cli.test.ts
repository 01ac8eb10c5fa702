/**
 * `pagw x12 build` and `pagw x12 parse`, run as the real command: output on stdout, a specific error on
 * stderr with exit code 1 for bad input.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseX12 } from '../../connectors/x12/parse.ts';
import { runCli } from '../helpers/cli.ts';
import { fixturePath, sampleRequest } from '../helpers/fixtures.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'pagw-x12-cli-'));
const requestFile = fixturePath('canonical', 'authorization-request.valid.json');

describe('pagw x12 build', () => {
  it('prints a 278 for a canonical request that reads back as a request for the same member', async () => {
    const { code, stdout, stderr } = await runCli([
      'x12',
      'build',
      requestFile,
      '--type',
      '278',
      '--at',
      '2026-01-15T09:30:00Z',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^ISA\*00\*/);
    const [result] = parseX12(stdout.trim()).results;
    expect(result).toMatchObject({
      kind: '278-request',
      subscriber: { id: 'W123456789' },
      umo: { id: '87726' },
    });
  });

  it('prints a 270 with --type 270, one segment per line with --pretty', async () => {
    const { code, stdout } = await runCli(['x12', 'build', requestFile, '--type', '270', '--pretty']);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toContain('EQ*30~');
  });

  it('fails with exit 1 and the error code when the request cannot be expressed in a 278', async () => {
    const file = path.join(scratch, 'pcs.json');
    writeFileSync(
      file,
      JSON.stringify(
        sampleRequest({
          serviceLines: [
            { sequence: 1, code: { system: 'http://www.cms.gov/Medicare/Coding/ICD10', code: '0SR90JZ' } },
          ],
        }),
      ),
    );
    const { code, stdout, stderr } = await runCli(['x12', 'build', file]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('PAGW_X12_REQUEST_UNMAPPABLE');
    expect(stderr).toContain('$.serviceLines[0].code.system');
  });

  it('fails with exit 1 for a file that is not a canonical request', async () => {
    const file = path.join(scratch, 'bad.json');
    writeFileSync(file, JSON.stringify({ hello: 'world' }));
    const { code, stderr } = await runCli(['x12', 'build', file]);
    expect(code).toBe(1);
    expect(stderr).toContain('PAGW_VALIDATION_FAILED');
  });
});

describe('pagw x12 parse', () => {
  it('prints the decision of a 278 response', async () => {
    const { code, stdout } = await runCli([
      'x12',
      'parse',
      fixturePath('x12', 'corpus', '278-resp-A1-oopfactory-ig-3_1_2.x12'),
    ]);
    expect(code).toBe(0);
    const output = JSON.parse(stdout);
    expect(output.result.decision).toMatchObject({ outcome: 'approved', certificationNumber: 'AUTH0001' });
    expect(output.diagnostics.map((d: { code: string }) => d.code)).toContain('BOM');
  });

  it('prints a 271 eligibility result', async () => {
    const { code, stdout } = await runCli([
      'x12',
      'parse',
      fixturePath('x12', 'corpus', '271-lfh-subscriber-active.x12'),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result).toMatchObject({ kind: '271', status: 'active' });
  });

  it('prints a 999 rejection with the failing segment', async () => {
    const { code, stdout } = await runCli([
      'x12',
      'parse',
      fixturePath('x12', 'corpus', '999-imsweb-rejected.x12'),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result).toMatchObject({
      kind: '999',
      accepted: false,
      groups: [{ sets: [{ segmentErrors: [{ segment: 'NM', position: 17 }] }] }],
    });
  });

  it('prints every result of a file with several sets', async () => {
    const { stdout } = await runCli(['x12', 'parse', fixturePath('x12', 'corpus', '999-pyx12-multi-GS.x12')]);
    expect(JSON.parse(stdout).results).toHaveLength(4);
  });

  it.each([
    ['broken/not-x12.hl7', 'PAGW_X12_NOT_X12'],
    ['broken/isa-truncated.x12', 'PAGW_X12_TRUNCATED'],
    ['broken/837-unsupported.x12', 'PAGW_X12_UNSUPPORTED_TRANSACTION'],
  ])('fails %s with exit 1 and %s on stderr', async (file, errorCode) => {
    const { code, stdout, stderr } = await runCli(['x12', 'parse', fixturePath('x12', file)]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(errorCode);
  });

  it.each([
    [
      'handmade/278-resp-then-truncated-isa.x12',
      /^error PAGW_X12_TRUNCATED ISA \(segment 30, line 30, column 1\): The input ends inside the ISA header of interchange 2/,
    ],
    [
      'handmade/278-resp-then-bare-isa.x12',
      /^error PAGW_X12_TRUNCATED ISA \(segment 30, line 30, column 1\): /,
    ],
    ['handmade/278-resp-bom-inside.x12', /^error PAGW_X12_ENCODING GS \(segment 2, line 2, column 1\): /],
    [
      'handmade/278-resp-utf16le-bom.x12',
      /^error PAGW_X12_ENCODING ISA \(segment 1, line 1, column 1\): .*UTF-16LE/,
    ],
  ])('%s: "error CODE position: message", exit 1, no stack trace', async (file, firstLine) => {
    const { code, stdout, stderr } = await runCli(['x12', 'parse', fixturePath('x12', file)]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(firstLine);
    expect(stderr).not.toMatch(/TypeError|\n\s+at /);
  });

  it('reads a 278 behind a leading UTF-8 byte-order mark', async () => {
    const { code, stdout } = await runCli([
      'x12',
      'parse',
      fixturePath('x12', 'handmade', '278-resp-utf8-bom.x12'),
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).result.decision).toMatchObject({ certificationNumber: 'CERT7781' });
  });

  it('fails with exit 1 for something that is not a file', async () => {
    const { code, stderr } = await runCli(['x12', 'parse', scratch]);
    expect(code).toBe(1);
    expect(stderr).toContain('not a regular file');
  });
});
