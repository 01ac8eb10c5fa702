/**
 * An appeal by e-mail, end to end with real parts (issue #14 item 6): the simulated PAS payer (a separate process)
 * denies a request; its channel takes no appeal, so the approved appeal goes to the payer's appeal address (payer
 * file `appeals.email`) through a real SMTP server, the letter attached as a PDF (opened with PDF.js and read here).
 * A step retried after the mail went out — the case changed under it, so recording `appeal_submitted` failed — does
 * not mail again. A person then records the payer's answer (appeal_outcome task) and the case ends approved after
 * appeal.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../src/clock.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { readJson } from '../helpers/http.ts';
import {
  createPasClientKeys,
  pasChannelFor,
  pasPayerFor,
  pasServiceRequestOrder,
  startPasSimWithClient,
  writePayersDir,
} from '../helpers/pas.ts';
import { pdfText } from '../helpers/pdf.ts';
import { waitFor } from '../helpers/store.ts';
import type { PasSimProcess } from '../sim/pas-payer/process.ts';

const appealAddress = 'appeals@insurer.example.org';

describe(`appeal by e-mail to the payer's appeal address (${testDatabaseKind()})`, () => {
  const received: Array<{ to: string[]; mail: ParsedMail }> = [];
  /** Cases whose version the test bumps while the SMTP server takes their appeal (a concurrent change). */
  const bumpOnAppeal = new Set<string>();
  let gw: TestGateway;
  let sim: PasSimProcess;
  const clock = new OffsetClock();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const mail = await simpleParser(Buffer.concat(chunks));
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
        // The case moves on while the appeal is being mailed: the step's transition then fails its version check
        // and the step is retried — after the payer already has the e-mail.
        const caseId = String(mail.headers.get('x-pagw-case-id') ?? '');
        if (bumpOnAppeal.delete(caseId))
          await gw.gateway.db.pool.query('UPDATE cases SET version = version + 1 WHERE id = $1', [caseId]);
        callback();
      });
    },
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const keys = await createPasClientKeys('RS384');
    sim = await startPasSimWithClient(keys, { slowMs: 500 });
    const payer = pasPayerFor(pasChannelFor(sim, keys));
    gw = await startTestGateway({
      clock,
      env: {
        PAYERS_DIR: writePayersDir([
          { ...payer, appeals: { email: { name: 'Insurer Example appeals', address: appealAddress } } },
        ]),
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String((smtp.server.address() as AddressInfo).port),
        STEP_LEASE_MS: '20000',
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  const resolve = (taskId: string, body: Record<string, unknown>) =>
    fetch(`${gw.gateway.url}/tasks/${taskId}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const taskOf = (caseId: string, kind: string) =>
    waitFor(
      async () =>
        (await readJson(await gw.get(`/tasks?caseId=${caseId}&kind=${kind}`))).items[0] as
          | { id: string; version: number; state: string; reasonCodes: string[]; ownerRole: string }
          | undefined,
      { timeoutMs: 60_000, what: `${kind} task` },
    );
  const appealMails = (caseId: string) =>
    received.filter((r) => r.mail.headers.get('x-pagw-case-id') === caseId && r.to.includes(appealAddress));

  it('denied over PAS → appeal approved → e-mailed once with the PDF letter, across a retry → outcome recorded → approved after appeal', async () => {
    const res = await fetch(`${gw.gateway.url}/orders/fhir`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/fhir+json' },
      body: pasServiceRequestOrder(`sr-appeal-mail-${Date.now()}`, 'DENY200077'),
    });
    expect(res.status).toBe(201);
    const caseId = (await readJson(res)).caseIds[0] as string;
    await waitFor(async () => (await readJson(await gw.get(`/cases/${caseId}`))).state === 'delivered', {
      timeoutMs: 60_000,
      what: 'denied and delivered',
    });

    const consideration = await taskOf(caseId, 'appeal_consideration');
    const prepared = await resolve(consideration.id, {
      action: 'prepare_appeal',
      taskVersion: consideration.version,
    });
    expect(prepared.status).toBe(200);
    const { appeal } = await readJson(prepared);
    const review = await taskOf(caseId, 'appeal_review');
    bumpOnAppeal.add(caseId);
    const seenByPayer = (await sim.received()).length;
    expect((await resolve(review.id, { action: 'approve_appeal', taskVersion: review.version })).status).toBe(
      200,
    );

    // Submitted by e-mail: the case waits for a person to record the payer's answer (no polling of the channel).
    const outcomeTask = await taskOf(caseId, 'appeal_outcome');
    expect(outcomeTask).toMatchObject({
      ownerRole: 'reviewer',
      reasonCodes: ['APPEAL_EMAILED'],
      state: 'open',
    });
    const submitted = await readJson(await gw.get(`/cases/${caseId}`));
    const submissions = submitted.events.filter((e: { event: string }) => e.event === 'appeal_submitted');
    expect(submissions).toHaveLength(1);
    expect(submissions[0].data).toMatchObject({ appealId: appeal.id, via: 'email' });

    // The case changed while the SMTP server took the e-mail, so the step's first transition failed its version
    // check and the recorded appeal_submitted is a retry's: the payer still got ONE e-mail.
    expect(bumpOnAppeal.has(caseId)).toBe(false);
    const mails = appealMails(caseId);
    expect(mails).toHaveLength(1);
    const { mail } = mails[0]!;
    expect(mail.messageId).toBe(`<appeal-${appeal.id}@pa-gateway>`);
    expect(mail.from?.value[0]?.address).toBe('pa-desk@goodhealth.example.org');
    expect(mail.subject).toMatch(/^Request for reconsideration of a prior authorization decision/);
    expect(mail.text).toContain(`case ${caseId}`);
    expect(mail.text).not.toContain('DENY200077'); // the member id travels in the letter only
    expect(mail.attachments).toHaveLength(1);
    const attachment = mail.attachments[0]!;
    expect(attachment).toMatchObject({ contentType: 'application/pdf', filename: `appeal-${caseId}.pdf` });
    const text = (await pdfText(attachment.content)).join('\n');
    expect(text).toContain('Request for reconsideration of a prior authorization decision');
    expect(text).toContain('Member id: DENY200077');
    expect(text).toContain('Evidence checklist');
    // Nothing went to the PAS payer about the appeal.
    expect((await sim.received()).slice(seenByPayer).map((r) => r.kind)).not.toContainEqual(
      expect.stringMatching(/^(submit|other)$/),
    );
    const { rows: audit } = await gw.gateway.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'case.appeal_emailed' AND case_id = $1`,
      [caseId],
    );
    expect(audit[0]!.n).toBe(1);

    // The payer answers (by letter or phone): a reviewer records it.
    const refused = await resolve(outcomeTask.id, {
      action: 'record_appeal_outcome',
      taskVersion: 1,
      outcome: 'maybe',
    });
    expect(refused.status).toBe(400);
    const recorded = await resolve(outcomeTask.id, {
      action: 'record_appeal_outcome',
      taskVersion: outcomeTask.version,
      outcome: 'approved',
      certificationNumber: 'APL-2026-0042',
    });
    expect(recorded.status).toBe(200);
    const final = await readJson(await gw.get(`/cases/${caseId}`));
    expect(final).toMatchObject({
      state: 'delivered',
      decision: { outcome: 'approved', reviewActionCode: 'A1', certificationNumber: 'APL-2026-0042' },
    });
    expect(final.events.at(-1)).toMatchObject({
      event: 'appeal_decided',
      data: { outcome: 'approved', via: 'email' },
    });
    const { rows } = await gw.gateway.db.pool.query<{
      state: string;
      submitted_via: string;
      first_outcome: string;
    }>(
      `SELECT a.state, a.submitted_via, c.first_outcome FROM case_appeals a JOIN cases c ON c.id = a.case_id
        WHERE a.id = $1`,
      [appeal.id],
    );
    expect(rows[0]).toEqual({
      state: 'approved_after_appeal',
      submitted_via: 'email',
      first_outcome: 'denied',
    });
    expect(JSON.stringify(await readJson(await gw.get('/analytics/outcomes')))).toMatch(
      /"approvedAfterAppeal":1/,
    );
    expect(appealMails(caseId)).toHaveLength(1);
  });
});
