/**
 * What one running simulated clearinghouse holds and what its handlers share: the options it was started with,
 * every request it got (ReceivedRequest, the /_sim/received hook), the reviews it took in by trace number, the
 * transport-level bookkeeping (FLAKY, DROP, batch results), its counters, and the helpers that address and send a CORE
 * answer; and one CORE request being answered (CoreCall). Their own module so server.ts and the handlers (core.ts,
 * eligibility.ts, attachments.ts, reviews.ts) share them without importing one another.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CoreEnvelope, fromFormData } from '../../../connectors/x12/transport/core-envelope.ts';
import type { ReviewBehaviour } from './behaviours.ts';
import type { ReadRequest, SimEnvelope } from './x12.ts';

export interface ReceivedRequest {
  readonly seq: number;
  readonly at: string;
  readonly payloadType: string;
  readonly processingMode: string;
  readonly payloadId: string;
  /** What the payload was: a review request, an inquiry, a cancellation, an eligibility inquiry … */
  readonly kind:
    | '278-request'
    | '278-inquiry'
    | '278-cancel'
    | '278-appeal'
    /** A revised request (UM02 S): the EHR changed an order the payer holds. */
    | '278-revision'
    | '275'
    | '270'
    | 'batch-results'
    | 'other';
  /** A 275: the attachment control number (TRN02), its document kind (CAT/PWK01) and size (BIN01). */
  readonly attachment?: { controlNumber: string; reportType: string; bytes: number; contentType: string };
  readonly traceNumber?: string;
  readonly memberId?: string;
  readonly serviceCodes: string[];
  /** 278 requests: UM02 and the units asked for per service line (what a revision changed). */
  readonly certificationType?: string;
  readonly quantities?: number[];
  readonly interchangeControlNumber?: string;
  /** Whether the payer took the request in (a live submission, for 278 requests). */
  readonly accepted: boolean;
  /** What the simulator did: answered, http-503, dropped, delayed, rejected-999 … */
  readonly disposition: string;
}

export interface Review {
  readonly traceNumber: string;
  /** A revision (278 UM02 S) replaces the request and re-reads the behaviour from it. */
  behaviour: ReviewBehaviour;
  request: ReadRequest;
  readonly certificationNumber: string;
  readonly administrativeReference: string;
  /** The authorization's period, fixed when the payer took the review in: every answer repeats it. */
  readonly period: { start: string; end: string };
  inquiries: number;
  state: 'pended' | 'decided' | 'cancelled';
  /** pend-docs(-later): the number the documents are asked under, and how many 275s brought them. */
  readonly attachmentControlNumber: string;
  documentsReceived: number;
  /** A request for reconsideration (278 UM02 1 or 2): the letter's control number, letters received, decided. */
  appeal?: { controlNumber: string; letters: number; decided: boolean };
}

export interface SimOptions {
  readonly port?: number;
  readonly host?: string;
  /** How long a "slow" payer waits before answering. */
  readonly slowMs?: number;
  /** How long every request waits before it is answered (a payer's own processing time; bench/e2e --payer-ms). */
  readonly latencyMs?: number;
  /** CORE ReceiverID / ISA id the simulator answers as. */
  readonly id?: string;
  /** When set, every envelope must carry this CORE UserName/Password, else ErrorCode UnAuthorized (HTTP 401). */
  readonly login?: { readonly username: string; readonly password: string };
}

/** The simulator's state and the helpers every handler uses; server.ts makes one per running simulator. */
export interface ClearinghouseSim {
  readonly options: SimOptions;
  /** CORE SenderID / ISA id the simulator answers as. */
  readonly simId: string;
  readonly slowMs: number;
  readonly latencyMs: number;
  readonly received: ReceivedRequest[];
  /** The reviews the payer took in, by trace number. */
  readonly reviews: Map<string, Review>;
  /** FLAKY members already answered 503 once; DROP traces already dropped once. */
  readonly flakyServed: Set<string>;
  readonly droppedOnce: Set<string>;
  /** Batch-mode answers by the submission's PayloadID, for X12_005010_Request_Batch_Results_278. */
  readonly batches: Map<string, { payload: string; payloadType: string }>;
  /** Our interchange control numbers and the reviews' numbers (SIMCERT, SIMREF, ACN), counted up, never reset. */
  readonly counters: { controlNumber: number; certificates: number };
  envelopeFor(request: ReadRequest): SimEnvelope;
  reply(res: ServerResponse, status: number, envelope: Partial<CoreEnvelope>): Promise<void>;
}

/** One CORE request being answered: its connection, its envelope, what its records and replies start from. */
export interface CoreCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly envelope: Awaited<ReturnType<typeof fromFormData>>['envelope'];
  /** The fields every ReceivedRequest of this call starts from. */
  readonly base: {
    readonly seq: number;
    readonly at: string;
    readonly payloadType: string;
    readonly processingMode: string;
    readonly payloadId: string;
    readonly serviceCodes: string[];
  };
  /** Where and how an answer goes back (the caller's SenderID, its processing mode). */
  readonly replyTo: { readonly ReceiverID: string; readonly ProcessingMode: 'RealTime' };
  /** The X12 payload, read. */
  readonly request: ReadRequest;
}
