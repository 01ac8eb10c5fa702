/**
 * POST /core: one CAQH CORE HTTP MIME request read and checked at the transport level — the multipart envelope, its
 * required fields, the CORE login when the simulator has one, the rule version, the checksum — then batch results
 * by PayloadID, the X12 payload read strictly (a TA1 when it cannot be), and the transaction set handed to its
 * handler: 270 (eligibility.ts), 275 (attachments.ts), 278 (reviews.ts). Split from server.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CORE_RULE_VERSION,
  fromFormData,
  PayloadType,
  sha1,
} from '../../../connectors/x12/transport/core-envelope.ts';
import { answerAttachment } from './attachments.ts';
import { answerEligibility } from './eligibility.ts';
import { answerReview } from './reviews.ts';
import type { ClearinghouseSim, CoreCall } from './sim-state.ts';
import { type ReadRequest, readRequest, writeTa1 } from './x12.ts';

export async function handleCore(
  sim: ClearinghouseSim,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { options, simId, latencyMs, received, batches, counters, reply } = sim;
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
        controlNumber: ++counters.controlNumber,
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
  const call: CoreCall = { req, res, envelope, base, replyTo, request };

  if (request.setId === '270') return answerEligibility(sim, call);

  if (request.setId === '275') return answerAttachment(sim, call);

  if (request.setId !== '278') {
    received.push({ ...base, kind: 'other', accepted: false, disposition: 'unsupported' });
    await reply(res, 400, {
      ...replyTo,
      ErrorCode: 'PayloadTypeIncorrect',
      ErrorMessage: `Transaction set ${request.setId} is not handled`,
    });
    return;
  }

  await answerReview(sim, call);
}
