/**
 * The demo's orders: what a clinic's EHR would send on an ordinary morning, each aimed at one of the simulated
 * payer's behaviours (chosen by member id, see test/sim/clearinghouse/README.md); one goes to a portal-only payer
 * (Lansing Health Care), which the portal robot works through the simulated payer portal.
 */
import { buildOrmOrder } from '../../test/helpers/hl7-orders.ts';

export type DemoTransport = 'mllp' | 'http-hl7v2' | 'http-fhir' | 'kafka-topic';

export interface DemoOrder {
  readonly label: string;
  readonly transport: DemoTransport;
  readonly body: string;
}

const stamp = Date.now().toString(36).toUpperCase();

function hl7(
  n: number,
  memberId: string,
  cpt: string,
  text: string,
  patient: { family: string; given: string },
  drug?: { codingSystem: string; quantity: number; diagnosis: { code: string; text: string } },
  payer?: { payerId: string; payerName: string },
): string {
  return buildOrmOrder({
    ...(payer ?? {}),
    messageId: `DEMO-${stamp}-${n}`,
    placerOrderNumber: `ORD-${1000 + n}`,
    mrn: `MRN-${200 + n}`,
    memberId,
    cpt,
    cptText: text,
    patient: { ...patient, birthDate: '19760312', sex: n % 2 ? 'F' : 'M' },
    ...(drug ?? {}),
  });
}

function fhirBundle(n: number): string {
  const id = (k: number) => `urn:uuid:0000000${n}-0000-4000-8000-00000000000${k}`;
  return JSON.stringify({
    resourceType: 'Bundle',
    id: `demo-${stamp}-${n}`,
    type: 'transaction',
    entry: [
      {
        fullUrl: id(1),
        resource: {
          resourceType: 'Patient',
          identifier: [
            {
              system: 'urn:oid:2.16.840.1.113883.19.5',
              type: { coding: [{ code: 'MR' }] },
              value: `MRN-${200 + n}`,
            },
          ],
          name: [{ family: 'RIVERA', given: ['SAM'] }],
          gender: 'male',
          birthDate: '1968-07-01',
        },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: id(2),
        resource: {
          resourceType: 'Coverage',
          status: 'active',
          subscriberId: 'W300000009',
          beneficiary: { reference: id(1) },
          relationship: { coding: [{ code: 'self' }] },
          payor: [{ reference: id(3) }],
        },
        request: { method: 'POST', url: 'Coverage' },
      },
      {
        fullUrl: id(3),
        resource: {
          resourceType: 'Organization',
          identifier: [{ value: '87726' }],
          name: 'Example Health Plan',
        },
        request: { method: 'POST', url: 'Organization' },
      },
      {
        fullUrl: id(4),
        resource: {
          resourceType: 'Practitioner',
          identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
          name: [{ family: 'WELBY', given: ['MARCUS'] }],
        },
        request: { method: 'POST', url: 'Practitioner' },
      },
      {
        fullUrl: id(5),
        resource: {
          resourceType: 'Condition',
          code: {
            coding: [
              {
                system: 'http://hl7.org/fhir/sid/icd-10-cm',
                code: 'M54.16',
                display: 'Radiculopathy, lumbar region',
              },
            ],
          },
          subject: { reference: id(1) },
        },
        request: { method: 'POST', url: 'Condition' },
      },
      {
        fullUrl: id(6),
        resource: {
          resourceType: 'ServiceRequest',
          identifier: [{ type: { coding: [{ code: 'PLAC' }] }, value: `ORD-${1000 + n}` }],
          status: 'active',
          intent: 'order',
          priority: 'routine',
          code: {
            coding: [
              {
                system: 'http://www.ama-assn.org/go/cpt',
                code: '72148',
                display: 'MRI lumbar spine without contrast',
              },
            ],
          },
          subject: { reference: id(1) },
          requester: { reference: id(4) },
          reasonReference: [{ reference: id(5) }],
          insurance: [{ reference: id(2) }],
        },
        request: { method: 'POST', url: 'ServiceRequest' },
      },
    ],
  });
}

export function demoOrders(): DemoOrder[] {
  return [
    {
      label: 'MRI brain (approved)',
      transport: 'mllp',
      body: hl7(1, 'W300000001', '70553', 'MRI brain w/wo contrast', { family: 'NGUYEN', given: 'LINH' }),
    },
    {
      label: 'CT abdomen (denied)',
      transport: 'mllp',
      body: hl7(2, 'DENY300002', '74177', 'CT abdomen pelvis with contrast', {
        family: 'OKAFOR',
        given: 'CHIDI',
      }),
    },
    {
      label: 'PET scan (pended, docs asked)',
      transport: 'http-hl7v2',
      body: hl7(3, 'PEND300003', '78815', 'PET/CT skull base to mid-thigh', {
        family: 'SILVA',
        given: 'ANA',
      }),
    },
    {
      label: 'MRI knee (units modified)',
      transport: 'kafka-topic',
      body: hl7(4, 'MODIFY3004', '73721', 'MRI knee without contrast', { family: 'BROWN', given: 'JO' }),
    },
    {
      label: 'Office visit (no PA needed)',
      transport: 'http-hl7v2',
      body: hl7(5, 'W300000005', '99213', 'Office visit, established', { family: 'KIM', given: 'MIN' }),
    },
    {
      label: 'MRI brain (coverage inactive)',
      transport: 'mllp',
      body: hl7(6, 'INACTIVE36', '70553', 'MRI brain w/wo contrast', { family: 'DUBOIS', given: 'LEA' }),
    },
    { label: 'MRI lumbar, FHIR (approved)', transport: 'http-fhir', body: fhirBundle(7) },
    {
      label: 'Adalimumab J0135 x2 ($4,200: review)',
      transport: 'http-hl7v2',
      body: hl7(
        9,
        'W300000009',
        'J0135',
        'Injection, adalimumab, 20 mg',
        { family: 'PATEL', given: 'RIYA' },
        {
          codingSystem: 'HCPCS',
          quantity: 2,
          diagnosis: { code: 'L40.54', text: 'Psoriatic juvenile arthropathy' },
        },
      ),
    },
    {
      label: 'MRI brain, portal-only payer (robot)',
      transport: 'http-hl7v2',
      body: hl7(
        10,
        'W300000010',
        '70553',
        'MRI brain w/wo contrast',
        { family: 'GARCIA', given: 'ROSA' },
        undefined,
        { payerId: 'LHC', payerName: 'Lansing Health Care' },
      ),
    },
    {
      label: 'Order with no insurance (refused)',
      transport: 'mllp',
      body: hl7(8, 'W300000008', '70553', 'MRI brain', { family: 'MOORE', given: 'PAT' })
        .split('\r')
        .filter((segment) => !segment.startsWith('IN1'))
        .join('\r'),
    },
  ];
}
