/**
 * Mappings are data: a new message type, a sender's quirk, a code translation are JSON files checked by their
 * schemas, applied by the one engine — no code change. Bad mapping data is refused as a whole, with every
 * problem named.
 */
import { describe, expect, it } from 'vitest';
import { builtInMappingData, type MappingData, MappingRegistry, mapOrder } from '../../src/mapping/index.ts';

const base = { tenant: 'clinic-a', sender: 'unit' } as const;

function seg(id: string, fields: Record<number, string>): string {
  const last = Math.max(...Object.keys(fields).map(Number));
  return [id, ...Array.from({ length: last }, (_, i) => fields[i + 1] ?? '')].join('|');
}

const msh = (type: string, app = 'APP') =>
  `MSH|^~\\&|${app}|FAC|PAGW|PAGW|20240301120000-0500||${type}|M-1|P|2.5.1`;
const pid = seg('PID', { 1: '1', 3: 'MRN-1^^^FAC^MR', 5: 'DOE^JANE', 7: '19800102', 8: 'F' });
const in1 = seg('IN1', { 1: '1', 3: 'PAYER-1', 17: 'SEL', 36: 'MEMBER-1', 49: 'INSURED-9^^^PAYER^MB' });
const order = ['ORC|NW|P-1', 'OBR|1|P-1||73610^X-ray ankle^C4'];

function registryWith(
  extra: Partial<{ mappings: unknown[]; tables: unknown[]; profiles: unknown[] }>,
): MappingRegistry {
  const data: MappingData = {
    mappings: [...builtInMappingData.mappings, ...(extra.mappings ?? [])],
    tables: [...builtInMappingData.tables, ...(extra.tables ?? [])],
    profiles: [...builtInMappingData.profiles, ...(extra.profiles ?? [])],
  };
  return MappingRegistry.fromData(data);
}

