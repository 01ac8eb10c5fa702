/**
 * Inputs the fuzz script (`npm run fuzz`, docs/fuzzing.md) found crashing the mapper, kept as fixtures in
 * test/fixtures/fhir/fuzz/ (listed in that folder's SOURCES.md). Each must be answered with a MappingError.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MappingError, mapOrder } from '../../src/mapping/index.ts';
import { fixturePath } from '../helpers/fixtures.ts';

describe('mapper: fuzzing findings', () => {
  it('a DeviceRequest whose id is an object (with a number as its toString) is refused, not a TypeError', () => {
    const raw = readFileSync(fixturePath('fhir', 'fuzz', 'devicerequest-object-id.json'));
    const outcome = mapOrder({ raw, tenant: 'clinic-a', sender: 'fuzz', format: 'fhir' });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toBeInstanceOf(MappingError);
    expect(outcome.error.problems.map((p) => p.location)).toEqual([
      'DeviceRequest.subject',
      'DeviceRequest.insurance',
    ]);
    // No reference was made from the object id.
    expect(JSON.stringify(outcome.error.problems)).not.toContain('[object');
  });
});
