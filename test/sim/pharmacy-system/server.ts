/**
 * The simulated pharmacy system (a PioneerRx-like pharmacy management system) as an HTTP server:
 *
 *   GET  /fhir/Patient/<id>, /fhir/<Type>?…   a FHIR R4 read API over records.ts (Coverage?beneficiary=,
 *        MedicationRequest|Condition|Observation?subject=[&code=system|code,…], Practitioner?identifier=), paged
 *        (`next` links) so clients must follow them
 *   POST /callbacks/pa-status                 the write-back receiver: checks the gateway's signature
 *        (X-PAGW-Signature t=…,v1=… over "<t>.<body>"), records each status, deduplicates by X-PAGW-Event-Id
 *
 * Test hooks: GET /_sim/callbacks (distinct write-backs, in arrival order, with attempts), GET /_sim/requests
 * (every FHIR request), POST /_sim/callbacks/fail {count, status} and /_sim/fhir/fail {count, status} (the next
 * requests answer that status), POST /_sim/reset, GET /_sim/health. It shares no code with the gateway.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import { searchBundle, simRecords } from './records.ts';

export interface SimCallback {
  readonly eventId: string;
  readonly body: Record<string, unknown>;
  readonly verified: boolean;
  /** Deliveries of this event id (a redelivery after a lost answer counts). */
  readonly attempts: number;
  readonly firstAt: string;
}

export interface SimOptions {
  readonly port: number;
  readonly host: string;
  /** The write-back signing secret; without one signatures are not checked (verified: false). */
  readonly callbackSecret?: string;
  /** A bearer token the FHIR API requires. */
  readonly fhirToken?: string;
  /** Largest page a search answers (default 2: multi-page answers are the normal case here). */
  readonly pageSize?: number;
  /** Search types answered 404 (not offered by this system). */
  readonly unsupported?: readonly string[];
  readonly now?: Date;
}

