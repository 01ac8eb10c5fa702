/**
 * HL7 v2 status messages to a clinic's MLLP listener: a real TCP server speaking MLLP receives what the forward
 * handler sends (the message outboundFor wrote, with its destination header), parses it with hl7v2 and ACKs.
 */
import net, { type AddressInfo } from 'node:net';
import { HL7Message } from 'hl7v2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from '../../src/bus/port.ts';
import {
  createMllpForwardHandler,
  MllpDeliveryError,
  OutboundHeader,
  outboundFor,
  parseTenantSettings,
  sendMllp,
} from '../../src/outbound/index.ts';
import { at, decisionScenarios, payer, tenant } from '../fixtures/outbound/scenarios.ts';

type Reply = 'AA' | 'AR' | 'silent' | 'hangup';
let reply: Reply = 'AA';
const received: HL7Message[] = [];

const listener = net.createServer((socket) => {
  let buffer = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    buffer = Buffer.concat([buffer, data]);
    const end = buffer.indexOf(0x1c);
    if (buffer[0] !== 0x0b || end < 0) return;
    const message = HL7Message.parse(buffer.subarray(1, end).toString('utf8'));
    buffer = Buffer.alloc(0);
    received.push(message);
    if (reply === 'hangup') return socket.destroy();
    if (reply === 'silent') return;
    const ack = message.createAck(reply);
    socket.write(
      Buffer.concat([Buffer.from([0x0b]), Buffer.from(ack.toHL7String()), Buffer.from([0x1c, 0x0d])]),
    );
  });
});

let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});
beforeEach(() => {
  reply = 'AA';
  received.length = 0;
});

function plannedMessage(): IncomingMessage {
  const s = decisionScenarios.find((x) => x.name === 'approved')!;
  const mllpTenant = parseTenantSettings({
    ...tenant,
    hl7v2: {
      ...tenant.hl7v2,
      destination: { topic: 'pa.hl7v2.mllp-out', mllp: { host: '127.0.0.1', port } },
    },
  });
  const plan = outboundFor({
    event: 'decided',
    caseRecord: s.caseRecord,
    previousState: 'submitted',
    payer,
    tenant: mllpTenant,
    topics: { claimResponse: 'pa.claimresponse.v1', status: 'pa.status.v1' },
    at,
  });
  const out = plan.outbox.find((m) => m.topic === 'pa.hl7v2.mllp-out')!;
  return {
    topic: out.topic,
    partition: 0,
    offset: '0',
    key: out.key,
    value: Buffer.from(String(out.value)),
    headers: { ...out.headers },
    attempt: 1,
  } as IncomingMessage;
}

describe('MLLP forwarding of HL7 v2 status messages', () => {
  it('delivers the planned ORR^O02 to the destination in its header and accepts the AA', async () => {
    const message = plannedMessage();
    expect(message.headers[OutboundHeader.mllpDestination]).toBe(`127.0.0.1:${port}`);
    await createMllpForwardHandler({ timeoutMs: 5_000 })(message);
    expect(received).toHaveLength(1);
    expect(received[0]?.messageType).toBe('ORR^O02');
    expect(received[0]?.getSegment('MSA')?.field(2).getValue()).toBe('MSG00001');
  });

  it('treats an AR as a permanent refusal', async () => {
    reply = 'AR';
    const error = await createMllpForwardHandler({ timeoutMs: 5_000 })(plannedMessage()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MllpDeliveryError);
    expect(error).toMatchObject({ code: 'PAGW_MLLP_DELIVERY_REJECTED', retriable: false });
  });

  it.each([
    ['silent', 'no ACK in time'],
    ['hangup', 'a dropped connection'],
  ] as Array<[Reply, string]>)('treats %s (%s) as retriable', async (mode) => {
    reply = mode;
    const error = await sendMllp({
      host: '127.0.0.1',
      port,
      message: String(plannedMessage().value),
      timeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAGW_MLLP_DELIVERY_UNAVAILABLE', retriable: true });
  });

  it('refuses a message without a destination header', async () => {
    const message = { ...plannedMessage(), headers: {} };
    await expect(createMllpForwardHandler()(message)).rejects.toMatchObject({
      code: 'PAGW_MLLP_NO_DESTINATION',
    });
  });
});
