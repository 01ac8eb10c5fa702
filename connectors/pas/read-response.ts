/**
 * A payer's PAS answer as the port's SubmissionOutcome:
 * - a response Bundle whose ClaimResponse decided: `decided` (approved / denied / modified / cancelled), with each
 *   item's review action (X12 306), authorization number, authorized quantity and period, X12 886 reasons;
 * - one whose items are (partly) review action A4: `pended`, with the administration reference number;
 * - one with outcome `error`: `rejected`, with the X12 901 errors, their errorElement / errorPath and the 889
 *   follow-up action;
 * - an OperationOutcome (HTTP 4xx): `rejected`, one reason per error issue with its expression.
 * @see http://hl7.org/fhir/us/davinci-pas/STU2.2/specification.html#submitting-a-prior-authorization
 */
import type {
  Bundle,
  ClaimResponse,
  ClaimResponseItem,
  CommunicationRequest,
  Extension,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes';
import type {
  AuthorizationDecision,
  DocumentRequest,
  LineDecision,
  Outcome,
  Period,
  Reason,
  ReviewActionCode,
} from '../../src/canonical/types.generated.ts';
import { PasExtension, X12System } from '../../src/outbound/index.ts';
import type { PayerCallContext, SubmissionOutcome } from '../../src/workflow/ports/payer-connector.ts';
import { PasError } from './errors.ts';

const actionOutcome: Record<string, Outcome> = {
  A1: 'approved',
  A2: 'modified',
  A3: 'denied',
  A4: 'pended',
  A6: 'modified',
  C: 'cancelled',
  CT: 'pended',
  NA: 'approved',
};

const ext = (list: readonly Extension[] | undefined, url: string) => list?.find((e) => e.url === url);

function itemDecision(item: ClaimResponseItem): LineDecision & { administrativeReference?: string } {
  const review = item.adjudication
    .map((a) => ext(a.extension, PasExtension.reviewAction))
    .find((e) => e !== undefined);
  const code = ext(review?.extension, PasExtension.reviewActionCode)?.valueCodeableConcept?.coding?.find(
    (c) => c.system === X12System.reviewAction,
  )?.code;
  const number = ext(review?.extension, 'number')?.valueString;
  const reasons: Reason[] = (review?.extension ?? [])
    .filter((e) => e.url === 'reasonCode')
    .flatMap((e) => e.valueCodeableConcept?.coding ?? [])
    .filter((c) => c.code)
    .map((c) => ({ ...(c.system ? { system: c.system } : {}), code: c.code! }));
  const detail = ext(item.extension, PasExtension.itemAuthorizedDetail);
  const quantity = ext(detail?.extension, 'quantity')?.valueQuantity;
  const period = ext(item.extension, PasExtension.itemPreAuthPeriod)?.valuePeriod;
  const reference = ext(item.extension, PasExtension.administrationReferenceNumber)?.valueString;
  const outcome = code ? (actionOutcome[code] ?? 'pended') : 'pended';
  return {
    sequence: item.itemSequence,
    outcome,
    ...(code && code in actionOutcome ? { reviewActionCode: code as ReviewActionCode } : {}),
    ...(number ? { certificationNumber: number } : {}),
    ...(quantity?.value !== undefined
      ? { authorizedQuantity: { value: quantity.value, ...(quantity.unit ? { unit: quantity.unit } : {}) } }
      : {}),
    ...(period?.start || period?.end ? { authorizedPeriod: datePeriod(period) } : {}),
    ...(reasons.length ? { reasons } : {}),
    ...(reference ? { administrativeReference: reference } : {}),
  };
}

function datePeriod(period: { start?: string; end?: string }): Period {
  return {
    ...(period.start ? { start: period.start.slice(0, 10) } : {}),
    ...(period.end ? { end: period.end.slice(0, 10) } : {}),
  };
}

function overall(lines: readonly LineDecision[]): { outcome: Outcome; action?: ReviewActionCode } {
  const outcomes = new Set(lines.map((l) => l.outcome));
  if (outcomes.size === 0) return { outcome: 'pended', action: 'A4' };
  if (outcomes.has('pended')) return { outcome: 'pended', action: 'A4' };
  if (outcomes.size === 1) {
    const only = [...outcomes][0]!;
    const action = lines[0]?.reviewActionCode;
    return { outcome: only, ...(action ? { action } : {}) };
  }
  if ([...outcomes].every((o) => o === 'cancelled')) return { outcome: 'cancelled', action: 'C' };
  return { outcome: 'modified', action: 'A6' };
}

const REPORT_TYPE = 'https://codesystem.x12.org/005010/755';

/**
 * What the payer asks to be sent on a pended request: each CommunicationRequest the ClaimResponse references (PAS
 * CommunicationRequest: identifier = the tracking control number to send it under, X12 PWK06; category = the X12 755
 * report type, PWK01; payload text = what the payer says it wants).
 */
function documentsRequestedOf(body: unknown, cr: ClaimResponse): DocumentRequest[] {
  const entries =
    (body as Bundle | undefined)?.resourceType === 'Bundle' ? ((body as Bundle).entry ?? []) : [];
  const contained = (cr.contained ?? []) as Resource[];
  const out: DocumentRequest[] = [];
  for (const ref of cr.communicationRequest ?? []) {
    const target = ref.reference;
    const found = (
      target?.startsWith('#')
        ? contained.find((r) => `#${r.id}` === target)
        : entries.find(
            (e) =>
              e.fullUrl === target ||
              (e.resource && `${e.resource.resourceType}/${e.resource.id}` === target),
          )?.resource
    ) as CommunicationRequest | undefined;
    if (found?.resourceType !== 'CommunicationRequest') continue;
    const type = found.category?.[0]?.coding?.find((c) => c.code);
    if (!type?.code) continue;
    const said = found.payload?.[0]?.contentString;
    const medium = found.medium?.[0]?.coding?.[0]?.code;
    const control = found.identifier?.[0]?.value;
    out.push({
      type: {
        system: type.system ?? REPORT_TYPE,
        code: type.code,
        ...((type.display ?? said) ? { display: type.display ?? said } : {}),
      },
      ...(medium ? { transmission: medium } : {}),
      ...(control ? { attachmentControlNumber: control } : {}),
    });
  }
  return out;
}

/** The first ClaimResponse of a PAS response Bundle (or a bare ClaimResponse). */
export function claimResponseOf(body: unknown): ClaimResponse {
  const resource = body as Bundle | ClaimResponse | undefined;
  if (resource?.resourceType === 'ClaimResponse') return resource;
  if (resource?.resourceType === 'Bundle') {
    const cr = (resource.entry ?? []).map((e) => e.resource).find((r) => r?.resourceType === 'ClaimResponse');
    if (cr) return cr as ClaimResponse;
  }
  throw new PasError(
    'PAGW_PAS_RESPONSE_INVALID',
    'The payer answered without a PAS response Bundle holding a ClaimResponse',
  );
}

export interface ReadContext {
  readonly ctx: PayerCallContext;
  /** The Claim identifier value we sent (the case trace): the answer must be about it when it names one. */
  readonly claimIdentifier: string;
  readonly decidedAt: string;
  readonly rawMessageRef: string;
  readonly checkAfterMs: number;
}

export function outcomeOfResponse(body: unknown, read: ReadContext): SubmissionOutcome {
  const cr = claimResponseOf(body);
  const echoed = [...(cr.identifier ?? []), ...(cr.request?.identifier ? [cr.request.identifier] : [])]
    .map((i) => i.value)
    .filter((v): v is string => !!v);
  if (
    echoed.length > 0 &&
    !echoed.some((v) => v === read.claimIdentifier || v.startsWith(`${read.claimIdentifier}-`))
  ) {
    throw new PasError('PAGW_PAS_RESPONSE_INVALID', 'The PAS answer is about another Claim identifier');
  }
  const payer = { id: read.ctx.payer.id, ...(read.ctx.payer.name ? { name: read.ctx.payer.name } : {}) };
  const messages = [
    ...(cr.disposition ? [cr.disposition] : []),
    ...(cr.processNote ?? []).map((n) => n.text),
  ];
  if (cr.outcome === 'error') {
    const followUps = new Set<string>();
    const reasons: Reason[] = (cr.error ?? []).flatMap((e) => {
      const coding = e.code.coding?.[0];
      const followUp = ext(e.extension, PasExtension.errorFollowupAction)?.valueCodeableConcept?.coding?.[0]
        ?.code;
      if (followUp) followUps.add(followUp);
      const element = ext(ext(e.extension, PasExtension.errorElement)?.extension, 'error')?.valueString;
      const path = ext(e.extension, PasExtension.errorPath)?.valueString;
      return [
        {
          system: coding?.system ?? X12System.rejectReason,
          code: coding?.code ?? '33',
          ...(e.code.text ? { text: e.code.text } : {}),
          ...(element ? { element } : {}),
          ...(path ? { path } : {}),
        },
      ];
    });
    for (const f of followUps) reasons.push({ system: X12System.followUpAction, code: f });
    return {
      kind: 'rejected',
      reasons: reasons.length ? reasons : [{ system: X12System.rejectReason, code: '33' }],
      resubmitAllowed: [...followUps].every((f) => ['C', 'R', 'P', 'W', 'X'].includes(f)),
      messages: messages.length ? messages : ['The payer could not process the request'],
    };
  }
  const lines = (cr.item ?? []).map(itemDecision);
  const { outcome, action } = overall(lines);
  const certificationNumber = lines.find((l) => l.certificationNumber)?.certificationNumber ?? cr.preAuthRef;
  const administrativeReference = lines.find((l) => l.administrativeReference)?.administrativeReference;
  const authorizedPeriod =
    lines.find((l) => l.authorizedPeriod)?.authorizedPeriod ??
    (cr.preAuthPeriod ? datePeriod(cr.preAuthPeriod) : undefined);
  const reasons = lines.flatMap((l) => l.reasons ?? []);
  const decision: AuthorizationDecision = {
    outcome,
    ...(action ? { reviewActionCode: action } : {}),
    ...(certificationNumber && outcome !== 'denied' && outcome !== 'pended' ? { certificationNumber } : {}),
    ...(administrativeReference ? { administrativeReference } : {}),
    payer,
    channel: 'pas',
    ...(authorizedPeriod && (outcome === 'approved' || outcome === 'modified') ? { authorizedPeriod } : {}),
    lines: lines.map(({ administrativeReference: _a, ...line }) => line),
    reasons: reasons.filter(
      (r, i) => reasons.findIndex((x) => x.code === r.code && x.system === r.system) === i,
    ),
    ...(messages.length ? { messages } : {}),
    followUp: outcome === 'pended' ? 'none' : outcome === 'denied' ? 'contact_payer' : 'none',
    decidedAt: read.decidedAt,
    rawMessageRef: read.rawMessageRef,
  };
  if (outcome === 'pended') {
    const documentsRequested = documentsRequestedOf(body, cr);
    return {
      kind: 'pended',
      decision: documentsRequested.length
        ? { ...decision, documentsRequested, followUp: 'send_documentation' }
        : decision,
      checkAfterMs: read.checkAfterMs,
    };
  }
  return { kind: 'decided', decision };
}

/** A 4xx OperationOutcome: the payer refused the request without deciding it. */
export function outcomeOfRefusal(body: unknown, status: number): SubmissionOutcome {
  const oo = body as OperationOutcome | undefined;
  const issues =
    oo?.resourceType === 'OperationOutcome'
      ? oo.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal')
      : [];
  const reasons: Reason[] = issues.map((i) => ({
    system: 'http://hl7.org/fhir/issue-type',
    code: i.code,
    ...(i.details?.text || i.diagnostics ? { text: i.details?.text ?? i.diagnostics } : {}),
    ...(i.expression?.[0] ? { path: i.expression[0] } : {}),
  }));
  return {
    kind: 'rejected',
    reasons: reasons.length
      ? reasons
      : [{ system: 'http://hl7.org/fhir/issue-type', code: 'invalid', text: `HTTP ${status}` }],
    resubmitAllowed: true,
    messages: reasons.map((r) => `${r.path ? `${r.path}: ` : ''}${r.text ?? r.code}`),
  };
}
