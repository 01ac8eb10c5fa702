/**
 * The mapping layer's one entry point: an inbound order (HL7 v2 ER7 or FHIR R4 JSON, as bytes or text) →
 * canonical AuthorizationRequests, one per order group, each validated against the canonical schema; or a
 * MappingError listing every problem. Pure: no I/O, deterministic for the same input.
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { type CorrectableField, correctableField, withPath } from '../canonical/correctable-fields.ts';
import type { AuthorizationRequest, Source } from '../canonical/index.ts';
import type { GatewayError } from '../errors/index.ts';
import { type SourceLocation, validateRequest } from './engine.ts';
import { bundleTypeLabel, mapFhirPayload } from './fhir/map.ts';
import { hl7Sender, mapHl7Document } from './hl7v2/map.ts';
import { type Hl7Document, readHl7 } from './hl7v2/message.ts';
import {
  defaultMessageLimits,
  fieldLimitProblems,
  type MessageLimits,
  tooManyOrderGroups,
} from './limits.ts';
import { hl7Problem, MappingError, type MappingProblem, problem } from './problems.ts';
import {
  describeForbidden,
  findForbiddenStrings,
  firstInvalidUtf8,
  firstNulByte,
  forbiddenCharacterIn,
  hl7PositionAt,
  scanJson,
} from './raw-text.ts';
import { defaultRegistry, type MappingRegistry } from './registry.ts';
import type { SenderProfile } from './types.generated.ts';

export { defaultMessageLimits, type MessageLimits } from './limits.ts';
export { hl7ConditionCode, isMappingError, MappingError, type MappingProblem } from './problems.ts';
export { builtInMappingData, defaultRegistry, type MappingData, MappingRegistry } from './registry.ts';

export type InboundFormat = 'hl7v2' | 'fhir';

export interface MapInput {
  /** Detected from the first bytes when absent ('{' → FHIR JSON, MSH → HL7 v2). */
  readonly format?: InboundFormat;
  readonly raw: Uint8Array | string;
  readonly tenant: string;
  /** The sending client as the transport knows it; HL7 messages are known by MSH-3/MSH-4 when they have them. */
  readonly sender: string;
  /** A sender profile id (mappings/senders); when absent, the first profile whose `match` fits, if any. */
  readonly profile?: string;
  readonly receivedAt?: Date | string;
  /** Ceilings on the message (config `inbound`); defaultMessageLimits when absent. */
  readonly limits?: Partial<MessageLimits>;
}

/** What identifies an inbound message, known even when it cannot be mapped. */
export interface MessageFacts {
  readonly format: InboundFormat;
  /** Idempotency key of the message: sender + MSH-10, FHIR id + versionId, else a hash of its normalized content. */
  readonly key: string;
  readonly sender: string;
  readonly messageId?: string;
  readonly messageType?: string;
  readonly profile?: string;
  /** SHA-256 of the normalized content (HL7 without MSH-7): a redelivery has the same; a reused id does not. */
  readonly fingerprint: string;
}

export type MapOutcome =
  | {
      readonly ok: true;
      readonly message: MessageFacts;
      readonly requests: AuthorizationRequest[];
      readonly warnings: MappingProblem[];
    }
  | {
      readonly ok: false;
      readonly message: MessageFacts;
      readonly error: GatewayError;
      readonly warnings: MappingProblem[];
      /**
       * Set when the order lacks only fields the ordering provider can supply later (src/canonical/
       * correctable-fields.ts) and is otherwise valid: the request as far as it goes and what it lacks. Intake
       * holds such an order as a case waiting for the provider instead of refusing it (issue #14).
       */
      readonly incomplete?: IncompleteOrder;
      /**
       * Set when every order of the message withdraws an order (HL7 ORC-1 CA/OC/DC): which orders, by the
       * identifiers the sender gave them. Intake cancels the matching cases instead of refusing it (issue #14).
       */
      readonly cancellation?: OrderCancellation;
      /**
       * Set when every order of the message changes an order (HL7 ORC-1 XO/XX) and each is a valid request but for
       * not being new: the changed requests. Intake updates the matching open cases instead of refusing it.
       */
      readonly change?: OrderChange;
    };

/** Orders a message changes: each changed request with the identifiers the sender gave the order. */
export interface OrderChange {
  readonly orders: ReadonlyArray<{
    readonly placerOrderNumber?: string;
    readonly resourceReference?: string;
    readonly request: AuthorizationRequest;
  }>;
}

