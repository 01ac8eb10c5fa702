/**
 * A FHIR R4 JSON message → MapOutcome: refuse what is not UTF-8, not JSON, too deep or not a resource, key the
 * message by resource id and version (else by a hash of its content with keys sorted), then map its order groups
 * (fhir/map.ts) and finish them (order-groups.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Source } from '../canonical/index.ts';
import { bundleTypeLabel, mapFhirPayload } from './fhir/map.ts';
import { defaultMessageLimits } from './limits.ts';
import { messageKey, selectProfile, sha256, stableJson, toIso } from './message-facts.ts';
import { finish } from './order-groups.ts';
import type { MapInput, MapOutcome, MessageFacts } from './outcome.ts';
import { MappingError, type MappingProblem, problem } from './problems.ts';
import { firstInvalidUtf8, scanJson } from './raw-text.ts';
import type { MappingRegistry } from './registry.ts';

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

export function mapFhir(input: MapInput, registry: MappingRegistry): MapOutcome {
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