describe('mappings as data', () => {
  it('a new message type is one JSON file: OMI^O23 (imaging order) extending the common order mapping', () => {
    const omi = {
      id: 'hl7v2/omi-o23',
      format: 'hl7v2',
      description: 'Imaging order.',
      extends: 'hl7v2/order-common',
      select: { messageTypes: ['OMI^O23'], minVersion: '2.5' },
      orders: { control: 'ORC', items: ['OBR'], acceptedOrderControl: ['NW'] },
      fields: [],
    };
    const raw = [msh('OMI^O23^OMI_O23'), pid, in1, ...order].join('\r');
    expect(mapOrder({ ...base, raw }).ok).toBe(false);
    const outcome = mapOrder({ ...base, raw }, registryWith({ mappings: [omi] }));
    expect(outcome.ok && outcome.requests[0]!.serviceLines[0]!.code.code).toBe('73610');
  });

  it('a sender profile overrides one field (member id from IN1-49) without touching the mapping', () => {
    const profile = {
      id: 'member-in-in1-49',
      description: 'Sends the member id as the insured id.',
      match: { sendingApplication: ['ODDAPP'] },
      hl7v2Fields: [
        {
          target: 'coverage.memberId',
          scope: 'message',
          from: 'IN1-49.1',
          read: 'ST',
          required: 'member id missing',
        },
      ],
    };
    const registry = registryWith({ profiles: [profile] });
    const standard = mapOrder({ ...base, raw: [msh('ORM^O01'), pid, in1, ...order].join('\r') }, registry);
    const odd = mapOrder(
      { ...base, raw: [msh('ORM^O01', 'ODDAPP'), pid, in1, ...order].join('\r') },
      registry,
    );
    expect(standard.ok && standard.requests[0]!.coverage.memberId).toBe('MEMBER-1');
    expect(odd.ok && odd.requests[0]!.coverage.memberId).toBe('INSURED-9');
    expect(odd.message.profile).toBe('member-in-in1-49');
  });

  it('code translations are tables: a sender priority code added to a table changes the urgency', () => {
    const table = {
      id: 'hl7-priority',
      description: 'Priorities, with this site’s U for urgent.',
      entries: { S: 'expedited', U: 'expedited' },
      default: 'standard',
    };
    const data: MappingData = {
      ...builtInMappingData,
      tables: [
        ...builtInMappingData.tables.filter((t) => (t as { id: string }).id !== 'hl7-priority'),
        table,
      ],
    };
    const raw = [msh('ORM^O01'), pid, in1, seg('ORC', { 1: 'NW', 2: 'P-1', 7: '^^^^^U' }), order[1]].join(
      '\r',
    );
    const before = mapOrder({ ...base, raw });
    const after = mapOrder({ ...base, raw }, MappingRegistry.fromData(data));
    expect(before.ok && before.requests[0]!.urgency).toBe('standard');
    expect(after.ok && after.requests[0]!.urgency).toBe('expedited');
  });

  it('a code missing from a table without a default is a problem at its source', () => {
    const raw = JSON.stringify({
      resourceType: 'ServiceRequest',
      priority: 'whenever',
      contained: [
        { resourceType: 'Patient', id: 'p', identifier: [{ value: '1' }] },
        { resourceType: 'Coverage', id: 'c', subscriberId: 'S', payor: [{ identifier: { value: 'P' } }] },
      ],
      subject: { reference: '#p' },
      insurance: [{ reference: '#c' }],
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '73610' }] },
    });
    const outcome = mapOrder({ ...base, raw });
    expect(!outcome.ok && outcome.error.problems.map((p) => `${p.location}: ${p.message}`)).toEqual([
      "ServiceRequest.priority: code 'whenever' is not in table fhir-request-priority",
    ]);
  });

  it('refuses bad mapping data with every problem: schema, unknown base, unknown table, FHIRPath that does not parse, bad time zone', () => {
    const bad: unknown[] = [
      {
        id: 'hl7v2/broken',
        format: 'hl7v2',
        description: 'x',
        select: { messageTypes: ['ORM^O09'] },
        orders: {},
        fields: [],
      },
      {
        id: 'hl7v2/orphan',
        format: 'hl7v2',
        description: 'x',
        extends: 'hl7v2/nowhere',
        select: { messageTypes: ['ORM^O08'] },
        orders: { control: 'ORC', items: ['OBR'], acceptedOrderControl: ['NW'] },
        fields: [],
      },
      {
        id: 'fhir/bad-path',
        format: 'fhir',
        description: 'x',
        select: { resourceTypes: ['Task'] },
        resources: {},
        fields: [{ target: 'urgency', from: 'priority.where(', read: 'code', table: 'no-such-table' }],
      },
    ];
    expect(() => registryWith({ mappings: bad.slice(0, 1) })).toThrow(/orders.*control.*is required/s);
    try {
      registryWith({
        mappings: bad.slice(1),
        profiles: [{ id: 'tz', description: 'x', timeZone: 'Mars/Olympus' }],
      });
      expect.unreachable();
    } catch (error) {
      expect((error as { code: string }).code).toBe('PAGW_MAP_INVALID_MAPPING');
      const problems = (error as { problems: Array<{ location: string; message: string }> }).problems.map(
        (p) => `${p.location}: ${p.message}`,
      );
      expect(problems).toEqual(
        expect.arrayContaining([
          "hl7v2/orphan: extends unknown mapping 'hl7v2/nowhere'",
          "fhir/bad-path urgency: unknown table 'no-such-table'",
          expect.stringMatching(/^fhir\/bad-path: does not compile/),
          'tz timeZone: not an IANA time zone',
        ]),
      );
    }
  });

  it('the shipped mapping data is valid and maps each message type', () => {
    const registry = MappingRegistry.fromData(builtInMappingData);
    expect(registry.hl7MessageTypes.sort()).toEqual(['OMG^O19', 'OML^O21', 'ORM^O01']);
    expect(registry.fhir().map((m) => m.id)).toEqual([
      'fhir/pas-claim',
      'fhir/servicerequest',
      'fhir/devicerequest',
      'fhir/medicationrequest',
    ]);
  });
});

describe('FHIR Bundle.type that is not a code (fuzz finding)', () => {
  it.each([
    ['an object with an own toString', { toString: -3.5e-323, ca: true }],
    ['an array', ['collection']],
    ['null', null],
  ])('%s: refused naming Bundle.type, no TypeError', (_, type) => {
    const outcome = mapOrder({
      tenant: 'clinic-a',
      sender: 'ehr',
      format: 'fhir',
      raw: JSON.stringify({ resourceType: 'Bundle', type, entry: [] }),
    });
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.problems).toContainEqual(
        expect.objectContaining({ code: 'PAGW_MAP_UNSUPPORTED_MESSAGE', location: 'Bundle.type' }),
      );
    }
  });
});
