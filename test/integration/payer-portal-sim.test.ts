/**
 * The simulated payer portal (test/sim/payer-portal) as its own process, driven over plain HTTP the way a browser
 * would: password and TOTP sign-in, the PA form with an upload, a confirmation number, a status that changes when
 * looked at again, session expiry, rate limiting, the layout switch and the down switch.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PortalSimProcess, startPortalSim } from '../sim/payer-portal/process.ts';

const seed = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const login = { username: 'clinic-a-user', password: 'Portal-Pass-1!' };
let sim: PortalSimProcess;

beforeAll(async () => {
  sim = await startPortalSim({
    ...login,
    totpSeed: seed,
    sessionMaxPages: 6,
    rateLimit: { max: 60, windowMs: 60_000 },
  });
});
afterAll(async () => {
  await sim?.stop();
});

/** A tiny cookie-keeping client. */
function client() {
  let cookie = '';
  return async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${sim.url}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  };
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

async function signIn(http: ReturnType<typeof client>) {
  expect((await http('/login', form(login))).location).toBe('/login/verify');
  const code = await generate({ secret: seed });
  expect((await http('/login/verify', form({ code }))).location).toBe('/home');
}

function paForm(member: string, reference: string): FormData {
  const data = new FormData();
  for (const [k, v] of Object.entries({
    family: 'TESTPATIENT',
    given: 'ALEX',
    dob: '1980-04-12',
    member,
    services: '70551',
    diagnoses: 'G43.909',
    npi: '1234567893',
    urgency: 'standard',
    reference,
  }))
    data.set(k, v);
  data.set('attachment', new Blob(['clinical notes'], { type: 'text/plain' }), 'notes.txt');
  return data;
}

describe('simulated payer portal', () => {
  it('refuses a wrong password and a wrong code', async () => {
    const http = client();
    const bad = await http('/login', form({ ...login, password: 'nope' }));
    expect(bad.status).toBe(401);
    expect(bad.text).toContain('Invalid username or password.');
    await http('/login', form(login));
    const badCode = await http('/login/verify', form({ code: '000000' }));
    expect(badCode.status).toBe(401);
    expect(badCode.text).toContain('The verification code is not valid.');
  });

  it('keeps a PEND request pended for two looks, then decides it', async () => {
    const http = client();
    await signIn(http);
    await http('/pa/new', { method: 'POST', body: paForm('PEND9', 'REF-P') });
    expect((await http('/pa/status?q=REF-P')).text).toContain('<td>Pended</td>');
    expect((await http('/pa/status?q=REF-P')).text).toContain('<td>Pended</td>');
    expect((await http('/pa/status?q=REF-P')).text).toContain('<td>Approved</td>');
  });

  it('takes a request with an attachment, confirms it, and decides it on a later look', async () => {
    const http = client();
    await signIn(http);
    expect((await http('/pa/new')).text).toContain('<label for="member">Member ID</label>');
    const confirm = await http('/pa/new', { method: 'POST', body: paForm('W123', 'REF-1') });
    expect(confirm.status).toBe(200);
    const number = /id="confirmation-number">(PA-\d+)</.exec(confirm.text)![1]!;
    const stored = (await sim.submissions()).find((x) => x.reference === 'REF-1');
    expect(stored).toMatchObject({ confirmation: number, reference: 'REF-1', member: 'W123' });
    expect(stored!.attachment).toMatchObject({ name: 'notes.txt', size: 14 });
    expect(confirm.text).toContain('pended for clinical review');
    const later = await http(`/pa/status?q=${number}`);
    expect(later.text).toContain('<td>Approved</td>');
    expect(later.text).toContain(`SIMAUTH${number.slice(3)}`);
  });

  it('expires a session after its page budget, and says so', async () => {
    const http = client();
    await signIn(http);
    for (let i = 0; i < 6; i++) expect((await http('/home')).status).toBe(200);
    const expired = await http('/home');
    expect(expired.location).toBe('/login?expired=1');
    expect((await http('/login?expired=1')).text).toContain('Your session has expired');
  });

  it('pends a DOCS request for documents; its request page checks type and size, records the files, then decides', async () => {
    const http = client();
    await signIn(http);
    const confirm = await http('/pa/new', { method: 'POST', body: paForm('DOCS9', 'REF-D') });
    expect(confirm.text).toContain('<dd id="documents-requested">Progress notes</dd>');
    const number = /id="confirmation-number">(PA-\d+)</.exec(confirm.text)![1]!;
    expect((await http(`/pa/request/${number}`)).text).toContain(
      '<label for="documents">Additional documents</label>',
    );
    const upload = (name: string, body: BlobPart, type: string) => {
      const data = new FormData();
      data.append('documents', new Blob([body], { type }), name);
      return http(`/pa/request/${number}/documents`, { method: 'POST', body: data });
    };
    const wrongType = await upload('notes.txt', 'notes', 'text/plain');
    expect(wrongType.status).toBe(422);
    expect(wrongType.text).toContain('is not an accepted document type');
    const tooLarge = await upload('big.pdf', new Uint8Array(5 * 1024 * 1024 + 1), 'application/pdf');
    expect(tooLarge.status).toBe(422);
    expect(tooLarge.text).toContain('larger than the 5 MB the portal takes');
    const taken = await upload('progress.pdf', '%PDF-1.4 notes', 'application/pdf');
    expect(taken.text).toMatch(/id="upload-receipt">DOC-\d+</);
    const stored = (await sim.submissions()).find((x) => x.reference === 'REF-D')!;
    expect(stored.documents).toEqual([
      expect.objectContaining({ name: 'progress.pdf', type: 'application/pdf', size: 14 }),
    ]);
    expect((await http(`/pa/status?q=${number}`)).text).toContain('<td>Approved</td>');
  });

  it('changes a held request through its edit form; the change is decided at the next look', async () => {
    const http = client();
    await signIn(http);
    const confirm = await http('/pa/new', { method: 'POST', body: paForm('PEND8', 'REF-E') });
    const number = /id="confirmation-number">(PA-\d+)</.exec(confirm.text)![1]!;
    const bad = await http(`/pa/request/${number}/edit`, form({ services: '70551, 70553', units: '2' }));
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Please complete: units.');
    const saved = await http(
      `/pa/request/${number}/edit`,
      form({ services: '70551, 70553', units: '2, 1', start: '2026-12-01', end: '' }),
    );
    expect(saved.text).toContain(`id="confirmation-number">${number}<`);
    const stored = (await sim.submissions()).find((x) => x.reference === 'REF-E')!;
    expect(stored).toMatchObject({ services: '70551, 70553', units: '2, 1', serviceStart: '2026-12-01' });
    expect(stored.revisions).toHaveLength(1);
    expect((await http(`/pa/status?q=${number}`)).text).toContain('<td>Approved</td>');
  });

  it('switches layout, goes down, and rate-limits', async () => {
    const http = client();
    await signIn(http);
    await sim.setLayout('v2');
    const v2 = await http('/pa/new');
    expect(v2.text).toContain('Subscriber number');
    expect(v2.text).not.toContain('Member ID');
    await sim.setLayout('v1');
    await sim.setDown(true);
    expect((await http('/home')).status).toBe(503);
    await sim.setDown(false);
    let last = 0;
    for (let i = 0; i < 70 && last !== 429; i++) last = (await http('/login')).status;
    expect(last).toBe(429);
  });
});
