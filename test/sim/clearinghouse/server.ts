/**
 * The simulated clearinghouse (and the payer behind it) as an HTTP server speaking CAQH CORE HTTP MIME:
 * POST /core with a multipart/form-data envelope (PayloadType, ProcessingMode, PayloadID, TimeStamp,
 * SenderID, ReceiverID, CORERuleVersion, Payload, Checksum), answered the same way.
 *
 * It keeps every 278 review it accepted by trace number, so inquiries (005010X215) find them — the
 * reconciliation the gateway does before any resend — and pended reviews get decided on a later inquiry.
 * Test hooks: GET /_sim/received (every request it got, in order), POST /_sim/reset, GET /_sim/health.
 *
 * This file starts the server and keeps its state and test hooks; the handlers live beside it: core.ts (the CORE
 * envelope, transport-level checks, batch results, dispatch by transaction set), eligibility.ts (270),
 * attachments.ts (275), reviews.ts (278) and review-answers.ts (what a review answers); sim-state.ts holds the
 * state's types.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CORE_RULE_VERSION,
  type CoreEnvelope,
  sha1,
  toFormData,
} from '../../../connectors/x12/transport/core-envelope.ts';
import type { ReviewBehaviour } from './behaviours.ts';
import { handleCore } from './core.ts';
import type { ClearinghouseSim, ReceivedRequest, Review, SimOptions } from './sim-state.ts';
import { levels, type ReadRequest, type SimEnvelope } from './x12.ts';

export type { ReceivedRequest, SimOptions } from './sim-state.ts';

export interface RunningSim {
  readonly url: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Decisions the `/_sim/decision` hook can change a review to. */
const decisionBehaviours: ReadonlySet<ReviewBehaviour> = new Set(['approve', 'deny', 'modify']);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSim(options: SimOptions = {}): Promise<RunningSim> {
  const simId = options.id ?? 'PAGWSIMCH';
  const slowMs = options.slowMs ?? 1500;
  const latencyMs = options.latencyMs ?? 0;
  const received: ReceivedRequest[] = [];
  const reviews = new Map<string, Review>();
  const flakyServed = new Set<string>();
  const droppedOnce = new Set<string>();
  const batches = new Map<string, { payload: string; payloadType: string }>();
  const counters = { controlNumber: 0, certificates: 0 };

  const envelopeFor = (request: ReadRequest): SimEnvelope => ({
    senderId: simId,
    receiverId: request.senderId || 'UNKNOWN',
    receiverQualifier: request.senderQualifier || 'ZZ',
    controlNumber: ++counters.controlNumber,
    at: new Date(),
  });

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

  const sim: ClearinghouseSim = {
    options,
    simId,
    slowMs,
    latencyMs,
    received,
    reviews,
    flakyServed,
    droppedOnce,
    batches,
    counters,
    envelopeFor,
    reply,
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const done = (error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${(error as Error).message}`);
      }
    };
    if (req.method === 'POST' && url.pathname === '/core') {
      handleCore(sim, req, res).catch(done);
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
