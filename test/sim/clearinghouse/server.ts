/**
 * The simulated clearinghouse (and the payer behind it) as an HTTP server speaking CAQH CORE HTTP MIME:
 * POST /core with a multipart/form-data envelope (PayloadType, ProcessingMode, PayloadID, TimeStamp,
 * SenderID, ReceiverID, CORERuleVersion, Payload, Checksum), answered the same way.
 *
 * It keeps every 278 review it accepted by trace number, so inquiries (005010X215) find them — the
 * reconciliation the gateway does before any resend — and pended reviews get decided on a later inquiry.
 * Test hooks: GET /_sim/received (every request it got, in order), POST /_sim/reset, GET /_sim/health.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CORE_RULE_VERSION,
  type CoreEnvelope,
  fromFormData,
  PayloadType,
  sha1,
  toFormData,
} from '../../../connectors/x12/transport/core-envelope.ts';
import { eligibilityBehaviour, type ReviewBehaviour, reviewBehaviour } from './behaviours.ts';
import {
  levels,
  type ReadRequest,
  type ReviewAnswer,
  readRequest,
  requestedQuantities,
  reviewFacts,
  type SimEnvelope,
  v,
  write271,
  write278Response,
  write999Accept,
  write999Reject,
  writeTa1,
} from './x12.ts';

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

interface Review {
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

export interface RunningSim {
  readonly url: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Behaviours whose review starts pended (decided on a later inquiry, or never). */
const pendingBehaviours: ReadonlySet<ReviewBehaviour> = new Set([
  'pend',
  'pend2',
  'pend-deny',
  'pend-forever',
  'pend-docs',
  'pend-docs-later',
]);

/** Decisions the `/_sim/decision` hook can change a review to. */
const decisionBehaviours: ReadonlySet<ReviewBehaviour> = new Set(['approve', 'deny', 'modify']);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const approvedPeriod = () => {
  const start = new Date();
  const end = new Date(start.getTime() + 90 * 86_400_000);
  const d = (x: Date) => x.toISOString().slice(0, 10).replace(/-/g, '');
  return { start: d(start), end: d(end) };
};

