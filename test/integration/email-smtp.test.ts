/**
 * Care-team e-mail over real SMTP: an smtp-server listening on a real local port receives what the SMTP notifier
 * sends; each message is read back (envelope and MIME, parsed with mailparser) and checked.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../src/bus/port.ts';
import { createSmtpNotifier } from '../../src/outbound/email/smtp-notifier.ts';
import {
  caseEmailJob,
  createEmailDeliveryHandler,
  type EmailJob,
  type Notifier,
  NotifyError,
  outboundFor,
  type TenantSettings,
} from '../../src/outbound/index.ts';
import { at, decisionScenarios, payer, tenant } from '../fixtures/outbound/scenarios.ts';

interface Received {
  from: string | undefined;
  to: string[];
  raw: string;
  mail: ParsedMail;
}

/** How the server answers: accept, or fail a stage with an SMTP code. */
let behaviour: { rcpt?: number; data?: number } = {};
const received: Received[] = [];

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onRcptTo(_address, _session, callback) {
    callback(behaviour.rcpt ? smtpError(behaviour.rcpt, 'mailbox unavailable') : null);
  },
  onData(stream, session: SMTPServerSession, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', async () => {
      if (behaviour.data) return callback(smtpError(behaviour.data, 'try again later'));
      const raw = Buffer.concat(chunks).toString('utf8');
      const envelopeFrom = session.envelope.mailFrom;
      received.push({
        from: envelopeFrom ? envelopeFrom.address : undefined,
        to: session.envelope.rcptTo.map((r) => r.address),
        raw,
        mail: await simpleParser(raw),
      });
      callback();
    });
  },
});

let port = 0;
let notifier: Notifier;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
  notifier = createSmtpNotifier({ host: '127.0.0.1', port, secure: false, timeoutMs: 5_000 });
});

afterAll(async () => {
  await notifier.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  behaviour = {};
  received.length = 0;
});

const scenario = (name: string) => decisionScenarios.find((s) => s.name === name)!;
const privateTenant: TenantSettings = { ...tenant, email: { ...tenant.email!, includeFields: [] } };
const phi = [
  'Testpatient',
  'Alex',
  '1980-04-12',
  '19800412',
  'W123456789',
  'MRN-100234',
  'medically necessary',
];

function jobFor(name: string, settings: TenantSettings = privateTenant): EmailJob {
  return caseEmailJob({ caseRecord: scenario(name).caseRecord, tenant: settings, payer })!;
}

describe('SMTP notifier against a real SMTP server', () => {
  it('delivers an approval from the clinic identity to the approval recipients, readable back', async () => {
    const job = jobFor('approved');
    const result = await notifier.send(job);

    expect(result.accepted).toEqual(['scheduling@goodhealth.example.org']);
    expect(received).toHaveLength(1);
    const [message] = received as [Received];
    expect(message.from).toBe('pa-desk@goodhealth.example.org');
    expect(message.to).toEqual(['scheduling@goodhealth.example.org']);
    expect(message.mail.from?.value).toEqual([
      { name: 'Good Health Clinic PA desk', address: 'pa-desk@goodhealth.example.org' },
    ]);
    expect(message.mail.replyTo?.value[0]?.address).toBe('ur@goodhealth.example.org');
    expect(message.mail.messageId).toBe(job.messageId);
    expect(message.mail.subject).toBe(
      `PA APPROVED: 70553 (Example Health Plan) case ${job.caseId.slice(0, 8)}`,
    );
    expect(message.mail.headers.get('x-pagw-case-id')).toBe(job.caseId);
    expect(message.mail.text).toContain(`Case: ${job.caseId}`);
    expect(message.mail.text).toContain(
      '70553 MRI brain with and without contrast: approved, 1 UN authorized',
    );
    expect(message.mail.html).toContain('<strong>APPROVED</strong>');
  });

  it('sends a denial to every denial recipient and a documentation request to the care team', async () => {
    await notifier.send(jobFor('denied'));
    await notifier.send(jobFor('pended-docs-request'));
    expect(received.map((r) => r.to)).toEqual([
      ['careteam@goodhealth.example.org', 'ur@goodhealth.example.org'],
      ['careteam@goodhealth.example.org'],
    ]);
    expect(received.map((r) => r.mail.subject?.split(':')[0])).toEqual([
      'PA DENIED',
      'PA needs documentation',
    ]);
  });

  it('puts no PHI the clinic has not allowed anywhere in the message (headers, text or HTML)', async () => {
    for (const name of ['approved', 'denied', 'pended-docs-request', 'modified-units']) {
      await notifier.send(jobFor(name));
    }
    expect(received).toHaveLength(4);
    for (const message of received) {
      const everything = `${message.raw}\n${message.mail.text}\n${message.mail.html}`;
      for (const value of phi) expect(everything).not.toContain(value);
    }
  });

  it('carries the fields a clinic allows', async () => {
    const open = {
      ...tenant,
      email: { ...tenant.email!, includeFields: ['patientName' as const, 'memberId' as const] },
    };
    await notifier.send(jobFor('denied', open));
    expect(received[0]?.mail.text).toContain('Patient: Alex Testpatient');
    expect(received[0]?.mail.text).toContain('Member id: W123456789');
    expect(received[0]?.mail.text).not.toContain('1980-04-12');
  });

  it('delivers a job written to the outbox through the bus delivery handler', async () => {
    const s = scenario('denied');
    const planned = outboundFor({
      event: 'decided',
      caseRecord: s.caseRecord,
      previousState: 'pended',
      payer,
      tenant: privateTenant,
      topics: {
        claimResponse: 'pa.claimresponse.v1',
        status: 'pa.status.v1',
        notifications: 'pa.notify.email.v1',
      },
      at,
    });
    const outboxed = planned.outbox.find((m) => m.topic === 'pa.notify.email.v1')!;
    const incoming: IncomingMessage = {
      topic: outboxed.topic,
      partition: 0,
      offset: '0',
      key: outboxed.key,
      value: Buffer.from(JSON.stringify(outboxed.value)),
      headers: {},
      attempt: 1,
    } as IncomingMessage;
    const sent: string[] = [];
    await createEmailDeliveryHandler({ notifier, onSent: (job) => sent.push(job.eventId) })(incoming);
    expect(sent).toEqual([planned.emails[0]!.eventId]);
    expect(received[0]?.mail.messageId).toBe(planned.emails[0]!.messageId);
  });

  it('maps a permanent refusal (550) to PAGW_NOTIFY_REJECTED, not retriable', async () => {
    behaviour = { rcpt: 550 };
    const error = await notifier.send(jobFor('approved')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotifyError);
    expect(error).toMatchObject({ code: 'PAGW_NOTIFY_REJECTED', retriable: false });
    expect(received).toHaveLength(0);
  });

  it('maps a temporary failure (451) to PAGW_NOTIFY_UNAVAILABLE, retriable', async () => {
    behaviour = { data: 451 };
    const error = await notifier.send(jobFor('approved')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAGW_NOTIFY_UNAVAILABLE', retriable: true });
  });

  it('maps an unreachable server to PAGW_NOTIFY_UNAVAILABLE, retriable', async () => {
    const closed = new SMTPServer({ authOptional: true, logger: false });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = createSmtpNotifier({
      host: '127.0.0.1',
      port: deadPort,
      secure: false,
      timeoutMs: 2_000,
    });
    try {
      const error = await unreachable.send(jobFor('approved')).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PAGW_NOTIFY_UNAVAILABLE', retriable: true });
    } finally {
      await unreachable.close();
    }
  });
});