/** Orders a message withdraws. */
export interface OrderCancellation {
  readonly orders: ReadonlyArray<{
    readonly placerOrderNumber?: string;
    readonly resourceReference?: string;
  }>;
}

/** An order valid but for fields the provider can supply later. */
export interface IncompleteOrder {
  /** The request without the missing fields (not valid against the schema until they are supplied). */
  readonly request: Record<string, unknown>;
  readonly missing: readonly CorrectableField[];
  /** The missing-field problems as the sender would have been told them. */
  readonly problems: readonly MappingProblem[];
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Keys stay short and PHI-free: long parts are hashed. */
function messageKey(parts: string[]): string {
  const key = parts.join(':');
  return key.length <= 400 ? key : `${parts[0]}:sha256:${sha256(key)}`;
}

/** JSON with object keys sorted at every level: the same content gives the same text, however it was written. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? ',' : ''}${stableJson(value[i])}`;
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const child = object[key];
    if (child === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${stableJson(child)}`;
    first = false;
  }
  return `${out}}`;
}

function firstMeaningfulChar(raw: Uint8Array | string): string {
  const head =
    typeof raw === 'string' ? raw.slice(0, 64) : new TextDecoder('latin1').decode(raw.subarray(0, 64));
  return head.replace(/^(\uFEFF|ï»¿|\xFF\xFE|\xFE\xFF)/, '').replace(/^[\s\v]+/, '');
}

/** '{' → FHIR JSON; MSH/FHS/BHS → HL7 v2; anything else → undefined. */
export function detectFormat(raw: Uint8Array | string): InboundFormat | undefined {
  const head = firstMeaningfulChar(raw);
  if (head.startsWith('{')) return 'fhir';
  if (/^(MSH|FHS|BHS)/.test(head)) return 'hl7v2';
  return undefined;
}

function toIso(at: Date | string | undefined): string | undefined {
  if (at === undefined) return undefined;
  const date = typeof at === 'string' ? new Date(at) : at;
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The same problem in every order group of a message is reported once. */
function dedupe(problems: readonly MappingProblem[]): MappingProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.severity}\u0000${p.code}\u0000${p.location}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function finish(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{
    request: Record<string, unknown>;
    origins: ReadonlyMap<string, SourceLocation>;
    control?: 'cancel' | 'change';
  }>,
  message: MessageFacts,
  problems: MappingProblem[],
): MapOutcome {
  const requests: AuthorizationRequest[] = [];
  // A message with mapping errors is refused anyway; schema problems would only repeat them.
  const refused = problems.some((p) => p.severity === 'error');
  units.forEach((unit, orderIndex) => {
    const candidate: Record<string, unknown> = {
      tenant: base.tenant,
      source: { ...base.source, orderIndex },
      ...unit.request,
      idempotencyKey: `${message.key}#${orderIndex}`,
    };
    if (candidate.diagnoses === undefined) candidate.diagnoses = [];
    if (refused) return;
    // The last guard before the database: nothing mapped may hold what PostgreSQL cannot store.
    for (const bad of findForbiddenStrings(candidate, '$', [], 5)) {
      problems.push(
        problem(
          'PAGW_MAP_FORBIDDEN_CHARACTER',
          bad.path,
          `the mapped value holds ${describeForbidden(bad.kind)}, which no field may carry`,
        ),
      );
    }
    if (problems.some((p) => p.severity === 'error')) return;
    const valid = validateRequest(candidate, unit.origins, problems);
    if (valid) requests.push(valid);
  });
  const incomplete = refused ? incompleteOrder(base, units, message, problems) : undefined;
  const cancellation = refused ? cancelledOrders(units) : undefined;
  const change = refused ? changedOrders(base, units, message, problems) : undefined;
  // `target` only serves the incomplete-order check: problems leave the mapper as they always did.
  const unique = dedupe(problems).map(({ target: _target, ...p }) => p);
  const warnings = unique.filter((p) => p.severity === 'warning');
  const errors = unique.filter((p) => p.severity === 'error');
  if (errors.length > 0)
    return {
      ok: false,
      message,
      error: new MappingError(errors),
      warnings,
      ...(incomplete ? { incomplete } : {}),
      ...(cancellation ? { cancellation } : {}),
      ...(change ? { change } : {}),
    };
  if (requests.length === 0) {
    return {
      ok: false,
      message,
      error: new MappingError([
        problem('PAGW_MAP_STRUCTURE', message.format === 'hl7v2' ? 'MSH' : '$', 'no order found'),
      ]),
      warnings,
    };
  }
  return { ok: true, message, requests, warnings };
}

/** The orders a message withdraws, when every order group of it cancels an order it names. */
function cancelledOrders(
  units: ReadonlyArray<{ request: Record<string, unknown>; control?: 'cancel' | 'change' }>,
): OrderCancellation | undefined {
  if (units.length === 0 || units.some((u) => u.control !== 'cancel')) return undefined;
  const orders = units.map((u) => {
    const ref = (u.request.orderReference ?? {}) as {
      placerOrderNumber?: string;
      resourceReference?: string;
    };
    return {
      ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
      ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
    };
  });
  return orders.every((o) => o.placerOrderNumber || o.resourceReference) ? { orders } : undefined;
}

/**
 * The changed orders of a message whose every order group changes an order (ORC-1 XO/XX) and whose only errors are
 * the order control's "not a new order": each request as it would have been accepted, validated like a new one.
 */
function changedOrders(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{
    request: Record<string, unknown>;
    origins: ReadonlyMap<string, SourceLocation>;
    control?: 'cancel' | 'change';
  }>,
  message: MessageFacts,
  problems: readonly MappingProblem[],
): OrderChange | undefined {
  if (units.length === 0 || units.some((u) => u.control !== 'change')) return undefined;
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.some((p) => p.code !== 'PAGW_MAP_NOT_NEW_ORDER')) return undefined;
  const orders: Array<OrderChange['orders'][number]> = [];
  for (const [orderIndex, unit] of units.entries()) {
    const candidate: Record<string, unknown> = {
      tenant: base.tenant,
      source: { ...base.source, orderIndex },
      ...unit.request,
      idempotencyKey: `${message.key}#${orderIndex}`,
    };
    if (candidate.diagnoses === undefined) candidate.diagnoses = [];
    if (findForbiddenStrings(candidate, '$', [], 1).length > 0) return undefined;
    const request = validateRequest(candidate, unit.origins, []);
    if (!request) return undefined;
    const ref = request.orderReference;
    if (!ref?.placerOrderNumber && !ref?.resourceReference) return undefined;
    orders.push({
      ...(ref.placerOrderNumber ? { placerOrderNumber: ref.placerOrderNumber } : {}),
      ...(ref.resourceReference ? { resourceReference: ref.resourceReference } : {}),
      request,
    });
  }
  return { orders };
}