export async function startSim(options: SimOptions = {}): Promise<RunningSim> {
  const simId = options.id ?? 'PAGWSIMCH';
  const slowMs = options.slowMs ?? 1500;
  const latencyMs = options.latencyMs ?? 0;
  const received: ReceivedRequest[] = [];
  const reviews = new Map<string, Review>();
  const flakyServed = new Set<string>();
  const droppedOnce = new Set<string>();
  const batches = new Map<string, { payload: string; payloadType: string }>();
  let controlNumber = 0;
  let certificates = 0;

  const envelopeFor = (request: ReadRequest): SimEnvelope => ({
    senderId: simId,
    receiverId: request.senderId || 'UNKNOWN',
    receiverQualifier: request.senderQualifier || 'ZZ',
    controlNumber: ++controlNumber,
    at: new Date(),
  });

  function answerFor(review: Review): ReviewAnswer {
    const { behaviour } = review;
    if (review.state === 'cancelled') return { action: 'C', certificationNumber: review.certificationNumber };
    // An appeal this payer reverses once it has the letter: certified after appeal.
    if (review.appeal?.decided)
      return {
        action: 'A1',
        certificationNumber: review.certificationNumber,
        period: review.period,
        message: 'APPROVED ON APPEAL',
        lines: requestedQuantities(review.request).map(() => ({ action: 'A1' as const })),
      };
    if (review.appeal)
      return {
        action: 'A4',
        reason: '0U',
        administrativeReference: review.administrativeReference,
        message: 'RECONSIDERATION RECEIVED',
        lines: requestedQuantities(review.request).map(() => ({ action: 'A4' as const })),
      };
    const pendedAnswer: ReviewAnswer = {
      action: 'A4',
      reason: '0U',
      administrativeReference: review.administrativeReference,
      message: 'PENDED FOR CLINICAL REVIEW',
      lines: requestedQuantities(review.request).map(() => ({ action: 'A4' as const })),
    };
    // pend-docs-later: the 278's answer asks for nothing; from the first inquiry on, the documents as pend-docs.
    if (review.state === 'pended' && review.behaviour === 'pend-docs-later' && review.inquiries === 0)
      return { ...pendedAnswer, paperwork: null };
    if (
      review.state === 'pended' &&
      (review.behaviour === 'pend-docs' || review.behaviour === 'pend-docs-later')
    )
      return {
        ...pendedAnswer,
        message: 'SEND PROGRESS NOTES',
        paperwork: { reportType: '09', controlNumber: review.attachmentControlNumber },
      };
    if (review.state === 'pended') return pendedAnswer;
    switch (behaviour) {
      case 'deny':
      case 'pend-deny':
        return {
          action: 'A3',
          reason: 'AO',
          message: 'NOT MEDICALLY NECESSARY',
          lines: requestedQuantities(review.request).map(() => ({ action: 'A3' as const, reason: 'AO' })),
        };
      case 'modify':
        return {
          action: 'A6',
          certificationNumber: review.certificationNumber,
          period: review.period,
          message: 'UNITS REDUCED',
          lines: requestedQuantities(review.request).map((q) => ({
            action: 'A6' as const,
            quantity: Math.max(1, Math.floor(q / 2)),
          })),
        };
      default:
        return {
          action: 'A1',
          certificationNumber: review.certificationNumber,
          period: review.period,
          lines: requestedQuantities(review.request).map(() => ({ action: 'A1' as const })),
        };
    }
  }

  async function reply(res: ServerResponse, status: number, envelope: Partial<CoreEnvelope>): Promise<void> {
    const full: CoreEnvelope = {
      PayloadType: envelope.PayloadType ?? 'CoreEnvelopeError',
      ProcessingMode: envelope.ProcessingMode ?? 'RealTime',
      PayloadID: randomUUID(),
      TimeStamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      SenderID: simId,
      ReceiverID: envelope.ReceiverID ?? 'UNKNOWN',
      CORERuleVersion: CORE_RULE_VERSION,
      ...(envelope.Payload !== undefined
        ? {
            Payload: envelope.Payload,
            PayloadLength: String(Buffer.byteLength(envelope.Payload)),
            Checksum: sha1(envelope.Payload),
          }
        : {}),
      ErrorCode: envelope.ErrorCode ?? 'Success',
      ErrorMessage: envelope.ErrorMessage ?? '',
    };
    const response = new Response(toFormData(full));
    const body = Buffer.from(await response.arrayBuffer());
    res.writeHead(status, { 'content-type': response.headers.get('content-type')! });
    res.end(body);
  }

  async function handleCore(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let form: FormData;
    try {
      form = await new Request('http://sim/core', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body,
      }).formData();
    } catch {
      await reply(res, 400, {
        ErrorCode: 'EnvelopeParseError',
        ErrorMessage: 'Not a multipart/form-data CORE envelope',
      });
      return;
    }
    const { envelope, missing } = await fromFormData(form);
    const base = {
      seq: received.length + 1,
      at: new Date().toISOString(),
      payloadType: envelope.PayloadType ?? '',
      processingMode: envelope.ProcessingMode ?? '',
      payloadId: envelope.PayloadID ?? '',
      serviceCodes: [] as string[],
    };
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const replyTo = {
      ReceiverID: envelope.SenderID ?? 'UNKNOWN',
      ProcessingMode: (envelope.ProcessingMode as 'RealTime') ?? 'RealTime',
    };
    if (missing.length) {
      received.push({
        ...base,
        kind: 'other',
        accepted: false,
        disposition: `core-error ${missing[0]}Required`,
      });
      await reply(res, 400, {
        ...replyTo,
        ErrorCode: `${missing[0]}Required`,
        ErrorMessage: `${missing.join(', ')} missing`,
      });
      return;
    }
    if (
      options.login &&
      (envelope.UserName !== options.login.username || envelope.Password !== options.login.password)
    ) {
      received.push({ ...base, kind: 'other', accepted: false, disposition: 'core-error UnAuthorized' });
      await reply(res, 401, {
        ...replyTo,
        ErrorCode: 'UnAuthorized',
        ErrorMessage: 'UserName/Password refused',
      });
      return;
    }
    if (envelope.CORERuleVersion !== CORE_RULE_VERSION) {
      received.push({ ...base, kind: 'other', accepted: false, disposition: 'core-error VersionMismatch' });
      await reply(res, 400, { ...replyTo, ErrorCode: 'VersionMismatch' });
      return;
    }
    if (envelope.Payload !== undefined && envelope.Checksum && envelope.Checksum !== sha1(envelope.Payload)) {
      received.push({ ...base, kind: 'other', accepted: false, disposition: 'core-error ChecksumMismatch' });
      await reply(res, 400, { ...replyTo, ErrorCode: 'ChecksumMismatch' });
      return;
    }

    if (envelope.PayloadType === PayloadType.batchResults278) {
      const result = batches.get(envelope.PayloadID!);
      received.push({
        ...base,
        kind: 'batch-results',
        accepted: true,
        disposition: result ? 'results' : 'no-results',
      });
      if (!result)
        await reply(res, 200, {
          ...replyTo,
          PayloadType: PayloadType.batchResults278,
          ErrorCode: 'NoBatchResultsFile',
        });
      else
        await reply(res, 200, {
          ...replyTo,
          ProcessingMode: 'Batch',
          PayloadType: result.payloadType,
          Payload: result.payload,
        });
      return;
    }

    let request: ReadRequest;
    try {
      request = readRequest(envelope.Payload ?? '');
    } catch (error) {
      received.push({ ...base, kind: 'other', accepted: false, disposition: 'rejected-ta1' });
      const ta1 = writeTa1(
        {
          senderId: simId,
          receiverId: envelope.SenderID ?? 'UNKNOWN',
          receiverQualifier: 'ZZ',
          controlNumber: ++controlNumber,
          at: new Date(),
        },
        '000000000',
        'R',
        '024',
      );
      await reply(res, 200, {
        ...replyTo,
        PayloadType: PayloadType.ackTa1,
        Payload: ta1,
        ErrorMessage: (error as Error).message.slice(0, 200),
      });
      return;
    }

    if (request.setId === '270') {
      const memberId = v(
        request.segments.find((s) => s.tag === 'NM1' && v(s, 1) === 'IL'),
        9,
      );
      const trace = v(
        request.segments.find((s) => s.tag === 'TRN'),
        2,
      );
      const asked = request.segments.filter((s) => s.tag === 'EQ').flatMap((s) => v(s, 1).split('^'));
      const behaviour = eligibilityBehaviour(memberId);
      received.push({
        ...base,
        kind: '270',
        traceNumber: trace,
        memberId,
        interchangeControlNumber: request.interchangeControlNumber,
        accepted: true,
        disposition: behaviour,
      });
      const answer =
        behaviour === 'inactive'
          ? ({ status: 'inactive' } as const)
          : behaviour === 'aaa'
            ? { aaa: { code: '75', followUp: 'C' } }
            : behaviour === 'aaa42'
              ? { aaa: { code: '42', followUp: 'R' } }
              : ({ status: 'active' } as const);
      await reply(res, 200, {
        ...replyTo,
        PayloadType: PayloadType.response271,
        Payload: write271(envelopeFor(request), request, answer, asked),
      });
      return;
    }

    if (request.setId === '275') {
      // Additional information to support a review (005010X210): the attachment control number in TRN02 names the
      // review that asked for it; the document is a base64 MIME body in BIN02.
      const controlNumber = v(
        request.segments.find((x) => x.tag === 'TRN'),
        2,
      );
      const bin = request.segments.find((x) => x.tag === 'BIN');
      const cat = request.segments.find((x) => x.tag === 'CAT');
      const pwk = request.segments.find((x) => x.tag === 'PWK');
      const review = [...reviews.values()].find(
        (r) => r.attachmentControlNumber === controlNumber || r.appeal?.controlNumber === controlNumber,
      );
      if (review?.appeal?.controlNumber === controlNumber) review.appeal.letters++;
      else if (review) review.documentsReceived++;
      const body = Buffer.from(v(bin, 2), 'base64').toString('latin1');
      received.push({
        ...base,
        kind: '275',
        ...(review
          ? {
              traceNumber: review.traceNumber,
              memberId: review.request ? reviewFacts(review.request).memberId : undefined,
            }
          : {}),
        interchangeControlNumber: request.interchangeControlNumber,
        accepted: Boolean(review),
        disposition: review ? 'attachment received' : 'unknown attachment control number',
        attachment: {
          controlNumber,
          reportType: v(pwk, 1) || (/Content-Description: X12 755 report type (\w+)/.exec(body)?.[1] ?? ''),
          bytes: Number(v(bin, 1)),
          contentType: /content-type:\s*([^\r\n;]+)/i.exec(body)?.[1]?.trim() ?? v(cat, 2),
        },
      });
      await reply(res, 200, {
        ...replyTo,
        PayloadType: PayloadType.ack999,
        Payload: write999Accept(envelopeFor(request), request, 'PI'),
      });
      return;
    }

    if (request.setId !== '278') {
      received.push({ ...base, kind: 'other', accepted: false, disposition: 'unsupported' });
      await reply(res, 400, {
        ...replyTo,
        ErrorCode: 'PayloadTypeIncorrect',
        ErrorMessage: `Transaction set ${request.setId} is not handled`,
      });
      return;
    }

    const facts = reviewFacts(request);
    const inquiry = request.version === '005010X215';
    const cancel = !inquiry && facts.certificationType === '3';
    const appealing = !inquiry && (facts.certificationType === '1' || facts.certificationType === '2');
    const revision = !inquiry && facts.certificationType === 'S';
    const kind = inquiry
      ? '278-inquiry'
      : cancel
        ? '278-cancel'
        : appealing
          ? '278-appeal'
          : revision
            ? '278-revision'
            : '278-request';
    const behaviour = reviewBehaviour(facts.memberId, facts.serviceCodes);
    const record = (accepted: boolean, disposition: string) =>
      received.push({
        ...base,
        kind,
        traceNumber: facts.traceNumber,
        memberId: facts.memberId,
        serviceCodes: facts.serviceCodes,
        ...(inquiry
          ? {}
          : { certificationType: facts.certificationType, quantities: requestedQuantities(request) }),
        interchangeControlNumber: request.interchangeControlNumber,
        accepted,
        disposition,
      });
    const respondWith = async (payload: string, payloadType: string) => {
      if (envelope.ProcessingMode === 'Batch' && !inquiry) {
        batches.set(envelope.PayloadID!, { payload, payloadType });
        await reply(res, 200, { ...replyTo, ProcessingMode: 'Batch', PayloadType: PayloadType.batchReceipt });
        return;
      }
      await reply(res, 200, { ...replyTo, PayloadType: payloadType, Payload: payload });
    };

    // Transport-level behaviours apply to every request for the member, inquiries included.
    if (behaviour === 'fail5xx' || (behaviour === 'flaky5xx' && !flakyServed.has(facts.memberId))) {
      flakyServed.add(facts.memberId);
      record(false, 'http-503');
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }

    if (inquiry) {
      const review = reviews.get(facts.traceNumber);
      if (!review) {
        record(true, 'not-found');
        await respondWith(
          write278Response(
            envelopeFor(request),
            request,
            { aaa: { code: 'AA', followUp: 'N', loop: '2000E' } },
            '005010X215',
          ),
          PayloadType.inquiryResponse278,
        );
        return;
      }
      review.inquiries++;
      if (review.appeal && !review.appeal.decided && review.appeal.letters > 0) {
        review.appeal.decided = true;
        review.state = 'decided';
      }
      const decideAfter =
        review.behaviour === 'pend2'
          ? 2
          : review.behaviour === 'pend-forever' ||
              ((review.behaviour === 'pend-docs' || review.behaviour === 'pend-docs-later') &&
                review.documentsReceived === 0)
            ? Number.POSITIVE_INFINITY
            : 1;
      if (review.state === 'pended' && review.inquiries >= decideAfter) review.state = 'decided';
      record(true, `inquiry ${review.state}`);
      await respondWith(
        write278Response(envelopeFor(request), review.request, answerFor(review), '005010X215'),
        PayloadType.inquiryResponse278,
      );
      return;
    }

    if (appealing) {
      // A request for reconsideration of a decided review: pended until its letter (a 275) is in.
      const review = reviews.get(facts.traceNumber);
      const pwk = request.segments.find((x) => x.tag === 'PWK' && v(x, 5) === 'AC');
      if (!review) {
        record(true, 'appeal-not-found');
        await respondWith(
          write278Response(envelopeFor(request), request, {
            aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
          }),
          PayloadType.response278,
        );
        return;
      }
      review.appeal = { controlNumber: v(pwk, 6), letters: 0, decided: false };
      review.state = 'pended';
      record(true, 'appeal received');
      await respondWith(
        write278Response(envelopeFor(request), review.request, answerFor(review)),
        PayloadType.response278,
      );
      return;
    }

    if (revision) {
      // A revised request for a review this payer holds: the new request replaces the old and is reviewed afresh
      // (its behaviour read from it again); a revision of an unknown or cancelled review is refused (AAA).
      const review = reviews.get(facts.traceNumber);
      if (!review || review.state === 'cancelled') {
        record(true, 'revision-not-found');
        await respondWith(
          write278Response(envelopeFor(request), request, {
            aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
          }),
          PayloadType.response278,
        );
        return;
      }
      review.request = request;
      review.behaviour = behaviour;
      review.inquiries = 0;
      review.state = pendingBehaviours.has(behaviour) ? 'pended' : 'decided';
      record(true, 'revised');
      await respondWith(
        write278Response(envelopeFor(request), review.request, answerFor(review)),
        PayloadType.response278,
      );
      return;
    }

    if (cancel) {
      const review = reviews.get(facts.traceNumber);
      if (!review) {
        record(true, 'cancel-not-found');
        await respondWith(
          write278Response(envelopeFor(request), request, {
            aaa: { code: 'AA', followUp: 'N', loop: '2000E' },
          }),
          PayloadType.response278,
        );
        return;
      }
      review.state = 'cancelled';
      record(true, 'cancelled');
      await respondWith(
        write278Response(envelopeFor(request), review.request, answerFor(review)),
        PayloadType.response278,
      );
      return;
    }

    if (behaviour === 'reject999') {
      record(false, 'rejected-999');
      const nm1 = request.segments.find((s) => s.tag === 'NM1' && v(s, 1) === 'IL')!;
      await respondWith(
        write999Reject(envelopeFor(request), request, request.groupControlNumber, {
          segment: nm1,
          loop: '2010C',
          element: 9,
          elementRef: '67',
        }),
        PayloadType.ack999,
      );
      return;
    }
    if (behaviour === 'reject-ta1') {
      record(false, 'rejected-ta1');
      await respondWith(
        writeTa1(envelopeFor(request), request.interchangeControlNumber, 'R', '006'),
        PayloadType.ackTa1,
      );
      return;
    }
    if (behaviour === 'aaa' || behaviour === 'aaa42') {
      record(false, behaviour);
      const aaa =
        behaviour === 'aaa'
          ? { code: '72', followUp: 'C', loop: '2010C' as const }
          : { code: '42', followUp: 'R', loop: '2000E' as const };
      await respondWith(write278Response(envelopeFor(request), request, { aaa }), PayloadType.response278);
      return;
    }

    // A review request the payer takes in. A repeat of a known trace is recorded (so tests see it) and answered
    // from the payer's existing review, the way a payer deduplicates.
    const existing = reviews.get(facts.traceNumber);
    const review: Review = existing ?? {
      traceNumber: facts.traceNumber,
      behaviour,
      request,
      certificationNumber: `SIMCERT${String(++certificates).padStart(5, '0')}`,
      administrativeReference: `SIMREF${String(certificates).padStart(5, '0')}`,
      period: approvedPeriod(),
      inquiries: 0,
      attachmentControlNumber: `ACN${String(certificates).padStart(7, '0')}`,
      documentsReceived: 0,
      state: pendingBehaviours.has(behaviour) ? 'pended' : 'decided',
    };
    reviews.set(facts.traceNumber, review);

    if (behaviour === 'drop' && !droppedOnce.has(facts.traceNumber)) {
      droppedOnce.add(facts.traceNumber);
      record(true, existing ? 'duplicate dropped' : 'dropped');
      req.socket.destroy();
      return;
    }
    if (behaviour === 'slow') {
      record(true, existing ? 'duplicate delayed' : 'delayed');
      await new Promise((resolve) => setTimeout(resolve, slowMs));
      if (res.destroyed || req.socket.destroyed) return;
    } else {
      record(true, existing ? 'duplicate answered' : 'answered');
    }
    await respondWith(
      write278Response(envelopeFor(request), review.request, answerFor(review)),
      PayloadType.response278,
    );
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const done = (error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${(error as Error).message}`);
      }
    };
    if (req.method === 'POST' && url.pathname === '/core') {
      handleCore(req, res).catch(done);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/_sim/received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/_sim/decision') {
      // The payer changes its mind about a review it decided (a reopened review, a corrected decision): the next
      // answer about the trace (an inquiry) gives the new decision. Body: { traceNumber, behaviour }.
      readBody(req)
        .then((body) => {
          const { traceNumber, behaviour } = JSON.parse(body) as { traceNumber?: string; behaviour?: string };
          const review = traceNumber ? reviews.get(traceNumber) : undefined;
          if (!review || !decisionBehaviours.has(behaviour as ReviewBehaviour)) {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('no such review or behaviour');
            return;
          }
          review.behaviour = behaviour as ReviewBehaviour;
          review.state = 'decided';
          res.writeHead(204).end();
        })
        .catch(done);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/_sim/reset') {
      received.length = 0;
      reviews.clear();
      flakyServed.clear();
      droppedOnce.clear();
      batches.clear();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/_sim/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, reviews: reviews.size, received: received.length }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8790, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.address}:${address.port}`;
  return {
    url,
    endpoint: `${url}/core`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Levels of a request, re-exported for tests that inspect what the simulator saw. */
export { levels };
