/**
 * The PayerConnector port: how the workflow talks to a payer, whatever the channel. connectors/x12 (278 via a
 * clearinghouse), connectors/pas (Da Vinci PAS over FHIR) and connectors/portal (a browser robot) each
 * implement it, and one contract suite runs against every one of them.
 *
 * Failure contract: a payer that ANSWERED (even "no") returns a result; a payer that could not be reached,
 * timed out or answered 5xx throws a GatewayError with `retriable: true`; a request we built wrongly (our bug,
 * a 999 rejection) throws a GatewayError with `retriable: false`.
 */
import type { AuthorizationDecision, AuthorizationRequest, Period, Reason } from '../../canonical/index.ts';

export type PayerChannel = 'x12' | 'pas' | 'portal';

/** Who the connector is talking to, as the payer directory (payers/) describes it. */
export interface PayerTarget {
  /** Payer id in our directory. */
  readonly id: string;
  readonly name?: string;
  /** The payer's own identifier on this channel (X12 payer id in NM1*PR, PAS insurer identifier …). */
  readonly channelPayerId?: string;
  /** Channel settings from the directory entry (endpoint, timeouts, credential vault references). */
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface PayerCallContext {
  readonly tenant: string;
  readonly caseId: string;
  /**
   * The case's submission trace (X12 TRN02, PAS Claim.identifier): the SAME for every attempt of one case, so a
   * payer — and our own submissions log — can recognise a repeat.
   */
  readonly traceNumber: string;
  readonly payer: PayerTarget;
  /** 1 for the first try of this step, 2 for the first retry … */
  readonly attempt: number;
  readonly at: Date;
}

export type EligibilityResult =
  | {
      readonly status: 'active';
      readonly planName?: string;
      readonly planPeriod?: Period;
      /** Whether the payer says prior authorization is required for the requested service type (271 EB11). */
      readonly authorizationRequired?: boolean;
      readonly messages: readonly string[];
    }
  | { readonly status: 'inactive'; readonly reasons: readonly Reason[]; readonly messages: readonly string[] }
  | {
      /** The payer refused the inquiry itself (271 AAA). */
      readonly status: 'rejected';
      readonly reasons: readonly Reason[];
      /** true when the payer says a later retry may succeed (AAA04 = R or Y). */
      readonly resubmitAllowed: boolean;
      readonly messages: readonly string[];
    };

export type SubmissionOutcome =
  /** The payer decided (approved, denied, modified, cancelled). */
  | { readonly kind: 'decided'; readonly decision: AuthorizationDecision }
  /** Accepted and pended: ask again (inquire) after `checkAfterMs`, or wait for the payer's notification. */
  | { readonly kind: 'pended'; readonly decision: AuthorizationDecision; readonly checkAfterMs?: number }
  /** The payer refused the request without deciding it (278 AAA): reasons say why and whether to resubmit. */
  | {
      readonly kind: 'rejected';
      readonly reasons: readonly Reason[];
      readonly resubmitAllowed: boolean;
      readonly messages: readonly string[];
    };

export interface PayerConnector {
  readonly channel: PayerChannel;
  checkEligibility(request: AuthorizationRequest, ctx: PayerCallContext): Promise<EligibilityResult>;
  /**
   * Submits the request. Idempotent per `ctx.traceNumber`: when an earlier attempt for the same trace may have
   * reached the payer (it is in the submissions log), the connector reconciles first and returns the live
   * submission's outcome instead of sending a second one.
   */
  submit(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome>;
  /** Asks for the current outcome of a pended submission (278 inquiry, PAS $inquire, portal status page). */
  inquire(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome>;
  /** Whether the payer already holds a live submission with `ctx.traceNumber`, and its outcome if known. */
  reconcile(
    request: AuthorizationRequest,
    ctx: PayerCallContext,
  ): Promise<{ live: boolean; outcome?: SubmissionOutcome }>;
  /** Withdraws a submission (278 with certification type 3, PAS cancel). */
  cancel(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome>;
  /**
   * Sends a changed request for a submission the payer holds (X12 278 with certification type S, revised, naming the
   * live review; PAS claim update): the EHR changed the order after it was submitted. Answered like a submission.
   * Optional: a channel without it fails the step (a person takes it over, channel_failure).
   */
  update?(request: AuthorizationRequest, ctx: PayerCallContext): Promise<SubmissionOutcome>;
  /**
   * Sends documents the payer asked for on a pended request (X12 275 under the PWK attachment control number, PAS
   * additional-information submission, portal upload). Optional: a channel without it leaves the documents to a
   * person (the task stays open). Throws like submit: retriable when the payer could not be reached.
   */
  sendAttachments?(
    request: AuthorizationRequest,
    documents: readonly PayerAttachment[],
    ctx: PayerCallContext,
  ): Promise<{ readonly sent: number }>;
  /**
   * Whether `sendAttachments` can send for this payer (a portal whose recipe has no upload flow cannot). Optional:
   * absent, a connector with `sendAttachments` can. When it cannot, the documents are left to a person, as for a
   * channel without the method.
   */
  canSendAttachments?(payer: PayerTarget): boolean;
  /**
   * Asks the payer to reconsider a denial or partial approval (X12 278 with an appeal certification type, PAS, portal
   * appeal form), with the appeal letter and evidence. Optional: without it an appeal goes to the payer's appeal
   * address by e-mail.
   */
  appeal?(
    request: AuthorizationRequest,
    appeal: PayerAppeal,
    ctx: PayerCallContext,
  ): Promise<SubmissionOutcome>;
}

/** A document for the payer: what it answers, its type and its bytes (opened from the vault by the caller). */
export interface PayerAttachment {
  readonly documentId: string;
  /** The payer's attachment control number (PWK06), when it gave one. */
  readonly controlNumber?: string;
  /** The kind of document asked for (X12 755 report type). */
  readonly reportType: string;
  readonly contentType: string;
  readonly content: Buffer;
}

/** An appeal as a connector sends it. */
export interface PayerAppeal {
  readonly appealId: string;
  /** The decision appealed (its certification or reference number). */
  readonly previousAuthorizationNumber?: string;
  readonly administrativeReference?: string;
  readonly expedited: boolean;
  readonly letter: PayerAttachment;
}