/**
 * The one order of a message whose only errors are missing fields the provider can supply later, when it is valid
 * once they are: checked by filling each with a placeholder. Messages of several orders are not held (one held
 * case per message keeps a corrected resend's match unambiguous).
 */
function incompleteOrder(
  base: { tenant: string; source: Source },
  units: ReadonlyArray<{ request: Record<string, unknown>; origins: ReadonlyMap<string, SourceLocation> }>,
  message: MessageFacts,
  problems: readonly MappingProblem[],
): IncompleteOrder | undefined {
  const errors = problems.filter((p) => p.severity === 'error');
  if (units.length !== 1 || errors.length === 0) return undefined;
  const missing: CorrectableField[] = [];
  for (const p of errors) {
    const field = p.code === 'PAGW_MAP_MISSING_FIELD' && p.target ? correctableField(p.target) : undefined;
    if (!field) return undefined;
    if (!missing.includes(field)) missing.push(field);
  }
  const request: Record<string, unknown> = {
    tenant: base.tenant,
    source: { ...base.source, orderIndex: 0 },
    ...units[0]!.request,
    idempotencyKey: `${message.key}#0`,
  };
  if (request.diagnoses === undefined) request.diagnoses = [];
  let filled = request;
  for (const field of missing) filled = withPath(filled, field.path, field.placeholder);
  if (findForbiddenStrings(filled, '$', [], 1).length > 0) return undefined;
  if (!validateRequest(filled, units[0]!.origins, [])) return undefined;
  return {
    request,
    missing,
    problems: errors.map(({ target: _target, ...p }) => p),
  };
}

