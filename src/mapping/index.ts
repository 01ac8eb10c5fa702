/**
 * The mapping layer's one entry point: an inbound order (HL7 v2 ER7 or FHIR R4 JSON, as bytes or text) →
 * canonical AuthorizationRequests, one per order group, each validated against the canonical schema; or a
 * MappingError listing every problem. Pure: no I/O, deterministic for the same input.
 *
 * This file detects the format and dispatches; the parts are beside it: forbidden-bytes.ts (the check before
 * parsing), map-hl7v2.ts and map-fhir.ts (one per format), message-facts.ts (key, fingerprint, sender profile),
 * order-groups.ts (order groups → requests or a refusal), outcome.ts (the types mapOrder takes and returns).
 */

import { forbiddenBytes } from './forbidden-bytes.ts';
import { mapFhir } from './map-fhir.ts';
import { mapHl7 } from './map-hl7v2.ts';
import { messageKey, sha256 } from './message-facts.ts';
import type { InboundFormat, MapInput, MapOutcome } from './outcome.ts';
import { MappingError, problem } from './problems.ts';
import { defaultRegistry, type MappingRegistry } from './registry.ts';

export { defaultMessageLimits, type MessageLimits } from './limits.ts';
export type {
  InboundFormat,
  IncompleteOrder,
  MapInput,
  MapOutcome,
  MessageFacts,
  OrderCancellation,
  OrderChange,
} from './outcome.ts';
export { hl7ConditionCode, isMappingError, MappingError, type MappingProblem } from './problems.ts';
export { builtInMappingData, defaultRegistry, type MappingData, MappingRegistry } from './registry.ts';

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
