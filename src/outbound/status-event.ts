/**
 * The compact status event for ERP and scheduling (pa.status.v1, schemas/events/status.v1.json): is this service
 * authorized, for how many units, until when, at what expected reimbursement. PHI-minimal by construction: no
 * name, birth date or member id ever, no patient identifier unless the clinic opts in (tenant `statusEvent`), reasons
 * are codes without the payer's free text. Pure; validated against
 * its schema before it is returned. Documented for subscribers in docs/events/status.v1.md.
 */
import statusSchema from '../../schemas/events/status.v1.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import { activeCaseStates, type CaseState } from '../workflow/case-state-machine.ts';
import {
  isAuthorized,
  type LineView,
  lineViews,
  type OutboundCase,
  type PayerInfo,
  patientIdentifier,
  resolvePayer,
  totalReimbursement,
} from './case-view.ts';
import { OutboundBuildError } from './errors.ts';
import { outboundEventId } from './ids.ts';
import type { CaseStatusEvent, Line, PharmacyStatus } from './types.generated.ts';

export type { CaseStatusEvent } from './types.generated.ts';

/**
 * The schema id subscribers see in the pagw-schema-version header and the event's `schema` field: status.v1.0, or
 * status.v1.1 for an event carrying `pharmacy` (the minor that added it), so every other event stays byte-identical.
 */
export const statusEventSchema: CaseStatusEvent['schema'] = 'status.v1.0';
export const statusEventSchemaWithPharmacy: CaseStatusEvent['schema'] = 'status.v1.1';

const ajv = createAjv([statusSchema]);
const validateStatus = ajv.getSchema(statusSchema.$id)!;

export interface StatusEventInput {
  /** The case after the transition. */
  readonly caseRecord: OutboundCase;
  /** The state before the transition; null for a new case. */
  readonly previousState: CaseState | null;
  /** The case event that caused it (`received` for a new case). */
  readonly event: string;
  readonly payer?: PayerInfo;
  /** When the transition happened. */
  readonly at: Date;
  /** Carry the patient's MRN (tenant setting statusEvent.patientIdentifier); left out by default. */
  readonly patientIdentifier?: boolean;
  /** The pharmacy flag the case came from (src/outbound/pharmacy-writeback.ts pharmacyStatusFor). */
  readonly pharmacy?: PharmacyStatus;
}

/** Terminal and finished states have no SLA running; an SLA due time there would send schedulers chasing. */
const slaStates: ReadonlySet<CaseState> = new Set(activeCaseStates);

function line(view: LineView): Line {
  return {
    sequence: view.sequence,
    code: {
      system: view.code.system,
      code: view.code.code,
      ...(view.code.display ? { display: view.code.display } : {}),
    },
    ...(view.modifiers.length ? { modifiers: [...view.modifiers] } : {}),
    ...(view.requestedQuantity ? { requestedQuantity: { ...view.requestedQuantity } } : {}),
    ...(view.outcome ? { outcome: view.outcome } : {}),
    ...(view.reviewActionCode ? { reviewActionCode: view.reviewActionCode } : {}),
    ...(view.authorizedQuantity ? { authorizedQuantity: { ...view.authorizedQuantity } } : {}),
    ...(view.authorizedPeriod ? { authorizedPeriod: { ...view.authorizedPeriod } } : {}),
    ...(view.certificationNumber ? { certificationNumber: view.certificationNumber } : {}),
    ...(view.reasons.length
      ? {
          reasonCodes: view.reasons.map((r) => ({ ...(r.system ? { system: r.system } : {}), code: r.code })),
        }
      : {}),
    ...(view.expectedReimbursement ? { expectedReimbursement: { ...view.expectedReimbursement } } : {}),
  };
}

/** Builds the status event of one transition and validates it against status.v1; throws OutboundBuildError. */
export function buildStatusEvent(input: StatusEventInput): CaseStatusEvent {
  const { caseRecord, at } = input;
  const { request, decision } = caseRecord;
  const payer = resolvePayer(caseRecord, input.payer);
  const lines = lineViews(caseRecord, payer);
  const order = request.orderReference ?? {};
  const mrn = input.patientIdentifier ? patientIdentifier(request) : undefined;
  const total = totalReimbursement(lines);
  const channel = decision?.channel ?? caseRecord.channel ?? undefined;
  const authorized =
    caseRecord.state === 'not_required' || (decision ? isAuthorized(decision.outcome) : false);

  const event: CaseStatusEvent = {
    schema: input.pharmacy ? statusEventSchemaWithPharmacy : statusEventSchema,
    eventId: outboundEventId(caseRecord.id, caseRecord.version, 'status'),
    occurredAt: at.toISOString(),
    tenant: caseRecord.tenant,
    caseId: caseRecord.id,
    caseVersion: caseRecord.version,
    status: {
      state: caseRecord.state,
      previousState: input.previousState,
      event: input.event,
      ...(decision ? { outcome: decision.outcome } : {}),
      authorized,
      ...(decision?.followUp ? { followUp: decision.followUp } : {}),
    },
    order: {
      sourceFormat: request.source.format,
      sender: request.source.sender,
      ...(request.source.messageId ? { messageId: request.source.messageId } : {}),
      ...(order.placerOrderNumber ? { placerOrderNumber: order.placerOrderNumber } : {}),
      ...(order.fillerOrderNumber ? { fillerOrderNumber: order.fillerOrderNumber } : {}),
      ...(order.placerGroupNumber ? { placerGroupNumber: order.placerGroupNumber } : {}),
      ...(order.resourceReference ? { resourceReference: order.resourceReference } : {}),
    },
    ...(mrn
      ? {
          patient: {
            identifier: {
              ...(mrn.system ? { system: mrn.system } : {}),
              ...(mrn.type ? { type: mrn.type } : {}),
              value: mrn.value,
            },
          },
        }
      : {}),
    payer: {
      id: payer.id,
      ...(payer.name ? { name: payer.name } : {}),
      ...(channel === 'x12' || channel === 'pas' || channel === 'portal' ? { channel } : {}),
    },
    ...(decision?.certificationNumber && isAuthorized(decision.outcome)
      ? { certificationNumber: decision.certificationNumber }
      : {}),
    ...(decision?.administrativeReference && decision.outcome === 'pended'
      ? { administrativeReference: decision.administrativeReference }
      : {}),
    ...(decision?.authorizedPeriod && isAuthorized(decision.outcome)
      ? { authorizedPeriod: { ...decision.authorizedPeriod } }
      : {}),
    lines: lines.map(line),
    ...(total ? { expectedReimbursement: total } : {}),
    ...(caseRecord.retryContext ? { retryContext: caseRecord.retryContext } : {}),
    slaDueAt:
      caseRecord.slaDueAt && slaStates.has(caseRecord.state) ? caseRecord.slaDueAt.toISOString() : null,
    ...(input.pharmacy ? { pharmacy: input.pharmacy } : {}),
    ...(caseRecord.slaBreachedAt ? { slaBreachedAt: caseRecord.slaBreachedAt.toISOString() } : {}),
  };

  if (!validateStatus(event)) {
    const problems = ajvErrorsToProblems(validateStatus.errors);
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_STATUS_EVENT_INVALID',
      `Status event for case ${caseRecord.id} fails ${statusEventSchema}: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  }
  return event;
}
