/**
 * An HL7 v2 message → MapOutcome: read the ER7 text, key the message by sender and MSH-10, refuse it early when it
 * is over the message limits, then map its order groups (hl7v2/map.ts) and finish them (order-groups.ts).
 */
import type { Source } from '../canonical/index.ts';
import { hl7Sender, mapHl7Document } from './hl7v2/map.ts';
import { type Hl7Document, readHl7 } from './hl7v2/message.ts';
import { defaultMessageLimits, fieldLimitProblems, tooManyOrderGroups } from './limits.ts';
import { messageKey, selectProfile, sha256, toIso } from './message-facts.ts';
import { finish } from './order-groups.ts';
import type { MapInput, MapOutcome, MessageFacts } from './outcome.ts';
import { hl7Problem, MappingError, type MappingProblem } from './problems.ts';
import type { MappingRegistry } from './registry.ts';

export function mapHl7(input: MapInput, registry: MappingRegistry): MapOutcome {
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
