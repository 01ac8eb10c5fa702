/**
 * The decision as an HL7 v2 status message for an order that came as HL7 v2 (ORR^O02 by default, ORM^O01 SC when
 * the sender's interface asks for it), written from the mapping file mappings/outbound/hl7v2-status.json.
 *
 * The builder derives a flat "view" of the case (message, reply, original, patient, order, decision, case, lines,
 * notes; documented in mappings/outbound/README.md) and the mapping says which view value goes to which field.
 * It answers the original order: MSH-3/4 ↔ MSH-5/6 swapped, MSA-2 = the order's MSH-10, ORC-2 = its placer
 * order number. Every value is escaped (\F\ \S\ \T\ \R\ \E\), and the result is parsed back with the `hl7v2`
 * package before it is returned. Pure and deterministic (MSH-10 derives from the event id, MSH-7 from `at`).
 * @see HL7 v2.5.1 ch. 4 (ORR^O02, ORC), ch. 2 (escape sequences, 2.7)
 */
import { HL7Message } from 'hl7v2';
import defaultMapping from '../../mappings/outbound/hl7v2-status.json' with { type: 'json' };
import mappingSchema from '../../schemas/hl7v2-status-mapping.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import {
  isAuthorized,
  lineViews,
  type OutboundCase,
  type PayerInfo,
  patientIdentifier,
  requireDecision,
  resolvePayer,
  reviewActionDisplay,
  splitSender,
} from './case-view.ts';
import { OutboundBuildError } from './errors.ts';
import { outboundEventId } from './ids.ts';
import type {
  FieldValue,
  Hl7V2,
  Hl7V2Destination,
  Hl7V2MessageType,
  Hl7V2StatusMapping,
  SegmentSpec,
  TenantSettings,
  Value,
} from './types.generated.ts';

const ajv = createAjv([mappingSchema]);
const validateMapping = ajv.getSchema(mappingSchema.$id)!;

/** Checks a mapping file against schemas/hl7v2-status-mapping.json; throws OutboundBuildError. */
export function assertHl7StatusMapping(candidate: unknown): Hl7V2StatusMapping {
  if (validateMapping(candidate)) return candidate as Hl7V2StatusMapping;
  const problems = ajvErrorsToProblems(validateMapping.errors);
  throw new OutboundBuildError(
    'PAGW_OUTBOUND_HL7_INVALID',
    `HL7 v2 status mapping is invalid: ${problems.map((p) => `${p.location}: ${p.message}`).join('; ')}`,
    { problems },
  );
}

export const defaultHl7StatusMapping: Hl7V2StatusMapping = assertHl7StatusMapping(defaultMapping);

/** The tenant's HL7 v2 preferences for one sender (MSH-3), defaults applied. */
export interface Hl7Preferences {
  readonly messageType: Hl7V2MessageType;
  readonly version: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  /** Absent when the tenant has no hl7v2 settings (then nothing is sent on its own). */
  readonly destination?: Hl7V2Destination;
}

/** Defaults, then the tenant's hl7v2 settings, then its bySendingApplication entry for this sender. */
export function hl7Preferences(
  tenant: Pick<TenantSettings, 'id'> & { hl7v2?: Hl7V2 },
  senderApplication: string,
): Hl7Preferences {
  const settings = tenant.hl7v2;
  const own = settings?.bySendingApplication?.[senderApplication];
  const destination = own?.destination ?? settings?.destination;
  return {
    messageType: own?.messageType ?? settings?.messageType ?? 'ORR^O02',
    version: own?.version ?? settings?.version ?? '2.5.1',
    sendingApplication: settings?.sendingApplication ?? 'PAGW',
    sendingFacility: settings?.sendingFacility ?? tenant.id,
    ...(destination ? { destination } : {}),
  };
}

export interface Hl7StatusInput {
  readonly caseRecord: OutboundCase;
  readonly tenant: Pick<TenantSettings, 'id'> & { hl7v2?: Hl7V2 };
  readonly payer?: PayerInfo;
  readonly at: Date;
  /** Replaces the tenant's message type (tests, a one-off resend). */
  readonly messageType?: Hl7V2MessageType;
  /** Defaults to mappings/outbound/hl7v2-status.json. */
  readonly mapping?: Hl7V2StatusMapping;
}

export interface Hl7StatusMessage {
  /** ER7 text, segments separated by CR. */
  readonly er7: string;
  readonly messageType: Hl7V2MessageType;
  /** MSH-10 of this message. */
  readonly controlId: string;
  readonly destination?: Hl7V2Destination;
}

type View = Record<string, unknown>;

