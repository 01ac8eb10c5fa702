/**
 * The service lines of a PAS request: one ServiceRequest / DeviceRequest / MedicationRequest per line (by the kind
 * of code; a prescription's dispense request), and the Claim item that asks for it (item trace numbers, request type
 * HS, certification type, the requested-service reference). Codes outside the PAS service value set go as
 * data-absent-reason with the original as text. Split from request-bundle.ts, which assembles the Bundle.
 */
import type {
  ClaimItem,
  DeviceRequest,
  Extension,
  MedicationRequest,
  ServiceRequest,
} from '@medplum/fhirtypes';
import { CodeSystem } from '../../src/canonical/index.ts';
import type { ServiceLine } from '../../src/canonical/types.generated.ts';
import {
  itemTraceIdentifiers,
  PAS_SD,
  PasExtension,
  pasCoding,
  pasServiceSystems,
  X12System,
} from '../../src/outbound/index.ts';
import { idOf, type PasBuildContext } from './build-context.ts';

const PLACE_OF_SERVICE =
  'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set';

/** Service codes (HCPCS E/K/L: durable equipment, orthotics, prosthetics) that PAS sends as a DeviceRequest. */
function requestKind(line: ServiceLine): 'MedicationRequest' | 'DeviceRequest' | 'ServiceRequest' {
  if (line.code.system === CodeSystem.NDC || line.code.system === CodeSystem.RXNORM)
    return 'MedicationRequest';
  if (line.code.system === CodeSystem.HCPCS && /^[EKL]/i.test(line.code.code)) return 'DeviceRequest';
  return 'ServiceRequest';
}

/**
 * A code from outside the PAS service value set (LOINC, a sender's local system) cannot be sent as one: PAS lists
 * data-absent-reason `not-applicable` for that, and the original code goes along as text.
 */
const notApplicable = {
  system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  code: 'not-applicable',
};
const describeCode = (line: ServiceLine) =>
  `${line.code.display ?? line.description ?? ''} (${line.code.system}|${line.code.code})`.trim();

/** The line's product or service as PAS accepts it: HCPCS as http://, other systems by the value set. */
function serviceCoding(line: ServiceLine) {
  const candidates = [line.code, ...(line.alternateCodes ?? [])].map(pasCoding);
  return candidates.find((c) => pasServiceSystems.has(c.system));
}

/**
 * A prescription's dispense request: the quantity, and for a pharmacy's prescription (issue #15) its days supply
 * (NCPDP 405-D5) and refills (415-DF) — what the payer's drug review weighs besides the NDC.
 */
function dispenseRequestOf(line: ServiceLine): Pick<MedicationRequest, 'dispenseRequest'> {
  const rx = line.prescription;
  const request: NonNullable<MedicationRequest['dispenseRequest']> = {
    ...(line.quantity ? { quantity: { value: line.quantity.value } } : {}),
    ...(rx?.daysSupply !== undefined
      ? {
          expectedSupplyDuration: {
            value: rx.daysSupply,
            unit: 'days',
            system: 'http://unitsofmeasure.org',
            code: 'd',
          },
        }
      : {}),
    ...(rx?.refills !== undefined ? { numberOfRepeatsAllowed: rx.refills } : {}),
  };
  return Object.keys(request).length ? { dispenseRequest: request } : {};
}

export function orderOf(
  line: ServiceLine,
  refs: { patient: string; requestor: string },
  urgent: boolean,
  fullUrl: string,
): ServiceRequest | DeviceRequest | MedicationRequest {
  const code = serviceCoding(line) ?? notApplicable;
  const common = {
    id: idOf(fullUrl),
    subject: { reference: refs.patient },
    requester: { reference: refs.requestor },
  };
  const occurrence = line.servicePeriod ? { occurrencePeriod: { ...line.servicePeriod } } : {};
  // What every kind of request states alike: an active order, urgent when expedited, and what is ordered.
  const ordered = {
    status: 'active',
    intent: 'order',
    ...(urgent ? { priority: 'urgent' as const } : {}),
  } as const;
  const concept = { coding: [code], ...(code === notApplicable ? { text: describeCode(line) } : {}) };
  switch (requestKind(line)) {
    case 'MedicationRequest':
      return {
        resourceType: 'MedicationRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-medicationrequest`] },
        ...ordered,
        medicationCodeableConcept: concept,
        ...dispenseRequestOf(line),
      };
    case 'DeviceRequest':
      return {
        resourceType: 'DeviceRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-devicerequest`] },
        ...ordered,
        codeCodeableConcept: concept,
        ...occurrence,
      };
    default:
      return {
        resourceType: 'ServiceRequest',
        ...common,
        meta: { profile: [`${PAS_SD}/profile-servicerequest`] },
        ...ordered,
        code: concept,
        ...(line.quantity
          ? {
              quantityQuantity: {
                value: line.quantity.value,
                ...(line.quantity.unit ? { unit: line.quantity.unit } : {}),
              },
            }
          : {}),
        ...occurrence,
      };
  }
}

export function claimItem(
  line: ServiceLine,
  ctx: PasBuildContext,
  orderRef: string,
  certificationType: 'I' | '3',
): ClaimItem {
  const code = serviceCoding(line);
  const extension: Extension[] = [
    ...itemTraceIdentifiers({ id: ctx.tenant }, ctx.caseId, line).map((t) => ({
      url: PasExtension.itemTraceNumber,
      valueIdentifier: t,
    })),
    {
      url: PasExtension.serviceItemRequestType,
      valueCodeableConcept: { coding: [{ system: X12System.requestCategory, code: 'HS' }] },
    },
    {
      url: PasExtension.certificationType,
      valueCodeableConcept: { coding: [{ system: X12System.certificationType, code: certificationType }] },
    },
    { url: PasExtension.requestedService, valueReference: { reference: orderRef } },
  ];
  const category =
    line.category?.system === X12System.serviceType
      ? { system: X12System.serviceType, code: line.category.code }
      : { system: X12System.serviceType, code: '1' };
  return {
    extension,
    sequence: line.sequence,
    category: { coding: [category] },
    productOrService: code ? { coding: [code] } : { coding: [notApplicable], text: describeCode(line) },
    ...(line.modifiers?.length
      ? { modifier: line.modifiers.map((m) => ({ coding: [{ system: CodeSystem.CPT, code: m }] })) }
      : {}),
    ...(line.servicePeriod ? { servicedPeriod: { ...line.servicePeriod } } : {}),
    locationCodeableConcept: { coding: [{ system: PLACE_OF_SERVICE, code: line.placeOfService ?? '11' }] },
    ...(line.quantity ? { quantity: { value: line.quantity.value } } : {}),
  };
}