function selectProfile(
  registry: MappingRegistry,
  input: MapInput,
  facts: { sendingApplication?: string; sendingFacility?: string },
): SenderProfile | undefined {
  if (input.profile) return registry.profile(input.profile);
  return registry.matchProfile({ ...facts, sender: input.sender });
}

function mapHl7(input: MapInput, registry: MappingRegistry): MapOutcome {
  let doc: Hl7Document;
  try {
    doc = readHl7(input.raw);
  } catch (error) {
    if (!(error instanceof MappingError)) throw error;
    const message: MessageFacts = {
      format: 'hl7v2',
      key: messageKey(['hl7v2', 'sha256', sha256(input.raw)]),
      sender: input.sender,
      fingerprint: sha256(input.raw),
    };
    return { ok: false, message, error, warnings: [] };
  }
  const sender = hl7Sender(doc, input.sender);
  const profile = selectProfile(registry, input, doc);
  const message: MessageFacts = {
    format: 'hl7v2',
    key: doc.controlId
      ? messageKey(['hl7v2', sender, doc.controlId])
      : messageKey(['hl7v2', sender, 'sha256', sha256(doc.normalized)]),
    sender,
    ...(doc.controlId ? { messageId: doc.controlId } : {}),
    messageType: doc.messageTypeRaw || undefined,
    ...(profile ? { profile: profile.id } : {}),
    fingerprint: sha256(doc.fingerprintText),
  };
  const problems: MappingProblem[] = [...doc.warnings];
  const mapping = registry.hl7(doc.messageType, profile);
  if (!mapping) {
    problems.push(
      hl7Problem(
        'PAGW_MAP_UNSUPPORTED_MESSAGE',
        { segment: 'MSH', field: 9 },
        `unsupported message type ${doc.messageType}: orders are read from ${registry.hl7MessageTypes.join(', ')}`,
      ),
    );
    return finish({ tenant: input.tenant, source: { format: 'hl7v2', sender } }, [], message, problems);
  }
  const limits = { ...defaultMessageLimits, ...input.limits };
  // Limits first: a message over them is refused before its order groups are mapped one by one.
  const items = doc.segments.reduce((n, s) => (mapping.items.has(s.id) ? n + 1 : n), 0);
  const overLimits = fieldLimitProblems(doc, limits);
  if (items > limits.maxOrderGroups) {
    overLimits.unshift(
      tooManyOrderGroups(items, limits.maxOrderGroups, { format: 'hl7v2', items: [...mapping.items] }),
    );
  }
  if (overLimits.length > 0) {
    return finish({ tenant: input.tenant, source: { format: 'hl7v2', sender } }, [], message, [
      ...problems,
      ...overLimits,
    ]);
  }
  const { units } = mapHl7Document(doc, mapping, registry.tables, sender, problems);
  problems.push(...doc.decodingProblems, ...doc.undecodedFieldsRead());
  const receivedAt = toIso(input.receivedAt);
  const source: Source = {
    format: 'hl7v2',
    sender,
    ...(message.messageId ? { messageId: message.messageId } : {}),
    ...(message.messageType ? { messageType: message.messageType } : {}),
    ...(receivedAt ? { receivedAt } : {}),
  };
  return finish({ tenant: input.tenant, source }, units, message, problems);
}

/** Far deeper than any FHIR payload (a Bundle of resources with contained resources is about 15). */
const maxJsonDepth = 100;

