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
  readonly kind: '278-request' | '278-inquiry' | '278-cancel' | '270' | 'batch-results' | 'other';
  readonly traceNumber?: string;
  readonly memberId?: string;
  readonly serviceCodes: string[];
  readonly interchangeControlNumber?: string;
  /** Whether the payer took the request in (a live submission, for 278 requests). */
  readonly accepted: boolean;
  /** What the simulator did: answered, http-503, dropped, delayed, rejected-999 … */
  readonly disposition: string;
}

interface Review {
  readonly traceNumber: string;
  readonly behaviour: ReviewBehaviour;
  readonly request: ReadRequest;
  readonly certificationNumber: string;
  readonly administrativeReference: string;
  inquiries: number;
  state: 'pended' | 'decided' | 'cancelled';
}

export interface SimOptions {
  readonly port?: number;
  readonly host?: string;
  /** How long a "slow" payer waits before answering. */
  readonly slowMs?: number;
  /** CORE ReceiverID / ISA id the simulator answers as. */
  readonly id?: string;
}

export interface RunningSim {
  readonly url: string;
  readonly endpoint: string;
  stop(): Promise<void>;
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
    const pendedAnswer: ReviewAnswer = {
      action: 'A4',
      reason: '0U',
      administrativeReference: review.administrativeReference,
      message: 'PENDED FOR CLINICAL REVIEW',
      lines: requestedQuantities(review.request).map(() => ({ action: 'A4' as const })),
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
          period: approvedPeriod(),
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
          period: approvedPeriod(),
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
    const kind = inquiry ? '278-inquiry' : cancel ? '278-cancel' : '278-request';
    const behaviour = reviewBehaviour(facts.memberId, facts.serviceCodes);
    const record = (accepted: boolean, disposition: string) =>
      received.push({
        ...base,
        kind,
        traceNumber: facts.traceNumber,
        memberId: facts.memberId,
        serviceCodes: facts.serviceCodes,
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
      const decideAfter = review.behaviour === 'pend2' ? 2 : 1;
      if (review.state === 'pended' && review.inquiries >= decideAfter) review.state = 'decided';
      record(true, `inquiry ${review.state}`);
      await respondWith(
        write278Response(envelopeFor(request), review.request, answerFor(review), '005010X215'),
        PayloadType.inquiryResponse278,
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
      inquiries: 0,
      state:
        behaviour === 'pend' || behaviour === 'pend2' || behaviour === 'pend-deny' ? 'pended' : 'decided',
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
