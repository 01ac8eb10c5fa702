/**
 * What mapOrder takes and gives back: the inbound message (MapInput) and the outcome (MapOutcome), with the facts
 * identifying the message and what a refused outcome can still carry for intake (an incomplete order, a
 * cancellation, a change). Types only, in their own file because every part of the mapper and intake shares them.
 */
import type { CorrectableField } from '../canonical/correctable-fields.ts';
import type { AuthorizationRequest } from '../canonical/index.ts';
import type { GatewayError } from '../errors/index.ts';
import type { MessageLimits } from './limits.ts';
import type { MappingProblem } from './problems.ts';

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
