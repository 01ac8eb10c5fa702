/**
 * A simulated payer web portal, the kind portal-only payers run: username/password sign-in, a TOTP second factor
 * (verified with otplib), a prior-authorization form with an attachment upload, a prescription drug PA form
 * (CoverMyMeds-style, ./drug-form.ts, /rx/new), a confirmation number, and a status
 * page whose answer changes as it is looked at again (pended → approved / denied with a reason). Sessions time out
 * (idle time, or after a number of pages for tests), requests are rate limited per client, and switches change the
 * form's layout (a redesign), take the portal down (503) or hold the confirmation page (to kill a client mid-way).
 *
 * Scripted by member id prefix: the confirmation page says pended; `DENY` is denied at the first status look,
 * `PEND` stays pended for two looks, `OTHER` is refused with "submit electronically" (use another channel),
 * `REFUSE` is refused as not eligible, `SLOWCONFIRM` is registered at once but its confirmation page held for
 * `holdConfirmMs`, `SHOWNHOLD` sends the confirmation number at once and then holds the rest of the page, `DOCS` is
 * pended asking for progress notes until documents are uploaded on its request page (./request-pages.ts, which also
 * edits or withdraws a held request; a changed request is decided at the next look, a withdrawn one shows Cancelled;
 * `SLOWCANCEL` holds the withdrawal's answer); anything else is approved at the first
 * status look.
 *
 * Test hooks (no session needed): GET /_sim/submissions, POST /_sim/layout {layout}, POST /_sim/down {down},
 * POST /_sim/sessions {maxPages}, POST /_sim/reset, GET /_sim/health.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import express, { type Request, type Response } from 'express';
import { verify } from 'otplib';
import { type DrugRequest, drugFormPage, drugFormProblems, drugRequestOf } from './drug-form.ts';
import {
  confirmationPage,
  homePage,
  type Layout,
  loginPage,
  page,
  requestFormPage,
  type StatusRow,
  statusPage,
  verifyPage,
} from './pages.ts';
import { type HeldRequest, registerRequestPages } from './request-pages.ts';

export interface PortalSimOptions {
  readonly port?: number;
  readonly host?: string;
  readonly username: string;
  readonly password: string;
  /** Base32 TOTP seed enrolled for the user. */
  readonly totpSeed: string;
  /** Idle time after which a session expires (default 15 min). */
  readonly sessionTimeoutMs?: number;
  /** A session expires after this many signed-in pages (tests; default unlimited). */
  readonly sessionMaxPages?: number;
  /** Requests per client per window before 429 (default 600 per minute). */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  /** How long a SLOWCONFIRM submission's confirmation page (and a SLOWUPLOAD one's upload answer) is held. */
  readonly holdConfirmMs?: number;
}

export interface Submission extends HeldRequest {
  /** Whether the confirmation page (or its first part) was sent (in GET /_sim/submissions). */
  readonly confirmationShown?: boolean;
  readonly family: string;
  readonly given: string;
  readonly dob: string;
  readonly diagnoses: string;
  readonly npi: string;
  readonly urgency: string;
  readonly attachment: { readonly name: string; readonly type: string; readonly size: number };
  /** A prescription drug request (the drug PA form, /rx/new): the benefit, the medication, the clinical answers. */
  readonly drug?: DrugRequest;
  readonly submittedAt: string;
}

interface Session {
  stage: 'password' | 'active';
  lastSeen: number;
  pages: number;
  badCodes: number;
}

export interface RunningPortalSim {
  readonly url: string;
  stop(): Promise<void>;
}

