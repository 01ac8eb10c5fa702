/**
 * The mapping layer's one entry point: an inbound order (HL7 v2 ER7 or FHIR R4 JSON, as bytes or text) →
 * canonical AuthorizationRequests, one per order group, each validated against the canonical schema; or a
 * MappingError listing every problem. Pure: no I/O, deterministic for the same input.
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { AuthorizationRequest, Source } from '../canonical/index.ts';
import type { GatewayError } from '../errors/index.ts';
import { type SourceLocation, validateRequest } from './engine.ts';
import { mapFhirPayload } from './fhir/map.ts';
import { hl7Sender, mapHl7Document } from './hl7v2/map.ts';
import { type Hl7Document, readHl7 } from './hl7v2/message.ts';
import { hl7Problem, MappingError, type MappingProblem, problem } from './problems.ts';
import { defaultRegistry, type MappingRegistry } from './registry.ts';
import type { SenderProfile } from './types.generated.ts';

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
    };

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
  units: ReadonlyArray<{ request: Record<string, unknown>; origins: ReadonlyMap<string, SourceLocation> }>,
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
    const valid = validateRequest(candidate, unit.origins, problems);
    if (valid) requests.push(valid);
  });
  const unique = dedupe(problems);
  const warnings = unique.filter((p) => p.severity === 'warning');
  const errors = unique.filter((p) => p.severity === 'error');
  if (errors.length > 0) return { ok: false, message, error: new MappingError(errors), warnings };
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
  const { units } = mapHl7Document(doc, mapping, registry.tables, sender, problems);
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
      resource.resourceType === 'Bundle'
        ? `Bundle/${String((resource as { type?: unknown }).type)}`
        : resource.resourceType,
    ...(profile ? { profile: profile.id } : {}),
  };
  const problems: MappingProblem[] = [];
  const result = mapFhirPayload(
    resource,
    registry.fhir(profile),
    registry.tables,
    profile?.id ?? sender,
    problems,
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
    if (order.id) {
      const ref = unit.request.orderReference as Record<string, unknown> | undefined;
      unit.request.orderReference = { ...ref, resourceReference: `${order.resourceType}/${order.id}` };
    }
  }
  return finish({ tenant: input.tenant, source }, result.units, message, problems);
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