/** Whether a parsed JSON value nests deeper than `limit` (iterative: deep input must not exhaust the stack). */
function depthOver(root: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > limit) return true;
    if (value === null || typeof value !== 'object') continue;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function decodeJson(raw: Uint8Array | string): string {
  const text = typeof raw === 'string' ? raw : new TextDecoder('utf-8').decode(raw);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function mapFhir(input: MapInput, registry: MappingRegistry): MapOutcome {
  const sender = input.sender;
  const unreadable = (why: string): MapOutcome => ({
    ok: false,
    message: {
      format: 'fhir',
      key: messageKey(['fhir', 'sha256', sha256(input.raw)]),
      sender,
      fingerprint: sha256(input.raw),
    },
    error: new MappingError([problem('PAGW_MAP_UNREADABLE', '$', why)]),
    warnings: [],
  });
  if (typeof input.raw !== 'string') {
    // FHIR JSON is UTF-8 (RFC 8259, FHIR R4 http.html#mime-type): anything else is refused, never guessed.
    const bytes = input.raw;
    const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    const first = firstInvalidUtf8(bytes, start);
    if (first >= 0) {
      const offsets: number[] = [];
      for (let at = first; at >= 0 && offsets.length < 10; at = firstInvalidUtf8(bytes, at + 1))
        offsets.push(at);
      const problems = scanJson(bytes, { invalidUtf8At: offsets, limit: 10 })
        .filter((f) => f.kind === 'invalid-utf8')
        .map((f) =>
          problem(
            'PAGW_MAP_UNDECODABLE',
            f.path,
            `byte 0x${bytes[f.offset]!.toString(16).toUpperCase().padStart(2, '0')} at byte offset ${f.offset} is not UTF-8: FHIR JSON must be UTF-8`,
          ),
        );
      // The scan names a JSON path for each bad byte; should it miss one, the first offset still names the place.
      if (problems.length === 0) {
        problems.push(
          problem(
            'PAGW_MAP_UNDECODABLE',
            '$',
            `byte 0x${bytes[first]!.toString(16).toUpperCase().padStart(2, '0')} at byte offset ${first} is not UTF-8: FHIR JSON must be UTF-8`,
          ),
        );
      }
      const refused = unreadable('') as Extract<MapOutcome, { ok: false }>;
      return { ...refused, error: new MappingError(problems) };
    }
  }
  let root: unknown;
  try {
    root = JSON.parse(decodeJson(input.raw));
  } catch (error) {
    // The parser's message can quote the input (PHI): keep only the position.
    const at = /position (\d+)/.exec(String((error as Error).message))?.[1];
    return unreadable(`not valid JSON${at ? ` (at position ${at})` : ''}`);
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    return unreadable('not a FHIR resource: the JSON is not an object');
  }
  if (depthOver(root, maxJsonDepth)) {
    return unreadable(`nested more than ${maxJsonDepth} levels deep: not a FHIR payload the gateway reads`);
  }
  const resource = root as Resource;
  if (typeof resource.resourceType !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(resource.resourceType)) {
    return unreadable('not a FHIR resource: resourceType is missing');
  }
  const profile = selectProfile(registry, input, {});
  const id = typeof resource.id === 'string' && resource.id ? resource.id : undefined;
  const version = typeof resource.meta?.versionId === 'string' ? resource.meta.versionId : undefined;
  const reference = id ? `${resource.resourceType}/${id}${version ? `/_history/${version}` : ''}` : undefined;
  const canonical = stableJson(root);
  const message: MessageFacts = {
    format: 'fhir',
    fingerprint: sha256(canonical),
    key:
      id && version
        ? messageKey(['fhir', sender, `${resource.resourceType}/${id}/_history/${version}`])
        : messageKey(['fhir', sender, 'sha256', sha256(canonical)]),
    sender,
    ...(reference ? { messageId: reference } : {}),
    messageType:
      resource.resourceType === 'Bundle' ? `Bundle/${bundleTypeLabel(resource)}` : resource.resourceType,
    ...(profile ? { profile: profile.id } : {}),
  };
  const problems: MappingProblem[] = [];
  const result = mapFhirPayload(
    resource,
    registry.fhir(profile),
    registry.tables,
    profile?.id ?? sender,
    problems,
    input.limits?.maxOrderGroups ?? defaultMessageLimits.maxOrderGroups,
  );
  const receivedAt = toIso(input.receivedAt);
  const source: Source = {
    format: result.mapping?.sourceFormat ?? 'fhir',
    sender,
    ...(message.messageId ? { messageId: message.messageId } : {}),
    messageType: message.messageType,
    ...(receivedAt ? { receivedAt } : {}),
  };
  for (const unit of result.units) {
    const order = unit.order.resource;
    // Only a string id makes a reference: the payload is not validated yet, and an object id (fuzzing found one
    // whose `toString` is a number) must reach validation as a typed refusal, not throw here.
    if (typeof order.id === 'string' && order.id) {
      const ref = unit.request.orderReference as Record<string, unknown> | undefined;
      unit.request.orderReference = { ...ref, resourceReference: `${order.resourceType}/${order.id}` };
    }
  }
  return finish({ tenant: input.tenant, source }, result.units, message, problems);
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');
/** A `\u` escape of U+0000 or of a surrogate (possibly a false alarm: `\\u0000` is a backslash and text). */
const suspectJsonEscape = /\\u(?:0000|[dD][89a-fA-F])/;

function asBytes(raw: Uint8Array | string): Uint8Array {
  return typeof raw === 'string' ? encoder.encode(raw) : raw;
}

/**
 * Refuses, before any parsing, a message holding what no field may carry (a NUL byte; for FHIR also
 * `\u0000` and unpaired surrogate escapes): such a message could never be recorded as text or jsonb, so it
 * is refused with each place named (segment/field or JSON path, and byte offset) under a key that is a hash
 * of its bytes — nothing read from it reaches the database but the bytes themselves.
 */
function forbiddenBytes(input: MapInput, format: InboundFormat): MapOutcome | undefined {
  const { raw } = input;
  const bytes = asBytes(raw);
  const problems: MappingProblem[] = [];
  // A string input can hold a lone surrogate that its UTF-8 encoding would hide (as U+FFFD).
  const inText = typeof raw === 'string' ? forbiddenCharacterIn(raw) : undefined;
  if (format === 'hl7v2' || inText?.kind === 'surrogate') {
    const offset =
      inText?.kind === 'surrogate'
        ? encoder.encode((raw as string).slice(0, inText.index)).length
        : firstNulByte(bytes);
    if (offset < 0) return undefined;
    const kind = inText?.kind === 'surrogate' ? 'surrogate' : 'nul';
    const where = `${describeForbidden(kind)} at byte offset ${offset}`;
    problems.push(
      format === 'hl7v2'
        ? hl7Problem(
            'PAGW_MAP_FORBIDDEN_CHARACTER',
            hl7PositionAt(bytes, offset) ?? { segment: 'MSH' },
            `${where}: no HL7 v2 field may carry it; remove it and send the message again`,
          )
        : problem('PAGW_MAP_FORBIDDEN_CHARACTER', '$', `${where}: no FHIR string may carry it`),
    );
  } else {
    // The walk is linear but not free (a few MB take a few hundred ms): only when there is something to find.
    if (firstNulByte(bytes) < 0 && !suspectJsonEscape.test(latin1.decode(bytes))) return undefined;
    for (const found of scanJson(bytes, { limit: 10 })) {
      if (found.kind === 'invalid-utf8') continue;
      problems.push(
        problem(
          'PAGW_MAP_FORBIDDEN_CHARACTER',
          found.path,
          `${describeForbidden(found.kind)} at byte offset ${found.offset}: no FHIR string may carry it`,
        ),
      );
    }
    if (problems.length === 0) return undefined;
  }
  return {
    ok: false,
    message: {
      format,
      key: messageKey([format, 'sha256', sha256(bytes)]),
      sender: input.sender,
      fingerprint: sha256(bytes),
    },
    error: new MappingError(problems),
    warnings: [],
  };
}

/**
 * Maps one inbound message. Never throws for bad input: a message that cannot be mapped comes back as
 * `{ ok: false, error }` with every problem. (An unknown profile name throws PAGW_MAP_UNKNOWN_PROFILE.)
 */
export function mapOrder(input: MapInput, registry: MappingRegistry = defaultRegistry()): MapOutcome {
  const format = input.format ?? detectFormat(input.raw);
  if (format === undefined) {
    const looksXml = firstMeaningfulChar(input.raw).startsWith('<');
    return {
      ok: false,
      message: {
        format: 'hl7v2',
        key: messageKey(['unknown', 'sha256', sha256(input.raw)]),
        sender: input.sender,
        fingerprint: sha256(input.raw),
      },
      error: new MappingError([
        problem(
          'PAGW_MAP_UNREADABLE',
          '$',
          looksXml
            ? 'FHIR XML is not read: send FHIR JSON'
            : 'neither an HL7 v2 message (starting with MSH) nor FHIR JSON',
        ),
      ]),
      warnings: [],
    };
  }
  const forbidden = forbiddenBytes(input, format);
  if (forbidden) return forbidden;
  try {
    return format === 'hl7v2' ? mapHl7(input, registry) : mapFhir(input, registry);
  } catch (error) {
    if (!(error instanceof MappingError)) throw error;
    return {
      ok: false,
      message: {
        format,
        key: messageKey([format, 'sha256', sha256(input.raw)]),
        sender: input.sender,
        fingerprint: sha256(input.raw),
      },
      error,
      warnings: [],
    };
  }
}