function statusOf(s: Submission): StatusRow {
  const withdrawn = { status: 'Cancelled', reason: 'Withdrawn by the provider', authorization: '' };
  if (s.cancelledAt) return { confirmation: s.confirmation, reference: s.reference, ...withdrawn };
  const looks = s.statusLooks;
  const waiting = s.documentsRequested !== '' && s.documents.length === 0;
  const pended = waiting
    ? {
        status: 'Pended',
        reason: 'Additional documentation required',
        authorization: '',
        documents: s.documentsRequested,
      }
    : { status: 'Pended', reason: 'Clinical review in progress', authorization: '' };
  let answer = { status: 'Approved', reason: '', authorization: `SIMAUTH${s.confirmation.slice(3)}` };
  if (s.member.startsWith('DENY'))
    answer = {
      status: 'Denied',
      reason: 'Not medically necessary: clinical criteria not met',
      authorization: '',
    };
  // Documents received or a changed request: reviewed afresh, decided at the first look after it.
  const changed = s.documents.length > 0 || s.revisions.length > 0;
  const decided = waiting ? false : s.member.startsWith('PEND') && !changed ? looks > 2 : looks >= 1;
  return { confirmation: s.confirmation, reference: s.reference, ...(decided ? answer : pended) };
}

/** A new request's changeable part: one unit per service, no dates; DOCS… members are asked for progress notes. */
function changeable(services: string, member: string) {
  return {
    services,
    units: services
      .split(',')
      .filter((c) => c.trim() !== '')
      .map(() => '1')
      .join(', '),
    serviceStart: '',
    serviceEnd: '',
    documentsRequested: member.startsWith('DOCS') ? 'Progress notes' : '',
    documents: [],
    revisions: [],
  };
}

