/**
 * The 275 (005010X210) that answers a payer's request for documents on a pended 278: valid against its TR3 table
 * before it leaves, the document as a MIME body in BIN02 under the payer's attachment control number, and refused
 * when it cannot name the provider or carries a control number the payer could not have given.
 */
import { describe, expect, it } from 'vitest';
import { build275, mimeBody } from '../../connectors/x12/005010X210/build-275.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const options = {
  envelope: {
    sender: { qualifier: 'ZZ', id: 'PAGW' },
    receiver: { qualifier: 'ZZ', id: 'PAGWSIMCH' },
    usage: 'T' as const,
    interchangeControlNumber: 7,
    groupControlNumber: 7,
    at: new Date('2026-03-02T10:00:00.000Z'),
  },
  payer: { name: 'EXAMPLE HEALTH PLAN', id: '87726' },
  traceNumber: 'ABC123',
  traceOriginator: '1234567890',
  submitterReference: 'CASE1',
};
const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n');
const doc = { controlNumber: 'ACN0000001', reportType: '09', contentType: 'application/pdf', content: pdf };

describe('275 attachments', () => {
  it('carries the document under the attachment control number, the MIME body base64 in BIN02', () => {
    const text = build275(sampleRequest(), doc, options);
    const segments = text.split('~').map((s) => s.trim());
    expect(segments.find((s) => s.startsWith('ST*'))).toBe('ST*275*0001*005010X210');
    expect(segments.find((s) => s.startsWith('GS*'))).toMatch(/^GS\*PI\*/);
    expect(segments).toContain('TRN*2*ACN0000001');
    expect(segments).toContain('CAT*AE*MB');
    const bin = segments.find((s) => s.startsWith('BIN*'))!.split('*');
    expect(Number(bin[1])).toBe(bin[2]!.length);
    const mime = Buffer.from(bin[2]!, 'base64').toString('utf8');
    expect(mime).toBe(mimeBody(doc));
    expect(mime).toContain('Content-Type: application/pdf');
    const content = mime.split('\r\n\r\n')[1]!.replace(/\r\n/g, '');
    expect(Buffer.from(content, 'base64').equals(pdf)).toBe(true);
  });

  it('refuses a control number no payer gives, and a request without the provider’s NPI', () => {
    expect(() => build275(sampleRequest(), { ...doc, controlNumber: 'A*B' }, options)).toThrow(
      /attachment control number/,
    );
    const request = sampleRequest();
    expect(() =>
      build275(
        { ...request, requestingProvider: { ...request.requestingProvider, npi: undefined } },
        doc,
        options,
      ),
    ).toThrow(/NPI/);
  });
});
