/**
 * `pagw map FILE [--format] [--sender]` as a user runs it (a child process): one JSON array on stdout and
 * exit 0, or each problem on stderr and exit 1; never a crash or a hang, whatever the file holds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAuthorizationRequest } from '../../src/canonical/index.ts';
import { fixturesDir } from '../conformance/mapping-cases.ts';
import { runCli } from '../helpers/cli.ts';

const fixture = (file: string) => path.join(fixturesDir, file);
const scratch = mkdtempSync(path.join(os.tmpdir(), 'pagw-map-'));

describe('pagw map', () => {
  it('prints the canonical requests of an HL7 v2 order as one JSON array (one ORC, two OBRs: two requests)', async () => {
    const result = await runCli([
      'map',
      fixture('hl7v2/fhirconverter_MDHHS-OML-O21-2.hl7'),
      '--tenant',
      'clinic-a',
    ]);
    expect(result.code).toBe(0);
    const requests = JSON.parse(result.stdout);
    expect(requests).toHaveLength(2);
    for (const request of requests) expect(checkAuthorizationRequest(request).ok).toBe(true);
    expect(requests[0].tenant).toBe('clinic-a');
    expect(result.stderr).toContain('warning PAGW_MAP_INVALID_VALUE ORC-12');
  });

  it('maps FHIR, detected or named, and applies a sender profile', async () => {
    const fhir = await runCli([
      'map',
      fixture('pas/Bundle-HomecareAuthorizationBundleExample.json'),
      '--format',
      'fhir',
    ]);
    expect(fhir.code).toBe(0);
    expect(
      JSON.parse(fhir.stdout)[0].serviceLines.map((l: { code: { code: string } }) => l.code.code),
    ).toEqual(['G0154', 'B4184']);
    const profiled = await runCli([
      'map',
      fixture('hl7v2/synthetic_OML-O21_mdhhs-profile-in2.hl7'),
      '--sender',
      'example-mdhhs',
    ]);
    expect(profiled.code).toBe(0);
    expect(JSON.parse(profiled.stdout)[0].coverage.memberId).toBe('MB-424242');
    const unprofiled = await runCli(['map', fixture('hl7v2/synthetic_OML-O21_mdhhs-profile-in2.hl7')]);
    expect(unprofiled).toMatchObject({ code: 1, stdout: '' });
    expect(unprofiled.stderr).toBe('error PAGW_MAP_MISSING_FIELD IN1-36: member id missing\n');
  });

  it('prints each problem on stderr and exits 1 for an order it cannot map', async () => {
    const result = await runCli(['map', fixture('fhir/crd-DeviceRequest-example.json')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      'error PAGW_MAP_MISSING_FIELD DeviceRequest.subject: no patient: the reference does not resolve to a resource in the payload (send a Bundle holding it, or contain it)',
      'error PAGW_MAP_MISSING_FIELD DeviceRequest.insurance: no coverage: nothing is referenced',
      'error PAGW_MAP_MISSING_FIELD DeviceRequest.code: no coding (neither codeCodeableConcept nor the type of the Device that codeReference points to)',
    ]);
  });

  it('never crashes or hangs: binary junk, an empty file, a directory, a missing file, a FIFO-like device, an unknown profile', async () => {
    const junk = path.join(scratch, 'junk.bin');
    writeFileSync(junk, Buffer.from([0xff, 0xfe, 0, 1, 2, 0x0b, 0x1c, 0x0d, 0x4d, 0x53, 0x48]));
    const empty = path.join(scratch, 'empty.hl7');
    writeFileSync(empty, '');
    const notJson = path.join(scratch, 'not-json.json');
    writeFileSync(notJson, '{"resourceType": "Bundle", ');
    const cases: Array<[string[], RegExp]> = [
      [['map', junk], /error PAGW_MAP_UNREADABLE/],
      [['map', empty], /error PAGW_MAP_UNREADABLE/],
      [['map', scratch], /not a regular file/],
      [['map', path.join(scratch, 'missing.hl7')], /cannot read: ENOENT/],
      [['map', '/dev/zero'], /not a regular file/],
      // A NUL is refused before JSON parsing, with its position (no FHIR string may carry one).
      [
        ['map', junk, '--format', 'fhir'],
        /error PAGW_MAP_FORBIDDEN_CHARACTER \$: a NUL character \(U\+0000\) at byte offset 2/,
      ],
      [['map', notJson, '--format', 'fhir'], /error PAGW_MAP_UNREADABLE \$: not valid JSON/],
      [
        ['map', fixture('hl7v2/fhirconverter_ORM-O01-02.hl7'), '--sender', 'no-such-profile'],
        /No sender profile/,
      ],
    ];
    for (const [args, stderr] of cases) {
      const result = await runCli(args, { timeoutMs: 30_000 });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(stderr);
    }
    const usage = await runCli(['map', junk, '--format', 'xml']);
    expect(usage.code).toBe(2);
  });
});
