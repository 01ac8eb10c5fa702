/**
 * The parties of a PAS request Bundle: the Patient (beneficiary), the subscriber when it is not the patient, the
 * Coverage (with the X12 relationship code beside FHIR's), and the insurer and requestor Organizations, each with its
 * PAS profile. Split from request-bundle.ts, which assembles them into the Bundle and validates it.
 */
import type { Coverage, Organization, Patient } from '@medplum/fhirtypes';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { DATA_ABSENT_REASON } from '../../src/outbound/index.ts';
import { PasProfile } from '../../src/profiles/index.ts';
import { idOf, type PasBuildContext } from './build-context.ts';

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const SUBSCRIBER_RELATIONSHIP = 'http://terminology.hl7.org/CodeSystem/subscriber-relationship';

export function patientOf(request: AuthorizationRequest, ctx: PasBuildContext, fullUrl: string): Patient {
  const p = request.patient;
  const identifiers = p.identifiers.filter((i) => i.type !== 'SS' && i.type !== 'SB');
  const name = p.name?.family || p.name?.given?.length ? p.name : undefined;
  return {
    resourceType: 'Patient',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.beneficiary] },
    identifier: (identifiers.length ? identifiers : [{ value: request.coverage.memberId, type: 'MB' }]).map(
      (i) => ({
        ...(i.type ? { type: { coding: [{ system: V2_0203, code: i.type }] } } : {}),
        system: i.system ?? `urn:pagw:${ctx.tenant}:patient`,
        value: i.value,
      }),
    ),
    name: [
      name
        ? {
            ...(name.family ? { family: name.family } : {}),
            ...(name.given?.length ? { given: [...name.given] } : {}),
          }
        : { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] },
    ],
    gender: p.sex ?? 'unknown',
    ...(p.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? { birthDate: p.birthDate } : {}),
    ...(p.address?.line?.length || p.address?.city
      ? {
          address: [
            {
              ...(p.address.line?.length ? { line: [...p.address.line] } : {}),
              ...(p.address.city ? { city: p.address.city } : {}),
              ...(p.address.state ? { state: p.address.state } : {}),
              ...(p.address.postalCode ? { postalCode: p.address.postalCode } : {}),
            },
          ],
        }
      : {}),
  };
}

export function insurerOf(
  request: AuthorizationRequest,
  ctx: PasBuildContext,
  fullUrl: string,
): Organization {
  const coverage = request.coverage;
  const identifier = coverage.payerIdSystem
    ? { system: coverage.payerIdSystem, value: coverage.payerId }
    : { system: `urn:pagw:${ctx.tenant}:payer`, value: ctx.payer.channelPayerId ?? ctx.payer.id };
  return {
    resourceType: 'Organization',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.insurer] },
    identifier: [identifier],
    active: true,
    name: ctx.payer.name ?? coverage.payerName ?? ctx.payer.id,
  };
}

export function requestorOf(request: AuthorizationRequest, fullUrl: string): Organization {
  const provider = request.requestingProvider;
  const personal = [provider?.name?.given?.join(' '), provider?.name?.family].filter(Boolean).join(' ');
  return {
    resourceType: 'Organization',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.requestor] },
    ...(provider?.npi ? { identifier: [{ system: CodeSystem.NPI, value: provider.npi }] } : {}),
    active: true,
    name: provider?.organizationName ?? (personal || 'Requesting provider'),
  };
}

/** X12 1069 individual relationship codes (INS02). */
const x12Relationship: Record<string, string> = {
  self: '18',
  spouse: '01',
  child: '19',
  other: 'G8',
  unknown: '21',
};

/** The subscriber when it is not the patient: a Patient entry from coverage.subscriber, known by the member id. */
export function subscriberOf(request: AuthorizationRequest, ctx: PasBuildContext, fullUrl: string): Patient {
  const s = request.coverage.subscriber;
  const name = s?.name?.family || s?.name?.given?.length ? s.name : undefined;
  return {
    resourceType: 'Patient',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.subscriber] },
    identifier: [
      {
        type: { coding: [{ system: V2_0203, code: 'MB' }] },
        system: `urn:pagw:${ctx.tenant}:member-id`,
        value: request.coverage.memberId,
      },
    ],
    name: [
      name
        ? {
            ...(name.family ? { family: name.family } : {}),
            ...(name.given?.length ? { given: [...name.given] } : {}),
          }
        : { extension: [{ url: DATA_ABSENT_REASON, valueCode: 'unknown' }] },
    ],
    gender: s?.sex ?? 'unknown',
    ...(s?.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(s.birthDate) ? { birthDate: s.birthDate } : {}),
  };
}

export function coverageOf(
  request: AuthorizationRequest,
  refs: { patient: string; insurer: string; subscriber: string },
  fullUrl: string,
): Coverage {
  const c = request.coverage;
  const classes = [
    ...(c.groupNumber ? [{ type: 'group', value: c.groupNumber, name: c.groupName }] : []),
    ...(c.planCode ? [{ type: 'plan', value: c.planCode, name: c.planName }] : []),
  ];
  return {
    resourceType: 'Coverage',
    id: idOf(fullUrl),
    meta: { profile: [PasProfile.coverage] },
    identifier: [
      {
        type: { coding: [{ system: V2_0203, code: 'MB' }] },
        system: 'urn:pagw:member-id',
        value: c.memberId,
      },
    ],
    status: 'active',
    subscriberId: c.memberId,
    beneficiary: { reference: refs.patient },
    // FHIR's code and the X12 INS02 code beside it, as the IG's Coverage example does (self = 18).
    relationship: {
      coding: [
        {
          system: SUBSCRIBER_RELATIONSHIP,
          code: c.relationshipToSubscriber === 'unknown' ? 'other' : c.relationshipToSubscriber,
        },
        {
          system: 'https://codesystem.x12.org/005010/1069',
          code: x12Relationship[c.relationshipToSubscriber],
        },
      ],
    },
    // The subscriber is the patient when self; otherwise the subscriber's own entry (PAS self-beneficiary rule).
    subscriber: { reference: c.relationshipToSubscriber === 'self' ? refs.patient : refs.subscriber },
    ...(c.period ? { period: { ...c.period } } : {}),
    payor: [{ reference: refs.insurer }],
    ...(classes.length
      ? {
          class: classes.map((k) => ({
            type: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: k.type }],
            },
            value: k.value,
            ...(k.name ? { name: k.name } : {}),
          })),
        }
      : {}),
  };
}
