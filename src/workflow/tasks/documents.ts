/**
 * What the gateway takes as a document for a payer: PDF, PNG, JPEG, TIFF and C-CDA (HL7 CDA R2 XML), recognised by
 * their bytes — the declared type must agree — and at most `maxDocumentBytes`. Pure.
 */

export const maxDocumentBytes = 10 * 1024 * 1024;

export const documentTypes = [
  'application/pdf',
  'image/png',
  'image/jpeg',
  'image/tiff',
  'application/xml',
] as const;
export type DocumentType = (typeof documentTypes)[number];

/** The type the bytes are, or undefined when they are none of the accepted ones. */
export function sniffDocumentType(bytes: Buffer): DocumentType | undefined {
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  const head4 = bytes.subarray(0, 4).toString('latin1');
  if (head4 === 'II*\u0000' || head4 === 'MM\u0000*') return 'image/tiff';
  // C-CDA: an XML ClinicalDocument in the HL7 v3 namespace, within the first few KB.
  const head = bytes
    .subarray(0, 4096)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  if (
    /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(\w+:)?ClinicalDocument\b/.test(head) &&
    head.includes('urn:hl7-org:v3')
  )
    return 'application/xml';
  return undefined;
}

/** The declared content type as the gateway names it (text/xml and the CDA type are the XML one), or undefined. */
export function declaredDocumentType(contentType: string | undefined): DocumentType | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return undefined;
  if (type === 'text/xml' || type === 'application/hl7-cda+xml') return 'application/xml';
  return (documentTypes as readonly string[]).includes(type) ? (type as DocumentType) : undefined;
}
