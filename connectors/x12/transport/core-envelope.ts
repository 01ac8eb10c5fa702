/**
 * The CAQH CORE connectivity envelope (Connectivity Rule vC2.2.0, HTTP MIME multipart variant): the metadata
 * fields that travel with every X12 payload, the payload types the gateway uses, and encoding to and from
 * multipart/form-data. Shared by the clearinghouse transport and the simulated clearinghouse.
 * @see CAQH CORE Connectivity Rule vC2.2.0, section 4 (envelope metadata, HTTP MIME multipart)
 */
import { createHash } from 'node:crypto';

export const CORE_RULE_VERSION = '2.2.0';

export const PayloadType = {
  request278: 'X12_278_Request_005010X217E1_2',
  response278: 'X12_278_Response_005010X217E1_2',
  inquiry278: 'X12_278_Request_005010X215',
  inquiryResponse278: 'X12_278_Response_005010X215',
  request270: 'X12_270_Request_005010X279A1',
  response271: 'X12_271_Response_005010X279A1',
  /** Attachments for a pended review (275, 005010X210). */
  request275: 'X12_275_Request_005010X210E1',
  ack999: 'X12_999_Response_005010X231A1',
  ackTa1: 'X12_TA1_Response_00501X231A1',
  batchReceipt: 'X12_BatchReceiptConfirmation',
  batchResults278: 'X12_005010_Request_Batch_Results_278',
} as const;

export type ProcessingMode = 'RealTime' | 'Batch';

export interface CoreEnvelope {
  readonly PayloadType: string;
  readonly ProcessingMode: ProcessingMode;
  /** A UUID naming this payload (the rule asks for RFC 4122). */
  readonly PayloadID: string;
  /** ISO 8601 UTC. */
  readonly TimeStamp: string;
  readonly SenderID: string;
  readonly ReceiverID: string;
  readonly CORERuleVersion: string;
  readonly Payload?: string;
  readonly PayloadLength?: string;
  /** SHA-1 of the payload, hex (HTTP MIME variant). */
  readonly Checksum?: string;
  readonly UserName?: string;
  readonly Password?: string;
  /** Responses: Success, or an error such as PayloadIDRequired, SenderIDNotAuthorized, ServerBusy. */
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

export const envelopeFields = [
  'PayloadType',
  'ProcessingMode',
  'PayloadID',
  'TimeStamp',
  'SenderID',
  'ReceiverID',
  'CORERuleVersion',
  'Payload',
  'PayloadLength',
  'Checksum',
  'UserName',
  'Password',
  'ErrorCode',
  'ErrorMessage',
] as const;

export function sha1(payload: string): string {
  return createHash('sha1').update(payload, 'utf8').digest('hex');
}

export function toFormData(envelope: CoreEnvelope): FormData {
  const form = new FormData();
  for (const field of envelopeFields) {
    const value = envelope[field];
    if (value !== undefined) form.append(field, value);
  }
  return form;
}

/** Reads an envelope from form fields (a field sent as a file part is read as text); missing required fields are listed, not thrown. */
export async function fromFormData(
  form: FormData,
): Promise<{ envelope: Partial<Record<(typeof envelopeFields)[number], string>>; missing: string[] }> {
  const envelope: Partial<Record<(typeof envelopeFields)[number], string>> = {};
  for (const field of envelopeFields) {
    const value = form.get(field);
    if (typeof value === 'string') envelope[field] = value;
    else if (value) envelope[field] = await value.text();
  }
  const missing = [
    'PayloadType',
    'ProcessingMode',
    'PayloadID',
    'TimeStamp',
    'SenderID',
    'ReceiverID',
    'CORERuleVersion',
  ].filter((f) => !envelope[f as keyof typeof envelope]);
  return { envelope, missing };
}
