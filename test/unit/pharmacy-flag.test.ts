/**
 * The PA flag mapper (src/mapping/pharmacy/flag.ts): the mapping files in mappings/pharmacy satisfy their schema,
 * identifiers are normalized only where the rule is unambiguous, and every refusal names the sender's path.
 */
import { describe, expect, it } from 'vitest';
import { mapPaFlag, normalizeIcd10Cm, normalizeNdc } from '../../src/mapping/pharmacy/flag.ts';
import { createPharmacyMappings, defaultPharmacyMappings } from '../../src/mapping/pharmacy/registry.ts';
import { seedFlag } from '../helpers/pharmacy.ts';

const v1 = defaultPharmacyMappings().get('pharmacy/pa-flag-v1')!;
const at = new Date('2026-03-02T14:05:00Z');

describe('PA flag mapping', () => {
  it('maps the seed payload of issue #15', () => {
    const outcome = mapPaFlag(v1, seedFlag({ cardholder_id: 'ZZC123456701' }, at));
    expect(outcome).toEqual({
      ok: true,
      flag: {
        event: 'pa_flagged',
        eventType: 'PA_FLAGGED',
        occurredAt: '2026-03-02T14:05:00.000Z',
        prescriptionId: 'RX-2026-0001',
        patientId: 'pt-1001',
        ndc: '00074043361',
        drugName: 'Humira 40 mg/0.4 mL pen',
        quantity: 2,
        daysSupply: 28,
        refills: 5,
        diagnosisCodes: ['M05.70', 'L40.54'],
        prescriberNpi: '1487654323',
        bin: '610014',
        pcn: 'ZZZGROUP',
        group: 'GRP555123',
        cardholderId: 'ZZC123456701',
        urgency: 'standard',
        contextUrl: 'http://127.0.0.1:8792/fhir/MedicationRequest/RX-2026-0001',
      },
    });
  });

  it.each([
    ['00074043361', '00074043361'],
    ['00074-0433-61', '00074043361'],
    ['0074-0433-61', '00074043361'],
    ['00074-433-61', '00074043361'],
    ['00074-0433-1', '00074043301'],
  ])('normalizes NDC %s to %s', (raw, ndc) => {
    expect(normalizeNdc(raw)).toEqual({ value: ndc });
  });

  it.each([['0074043361'], ['74043361'], ['00074-0433-611']])(
    'refuses the NDC %s rather than guess',
    (raw) => {
      expect(normalizeNdc(raw)).toHaveProperty('problem');
    },
  );

  it('refuses an NDC sent as a number (its leading zeros are gone)', () => {
    expect(normalizeNdc(74043361)).toHaveProperty('problem');
  });

  it.each([
    ['M05.70', 'M05.70'],
    ['m0570', 'M05.70'],
    ['L40.54', 'L40.54'],
    ['E11', 'E11'],
  ])('normalizes ICD-10-CM %s to %s', (raw, code) => {
    expect(normalizeIcd10Cm(raw)).toEqual({ value: code });
  });

  it('names every problem by its path in the sender payload, the value never', () => {
    const outcome = mapPaFlag(
      v1,
      seedFlag(
        {
          event_type: 'PA_CANCELLED',
          timestamp: 'yesterday',
          patient_id: '../Patient/x',
          prescriber_npi: '1487654321',
          diagnosis_codes: [],
          payer_bin: 61001,
          refills: 'many',
        },
        at,
      ),
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(Object.fromEntries(outcome.problems.map((p) => [p.location, p.message]))).toEqual({
      '$.event_type': expect.stringContaining('not an event'),
      '$.timestamp': expect.stringContaining('RFC 3339'),
      '$.patient_id': expect.stringContaining('FHIR id'),
      '$.prescriber_npi': expect.stringContaining('check digit'),
      '$.diagnosis_codes': expect.stringContaining('1 to 12'),
      '$.payer_bin': expect.stringContaining('6-digit BIN'),
      '$.refills': expect.stringContaining('whole number'),
    });
    for (const p of outcome.problems) expect(p.message).not.toMatch(/Patient\/x|1487654321|many/);
  });

  it('does not follow a path into Object.prototype', () => {
    const mapping = createPharmacyMappings([
      {
        ...v1,
        id: 'pharmacy/proto',
        fields: [...v1.fields, { target: 'drugName', from: 'constructor.name' }],
      },
    ]).get('pharmacy/proto')!;
    const outcome = mapPaFlag(mapping, seedFlag({ drug_name: undefined }, at));
    expect(outcome.ok).toBe(true);
    expect(outcome.ok ? outcome.flag.drugName : 'not mapped').toBeUndefined();
  });

  it('refuses a mapping file that does not satisfy its schema, naming the file and field', () => {
    expect(() =>
      createPharmacyMappings([{ ...v1, id: 'pharmacy/broken', fields: [{ target: 'colour', from: 'x' }] }]),
    ).toThrowError(/mappings\/pharmacy\/broken: \$\.fields\[0\]\.target/);
  });
});