export async function startPortalSim(options: PortalSimOptions): Promise<RunningPortalSim> {
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 15 * 60_000;
  const rate = options.rateLimit ?? { max: 600, windowMs: 60_000 };
  const sessions = new Map<string, Session>();
  const submissions = new Map<string, Submission>();
  const hits = new Map<string, number[]>();
  /** Confirmation numbers whose page (or its first part) has been sent to the client. */
  const shown = new Set<string>();
  let layout: Layout = 'v1';
  let sessionMaxPages = options.sessionMaxPages;
  let down = false;
  let sequence = 0;
  let receipts = 0;

  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  app.use('/_sim', express.json());

  // Test hooks first: never rate limited, never down.
  app.get('/_sim/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/_sim/submissions', (_req, res) => {
    res.json([...submissions.values()].map((s) => ({ ...s, confirmationShown: shown.has(s.confirmation) })));
  });
  app.post('/_sim/layout', (req, res) => {
    layout = req.body?.layout === 'v2' ? 'v2' : 'v1';
    res.json({ layout });
  });
  app.post('/_sim/down', (req, res) => {
    down = req.body?.down === true;
    res.json({ down });
  });
  app.post('/_sim/sessions', (req, res) => {
    const max = req.body?.maxPages;
    sessionMaxPages = typeof max === 'number' ? max : undefined;
    res.json({ maxPages: sessionMaxPages ?? null });
  });
  app.post('/_sim/reset', (_req, res) => {
    sessions.clear();
    submissions.clear();
    shown.clear();
    hits.clear();
    layout = 'v1';
    down = false;
    res.json({ ok: true });
  });

  app.use((req, res, next) => {
    if (down) {
      res
        .status(503)
        .type('html')
        .send(
          page(
            'Service unavailable',
            '<p role="alert">The portal is down for maintenance. Please try again later.</p>',
          ),
        );
      return;
    }
    const client = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const recent = (hits.get(client) ?? []).filter((t) => now - t < rate.windowMs);
    recent.push(now);
    hits.set(client, recent);
    if (recent.length > rate.max) {
      res.status(429).setHeader('retry-after', String(Math.ceil(rate.windowMs / 1000)));
      res
        .type('html')
        .send(page('Too many requests', '<p role="alert">Too many requests. Please wait and try again.</p>'));
      return;
    }
    next();
  });

  function cookieSession(req: Request): [string, Session] | undefined {
    const match = /(?:^|;\s*)sim_session=([a-f0-9]+)/.exec(req.headers.cookie ?? '');
    const id = match?.[1];
    const session = id ? sessions.get(id) : undefined;
    return id && session ? [id, session] : undefined;
  }

  /** The signed-in session, or a redirect to sign-in (saying the session expired when it did). */
  function signedIn(req: Request, res: Response): Session | undefined {
    const found = cookieSession(req);
    if (found?.[1].stage !== 'active') {
      res.redirect(303, '/login');
      return undefined;
    }
    const [id, session] = found;
    const now = Date.now();
    const expired =
      now - session.lastSeen > sessionTimeoutMs ||
      (sessionMaxPages !== undefined && session.pages >= sessionMaxPages);
    if (expired) {
      sessions.delete(id);
      res.redirect(303, '/login?expired=1');
      return undefined;
    }
    session.lastSeen = now;
    session.pages++;
    return session;
  }

  app.get('/', (_req, res) => res.redirect(303, '/login'));
  app.get('/login', (req, res) => {
    res
      .type('html')
      .send(
        loginPage(
          req.query.expired
            ? { kind: 'notice', text: 'Your session has expired. Please sign in again.' }
            : undefined,
        ),
      );
  });
  app.post('/login', (req, res) => {
    const { username, password } = req.body as { username?: string; password?: string };
    if (username !== options.username || password !== options.password) {
      res
        .status(401)
        .type('html')
        .send(loginPage({ kind: 'error', text: 'Invalid username or password.' }));
      return;
    }
    const id = randomBytes(16).toString('hex');
    sessions.set(id, { stage: 'password', lastSeen: Date.now(), pages: 0, badCodes: 0 });
    res.setHeader('set-cookie', `sim_session=${id}; Path=/; HttpOnly; SameSite=Lax`);
    res.redirect(303, '/login/verify');
  });
  app.get('/login/verify', (req, res) => {
    if (cookieSession(req)?.[1].stage !== 'password') return res.redirect(303, '/login');
    res.type('html').send(verifyPage());
  });
  app.post('/login/verify', async (req, res) => {
    const found = cookieSession(req);
    if (found?.[1].stage !== 'password') return res.redirect(303, '/login');
    const code = String((req.body as { code?: string }).code ?? '').trim();
    const valid =
      /^\d{6}$/.test(code) &&
      (await verify({ secret: options.totpSeed, token: code, epochTolerance: 30 })).valid;
    if (!valid) {
      found[1].badCodes++;
      if (found[1].badCodes >= 3) sessions.delete(found[0]);
      res.status(401).type('html').send(verifyPage('The verification code is not valid.'));
      return;
    }
    found[1].stage = 'active';
    found[1].lastSeen = Date.now();
    res.redirect(303, '/home');
  });
  app.post('/logout', (req, res) => {
    const found = cookieSession(req);
    if (found) sessions.delete(found[0]);
    res.redirect(303, '/login');
  });
  app.get('/home', (req, res) => {
    if (!signedIn(req, res)) return;
    res.type('html').send(homePage(options.username));
  });
  app.get('/pa/new', (req, res) => {
    if (!signedIn(req, res)) return;
    res.type('html').send(requestFormPage(layout));
  });
  const readForm = (req: Request): Promise<FormData> =>
    new globalThis.Request('http://portal/form', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body: Readable.toWeb(req) as ReadableStream,
      duplex: 'half',
    } as RequestInit).formData();
  app.post('/pa/new', async (req, res) => {
    if (!signedIn(req, res)) return;
    let form: FormData;
    try {
      form = await readForm(req);
    } catch {
      res.status(400).type('html').send(requestFormPage(layout, 'The form could not be read.'));
      return;
    }
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const file = form.get('attachment');
    const missing = ['family', 'given', 'dob', 'member', 'services', 'npi', 'reference'].filter(
      (f) => !text(f),
    );
    if (missing.length > 0 || !(file instanceof File) || file.size === 0) {
      const what = [...missing, ...(file instanceof File && file.size > 0 ? [] : ['attachment'])];
      res
        .status(422)
        .type('html')
        .send(requestFormPage(layout, `Please complete: ${what.join(', ')}.`));
      return;
    }
    if (text('member').startsWith('REFUSE')) {
      res
        .status(422)
        .type('html')
        .send(requestFormPage(layout, 'The member is not eligible for this service on the date requested.'));
      return;
    }
    if (text('member').startsWith('OTHER')) {
      res
        .status(422)
        .type('html')
        .send(
          requestFormPage(
            layout,
            'Requests for this plan must be submitted electronically (X12 278) through your clearinghouse.',
          ),
        );
      return;
    }
    sequence++;
    const confirmation = `PA-${String(sequence).padStart(6, '0')}`;
    submissions.set(confirmation, {
      confirmation,
      reference: text('reference'),
      family: text('family'),
      given: text('given'),
      dob: text('dob'),
      member: text('member'),
      diagnoses: text('diagnoses'),
      npi: text('npi'),
      urgency: text('urgency'),
      attachment: { name: file.name, type: file.type, size: file.size },
      ...changeable(text('services'), text('member')),
      submittedAt: new Date().toISOString(),
      statusLooks: 0,
    });
    const html = confirmationPage(
      confirmation,
      text('reference'),
      submissions.get(confirmation)!.documentsRequested,
    );
    if (text('member').startsWith('SHOWNHOLD')) {
      // The confirmation number is sent (the browser shows it) but the page never finishes within the hold.
      const cut = html.indexOf('</dl>');
      res.type('html').write(html.slice(0, cut));
      shown.add(confirmation);
      await new Promise((resolve) => setTimeout(resolve, options.holdConfirmMs ?? 60_000));
      res.end(html.slice(cut));
      return;
    }
    if (text('member').startsWith('SLOWCONFIRM'))
      await new Promise((resolve) => setTimeout(resolve, options.holdConfirmMs ?? 60_000));
    shown.add(confirmation);
    res.type('html').send(html);
  });
  app.get('/rx/new', (req, res) => {
    if (!signedIn(req, res)) return;
    res.type('html').send(drugFormPage());
  });
  app.post('/rx/new', async (req, res) => {
    if (!signedIn(req, res)) return;
    let form: FormData;
    try {
      form = await readForm(req);
    } catch {
      res.status(400).type('html').send(drugFormPage('The form could not be read.'));
      return;
    }
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const problems = drugFormProblems(text);
    if (problems.length > 0) {
      res
        .status(422)
        .type('html')
        .send(drugFormPage(`Please complete: ${problems.join(', ')}.`));
      return;
    }
    const file = form.get('attachment');
    sequence++;
    const confirmation = `PA-${String(sequence).padStart(6, '0')}`;
    submissions.set(confirmation, {
      confirmation,
      reference: text('reference'),
      family: text('family'),
      given: text('given'),
      dob: text('dob'),
      member: text('member'),
      diagnoses: text('diagnoses'),
      npi: text('npi'),
      urgency: text('urgency'),
      attachment:
        file instanceof File
          ? { name: file.name, type: file.type, size: file.size }
          : { name: '', type: '', size: 0 },
      drug: drugRequestOf(text),
      ...changeable(text('ndc'), text('member')),
      submittedAt: new Date().toISOString(),
      statusLooks: 0,
    });
    shown.add(confirmation);
    res.type('html').send(confirmationPage(confirmation, text('reference')));
  });
  registerRequestPages(app, {
    submissions,
    signedIn,
    readForm,
    nextReceipt: () => `DOC-${String(++receipts).padStart(6, '0')}`,
    holdMs: options.holdConfirmMs ?? 60_000,
  });
  app.get('/pa/status', (req, res) => {
    if (!signedIn(req, res)) return;
    const q = String(req.query.q ?? '').trim();
    if (!q) {
      res.type('html').send(statusPage('', undefined));
      return;
    }
    const rows = [...submissions.values()]
      .filter((s) => s.confirmation === q || s.reference === q)
      .map((s) => {
        s.statusLooks++;
        return statusOf(s);
      });
    res.type('html').send(statusPage(q, rows));
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve(listening));
    listening.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
