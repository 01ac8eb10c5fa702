/**
 * HMAC-SHA256 webhook signatures, both ways: the PA flags pharmacy systems post (checked over the raw body, in
 * constant time) and the write-backs the gateway posts to them. The key is the sender's secret from the vault.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Signature } from '../../mapping/pharmacy/types.generated.ts';

export function hmacSha256(secret: string, ...parts: (string | Buffer)[]): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The digest a signature header carries, or undefined when it is not in the sender's format. */
function digestOf(header: string, spec: Signature): Buffer | undefined {
  const prefix = spec.prefix ?? '';
  const value = header.trim();
  if (prefix && !value.toLowerCase().startsWith(prefix.toLowerCase())) return undefined;
  const encoded = value.slice(prefix.length).trim();
  if ((spec.encoding ?? 'hex') === 'hex')
    return /^[0-9a-fA-F]{64}$/.test(encoded) ? Buffer.from(encoded, 'hex') : undefined;
  return /^[A-Za-z0-9+/]{43}=$/.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
}

/**
 * Whether `header` is the sender's signature of `body`. The comparison takes the same time whatever the header
 * holds: a malformed header is compared against a zero digest rather than returning early.
 */
export function verifySignature(
  body: Buffer,
  header: string | undefined,
  secret: string,
  spec: Signature,
): boolean {
  const expected = hmacSha256(secret, body);
  const given = header === undefined ? undefined : digestOf(header, spec);
  const equal = timingSafeEqual(given ?? Buffer.alloc(expected.length), expected);
  return given !== undefined && equal;
}

/** How a signature header is written in the sender's format. */
export function signatureHeader(body: Buffer | string, secret: string, spec: Signature): string {
  const digest = hmacSha256(secret, body);
  return `${spec.prefix ?? ''}${(spec.encoding ?? 'hex') === 'hex' ? digest.toString('hex') : digest.toString('base64')}`;
}

/** The write-back signature: `t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">` (the time is signed with the body). */
export function writeBackSignature(body: Buffer | string, secret: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${hmacSha256(secret, `${t}.`, body).toString('hex')}`;
}