/** Escapes one value for a component (HL7 v2 2.7: \E\ first, then \F\ \S\ \T\ \R\); line breaks become spaces. */
export function escapeHl7(value: string): string {
  return value
    .replace(/\\/g, '\\E\\')
    .replace(/\|/g, '\\F\\')
    .replace(/\^/g, '\\S\\')
    .replace(/&/g, '\\T\\')
    .replace(/~/g, '\\R\\')
    .replace(/\r\n|\r|\n/g, ' ');
}

/** 2025-03-01 → 20250301 (partial dates keep their precision). */
function hl7Date(date: string | undefined): string | undefined {
  return date?.replace(/-/g, '');
}

/** An instant as HL7 TS in UTC: YYYYMMDDHHMMSS+0000. */
function hl7Timestamp(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

const outcomeWords: Record<string, string> = {
  approved: 'APPROVED',
  modified: 'APPROVED WITH CHANGES',
  denied: 'DENIED',
  pended: 'PENDED',
  cancelled: 'CANCELLED',
  error: 'NOT PROCESSED (payer error)',
};

function view(
  input: Hl7StatusInput,
  prefs: Hl7Preferences,
  messageType: Hl7V2MessageType,
  structure: string,
): View {
  const { caseRecord, at } = input;
  const decision = requireDecision(caseRecord, 'HL7 v2 status message');
  const payer = resolvePayer(caseRecord, input.payer);
  const request = caseRecord.request;
  const order = request.orderReference ?? {};
  const sender = splitSender(request.source.sender);
  const mrn = patientIdentifier(request);
  const lines = lineViews(caseRecord, payer);
  const first = lines[0];
  const [code, trigger] = messageType.split('^');
  const controlId = outboundEventId(caseRecord.id, caseRecord.version, 'hl7v2-status')
    .replace(/-/g, '')
    .slice(0, 20);
  const authNumber = isAuthorized(decision.outcome)
    ? decision.certificationNumber
    : decision.outcome === 'pended'
      ? decision.administrativeReference
      : undefined;

  const summary = [
    `Prior authorization ${outcomeWords[decision.outcome] ?? decision.outcome.toUpperCase()} by ${payer.name ?? `payer ${payer.id}`}`,
    authNumber ? `${decision.outcome === 'pended' ? 'reference' : 'auth'} # ${authNumber}` : undefined,
    decision.authorizedPeriod && isAuthorized(decision.outcome)
      ? `valid ${decision.authorizedPeriod.start ?? '?'} to ${decision.authorizedPeriod.end ?? '?'}`
      : undefined,
    decision.followUp === 'send_documentation' ? 'payer requests additional documentation' : undefined,
  ]
    .filter(Boolean)
    .join('; ');

  return {
    message: {
      code,
      trigger,
      structure,
      controlId,
      timestamp: hl7Timestamp(at),
      version: prefs.version,
    },
    reply: {
      sendingApplication: prefs.sendingApplication,
      sendingFacility: prefs.sendingFacility,
      receivingApplication: sender.application,
      receivingFacility: sender.facility,
    },
    original: { controlId: request.source.messageId, messageType: request.source.messageType },
    patient: mrn ? { id: mrn.value, assigner: mrn.assigner, type: mrn.type } : {},
    order: {
      placerOrderNumber: order.placerOrderNumber,
      placerNamespace: order.placerOrderNumber ? sender.application : undefined,
      fillerOrderNumber: order.fillerOrderNumber,
      placerGroupNumber: order.placerGroupNumber,
      serviceCode: first?.code.code,
      serviceText: first?.code.display,
      serviceSystem: first?.code.system,
    },
    decision: {
      outcome: decision.outcome,
      certificationNumber: decision.certificationNumber,
      administrativeReference: decision.administrativeReference,
      payerId: payer.id,
      payerName: payer.name,
    },
    case: { id: caseRecord.id, version: caseRecord.version },
    notes: [summary, ...(decision.messages ?? [])].map((text, i) => ({ setId: i + 1, text })),
    lines: lines.map((l) => ({
      sequence: l.sequence,
      outcome: l.outcome,
      reviewActionCode: l.reviewActionCode,
      reviewActionText: l.reviewActionCode ? reviewActionDisplay[l.reviewActionCode] : undefined,
      authorizationNumber: isAuthorized(l.outcome)
        ? l.certificationNumber
        : l.outcome === 'pended'
          ? decision.administrativeReference
          : undefined,
      periodStart: hl7Date(l.authorizedPeriod?.start),
      periodEnd: hl7Date(l.authorizedPeriod?.end),
      quantity: l.authorizedQuantity?.value,
      unit: l.authorizedQuantity?.unit,
      code: l.code.code,
      codeText: l.code.display,
      codeSystem: l.code.system,
      reasonCode: l.reasons[0]?.code,
      reasonText: l.reasons[0]?.text,
      reasonSystem: l.reasons[0]?.system,
    })),
  };
}

const viewRoots = new Set(['message', 'reply', 'original', 'patient', 'order', 'decision', 'case', 'item']);

function fail(message: string): never {
  throw new OutboundBuildError('PAGW_OUTBOUND_HL7_INVALID', message);
}

function lookup(root: View, path: string): unknown {
  const [head, ...rest] = path.split('.');
  if (!head || !viewRoots.has(head)) fail(`Mapping path '${path}' does not start with a known view root`);
  let node: unknown = root[head];
  for (const key of rest) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function resolve(value: Value, root: View, tables: Record<string, Record<string, string>>): string {
  if (value === null) return '';
  if (typeof value === 'string') {
    if (value.startsWith('=')) return value.slice(1);
    const found = lookup(root, value);
    return found === undefined || found === null ? '' : String(found);
  }
  const key = lookup(root, value.from);
  if (key === undefined || key === null || key === '') return '';
  const table = tables[value.table] ?? fail(`Mapping names table '${value.table}', which it does not define`);
  return table[String(key)] ?? table['*'] ?? fail(`Table '${value.table}' has no code for '${String(key)}'`);
}

const isLiteral = (v: Value): boolean => typeof v === 'string' && v.startsWith('=');

/** A field of components; one whose every looked-up component is empty stays empty (no lone `^^X12_306`). */
function field(value: FieldValue, root: View, tables: Record<string, Record<string, string>>): string {
  const components = Array.isArray(value) ? value : [value];
  const resolved = components.map((c) => resolve(c, root, tables));
  const lookedUp = components.map((c, i) => (isLiteral(c) ? '' : resolved[i])).filter((r) => r !== undefined);
  if (components.some((c) => c !== null && !isLiteral(c)) && lookedUp.every((r) => r === '')) return '';
  return resolved
    .map((r) => escapeHl7(r))
    .join('^')
    .replace(/\^+$/, '');
}

function segment(spec: SegmentSpec, root: View, tables: Record<string, Record<string, string>>): string {
  const positions = Object.keys(spec.fields).map(Number);
  const last = Math.max(0, ...positions);
  const isMsh = spec.segment === 'MSH';
  const values: string[] = [];
  for (let pos = isMsh ? 3 : 1; pos <= last; pos++) {
    const fieldSpec = spec.fields[String(pos)];
    values.push(fieldSpec === undefined ? '' : field(fieldSpec, root, tables));
  }
  while (values.length && values.at(-1) === '') values.pop();
  return isMsh ? ['MSH', '^~\\&', ...values].join('|') : [spec.segment, ...values].join('|');
}

/** Builds the status message for a decided or pended case; throws OutboundBuildError. */
export function buildHl7StatusMessage(input: Hl7StatusInput): Hl7StatusMessage {
  const mapping = input.mapping ?? defaultHl7StatusMapping;
  const sender = splitSender(input.caseRecord.request.source.sender);
  const prefs = hl7Preferences(input.tenant, sender.application);
  const messageType = input.messageType ?? prefs.messageType;
  const spec =
    mapping.messages[messageType] ?? fail(`The mapping ${mapping.id} has no message type ${messageType}`);
  if (spec.segments[0]?.segment !== 'MSH') fail(`The mapping for ${messageType} must start with MSH`);
  const tables = { ...mapping.tables, ...spec.tables };
  const root = view(input, prefs, messageType, spec.structure);

  const segments: string[] = [];
  for (const segSpec of spec.segments) {
    if (segSpec.when) {
      const present = lookup(root, segSpec.when);
      if (present === undefined || present === null || present === '') continue;
    }
    if (segSpec.each) {
      for (const item of root[segSpec.each] as unknown[]) {
        segments.push(segment(segSpec, { ...root, item }, tables));
      }
    } else {
      segments.push(segment(segSpec, root, tables));
    }
  }
  const er7 = segments.join('\r');

  let parsed: HL7Message;
  try {
    parsed = HL7Message.parse(er7);
  } catch (error) {
    throw new OutboundBuildError(
      'PAGW_OUTBOUND_HL7_INVALID',
      `The built ${messageType} does not parse back`,
      {
        cause: error,
      },
    );
  }
  const controlId = (root.message as { controlId: string }).controlId;
  if (parsed.messageType !== messageType || parsed.controlId !== controlId) {
    fail(`The built message parses back as ${parsed.messageType} ${parsed.controlId}, not ${messageType}`);
  }
  return {
    er7,
    messageType,
    controlId,
    ...(prefs.destination ? { destination: prefs.destination } : {}),
  };
}