export interface PharmacySim {
  readonly url: string;
  stop(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
};
const fhir = (res: ServerResponse, status: number, body: unknown) =>
  json(res, status, body, 'application/fhir+json');
const notFound = (res: ServerResponse, what: string) =>
  fhir(res, 404, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'not-found', diagnostics: what }],
  });

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function verify(raw: Buffer, header: string | undefined, secret: string, nowMs: number): boolean {
  const m = /^t=([0-9]+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  // The write-back's own replay window: 10 minutes around the signing time.
  if (Math.abs(nowMs / 1000 - Number(m[1])) > 600) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.`).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

export async function startPharmacySim(options: SimOptions): Promise<PharmacySim> {
  let records: Resource[] = simRecords(options.now ?? new Date());
  let callbacks = new Map<string, SimCallback>();
  let fhirLog: { method: string; path: string; status: number }[] = [];
  let failCallbacks = { count: 0, status: 503 };
  let failFhir = { count: 0, status: 503 };
  const pageSize = options.pageSize ?? 2;
  const unsupported = new Set(options.unsupported ?? []);

  const refersTo = (value: unknown, reference: string) =>
    typeof value === 'object' && value !== null && (value as { reference?: string }).reference === reference;

  function search(type: string, params: URLSearchParams): Resource[] | undefined {
    const of = records.filter((r) => r.resourceType === type);
    const subject = params.get('subject') ?? params.get('patient');
    switch (type) {
      case 'Coverage':
        return of.filter((r) =>
          refersTo((r as { beneficiary?: unknown }).beneficiary, params.get('beneficiary') ?? ''),
        );
      case 'MedicationRequest':
      case 'Condition':
        return of.filter((r) => refersTo((r as { subject?: unknown }).subject, subject ?? ''));
      case 'Observation': {
        const codes = (params.get('code') ?? '').split(',').filter(Boolean);
        return of.filter(
          (r) =>
            refersTo((r as { subject?: unknown }).subject, subject ?? '') &&
            (codes.length === 0 ||
              (r as { code?: { coding?: { system?: string; code?: string }[] } }).code?.coding?.some((c) =>
                codes.includes(`${c.system}|${c.code}`),
              )),
        );
      }
      case 'Practitioner': {
        const [system, value] = (params.get('identifier') ?? '').split('|');
        return of.filter((r) =>
          (r as { identifier?: { system?: string; value?: string }[] }).identifier?.some(
            (i) => i.system === system && i.value === value,
          ),
        );
      }
      default:
        return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    if (path === '/_sim/health') return json(res, 200, { status: 'ok' });
    if (path === '/_sim/callbacks') return json(res, 200, [...callbacks.values()]);
    if (path === '/_sim/requests') return json(res, 200, fhirLog);
    if (path === '/_sim/reset' && req.method === 'POST') {
      callbacks = new Map();
      fhirLog = [];
      failCallbacks = { count: 0, status: 503 };
      failFhir = { count: 0, status: 503 };
      records = simRecords(options.now ?? new Date());
      return json(res, 200, { reset: true });
    }
    if ((path === '/_sim/callbacks/fail' || path === '/_sim/fhir/fail') && req.method === 'POST') {
      const spec = JSON.parse((await body(req)).toString('utf8') || '{}') as {
        count?: number;
        status?: number;
      };
      const value = { count: spec.count ?? 1, status: spec.status ?? 503 };
      if (path === '/_sim/callbacks/fail') failCallbacks = value;
      else failFhir = value;
      return json(res, 200, value);
    }

    if (path === '/callbacks/pa-status' && req.method === 'POST') {
      const raw = await body(req);
      if (failCallbacks.count > 0) {
        failCallbacks.count--;
        return json(res, failCallbacks.status, { error: 'scripted failure' });
      }
      const verified = options.callbackSecret
        ? verify(
            raw,
            req.headers['x-pagw-signature'] as string | undefined,
            options.callbackSecret,
            Date.now(),
          )
        : false;
      if (options.callbackSecret && !verified) return json(res, 401, { error: 'bad signature' });
      const eventId = String(req.headers['x-pagw-event-id'] ?? '');
      const parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      if (!eventId || parsed.eventId !== eventId)
        return json(res, 400, { error: 'event id header and body differ' });
      const seen = callbacks.get(eventId);
      if (seen) {
        callbacks.set(eventId, { ...seen, attempts: seen.attempts + 1 });
        return json(res, 200, { duplicate: true });
      }
      callbacks.set(eventId, {
        eventId,
        body: parsed,
        verified,
        attempts: 1,
        firstAt: new Date().toISOString(),
      });
      return json(res, 200, { received: true });
    }

    if (path.startsWith('/fhir/') && req.method === 'GET') {
      const answer = (status: number, payload: unknown) => {
        fhirLog.push({ method: req.method!, path: `${path}${url.search}`, status });
        return fhir(res, status, payload);
      };
      if (failFhir.count > 0) {
        failFhir.count--;
        return answer(failFhir.status, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'transient' }],
        });
      }
      if (options.fhirToken && req.headers.authorization !== `Bearer ${options.fhirToken}`)
        return answer(401, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'login' }],
        });
      const [, , type, id] = path.split('/');
      if (type === 'metadata')
        return answer(200, {
          resourceType: 'CapabilityStatement',
          status: 'active',
          kind: 'instance',
          fhirVersion: '4.0.1',
        });
      if (id !== undefined) {
        const found = records.find((r) => r.resourceType === type && r.id === decodeURIComponent(id));
        if (!found) {
          fhirLog.push({ method: 'GET', path, status: 404 });
          return notFound(res, `${type}/${id} is not known`);
        }
        return answer(200, found);
      }
      if (unsupported.has(type!))
        return answer(404, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'not-supported' }],
        });
      const all = search(type!, url.searchParams);
      if (!all)
        return answer(404, {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'not-supported' }],
        });
      const count = Math.min(Number(url.searchParams.get('_count') ?? pageSize) || pageSize, pageSize);
      const offset = Number(url.searchParams.get('_offset') ?? 0) || 0;
      const bundle = { ...searchBundle(all.slice(offset, offset + count)), total: all.length };
      if (offset + count < all.length) {
        const next = new URL(url);
        next.searchParams.set('_offset', String(offset + count));
        (bundle as { link?: unknown }).link = [{ relation: 'next', url: next.toString() }];
      }
      return answer(200, bundle);
    }
    json(res, 404, { error: 'no such endpoint' });
  }

  const server: Server = createServer((req, res) => {
    const address = server.address() as AddressInfo;
    handle(req, res, `http://${options.host}:${address.port}`).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
