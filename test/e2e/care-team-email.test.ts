/**
 * Care-team e-mail through the whole gateway: SMTP configured by env, an approval and a denial from the
 * simulated payer, and the messages read back from a real local SMTP server — from the clinic's identity, to the
 * clinic's recipients for that outcome, with no PHI the clinic did not allow. The SMTP server requires a login,
 * which the gateway takes from its vault (SMTP_CREDENTIALS_REF), never from config.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { buildOrmOrder } from '../helpers/hl7-orders.ts';
import { readJson } from '../helpers/http.ts';
import { waitFor } from '../helpers/store.ts';
import { type SimProcess, startClearinghouseSim } from '../sim/clearinghouse/process.ts';

describe(`care-team e-mail through the gateway (${testDatabaseKind()})`, () => {
  const received: Array<{ to: string[]; mail: ParsedMail }> = [];
  const logins: string[] = [];
  const smtp = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      if (auth.username === 'pagw-mailer' && auth.password === 'smtp-Pass-4711')
        return callback(null, { user: 'pagw' });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          mail: await simpleParser(Buffer.concat(chunks)),
        });
        callback();
      });
    },
  });
  let sim: SimProcess;
  let gw: TestGateway;

  beforeAll(async () => {
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    sim = await startClearinghouseSim({ slowMs: 200 });
    gw = await startTestGateway({
      env: {
        CLEARINGHOUSE_ENDPOINTS: `pagw-sim=${sim.endpoint}`,
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(port),
        SMTP_CREDENTIALS_REF: 'vault:smtp/relay',
      },
      secrets: [
        { tenant: 'default', name: 'smtp/relay/username', value: 'pagw-mailer' },
        { tenant: 'default', name: 'smtp/relay/password', value: 'smtp-Pass-4711' },
      ],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  async function decide(
    memberId: string,
    placer: string,
  ): Promise<{ id: string; decision: { certificationNumber?: string } }> {
    const res = await gw.postHl7(
      buildOrmOrder({
        messageId: `MAIL-${Date.now()}-${placer}`,
        placerOrderNumber: placer,
        memberId,
        cpt: '70553',
        patient: { family: 'ZZSECRETNAME', given: 'PAT', birthDate: '19700101', sex: 'F' },
      }),
    );
    const id = (await readJson(res)).caseIds[0];
    return (await waitFor(
      async () => {
        const c = await readJson(await gw.get(`/cases/${id}`));
        return c.state === 'delivered' ? c : undefined;
      },
      { timeoutMs: 30_000, what: 'the case to be delivered' },
    ))!;
  }

  it('mails the approval and the denial to the clinic’s recipients, from its identity, without PHI it did not allow', async () => {
    const approved = await decide('W500000001', 'ORD-MAIL-1');
    const denied = await decide('DENY500002', 'ORD-MAIL-2');
    const mails = await waitFor(() => (received.length >= 2 ? received : undefined), {
      timeoutMs: 30_000,
      what: 'two e-mails',
    });

    const approval = mails.find((m) => m.mail.text?.includes(approved.id))!;
    expect(approval.to).toEqual(['scheduling@goodhealth.example.org']);
    expect(approval.mail.from?.value[0]).toMatchObject({
      address: 'pa-desk@goodhealth.example.org',
      name: 'Good Health Clinic PA desk',
    });
    expect(approval.mail.text).toContain('ORD-MAIL-1'); // placer order number: on clinic-a's allow-list
    expect(approval.mail.text).toContain(approved.decision.certificationNumber!);

    const denial = mails.find((m) => m.mail.text?.includes(denied.id))!;
    expect(denial.to.sort()).toEqual(['careteam@goodhealth.example.org', 'ur@goodhealth.example.org']);
    for (const { mail } of mails) {
      const everything = `${mail.subject}\n${mail.text}\n${mail.html}`;
      expect(everything).not.toContain('ZZSECRETNAME');
      expect(everything).not.toContain('1970');
      expect(everything).not.toMatch(/W500000001|DENY500002|MRN-100234/); // member id and MRN are not allowed
    }
    // Logged in with the vault's SMTP login; the read is audited as reader `smtp`, without the value.
    expect(logins.length).toBeGreaterThan(0);
    expect(logins.every((l) => l === 'pagw-mailer')).toBe(true);
    const { rows } = await gw.gateway.db.pool.query<{ actor: string; details: unknown }>(
      `SELECT actor, details FROM audit_log WHERE action = 'vault.secret_read' AND tenant_id = 'default'`,
    );
    expect(rows.map((r) => r.actor)).toEqual(['smtp', 'smtp']);
    expect(JSON.stringify(rows)).not.toContain('smtp-Pass-4711');
  });
});
