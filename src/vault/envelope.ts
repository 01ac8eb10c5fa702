/**
 * Envelope encryption primitives: AES-256-GCM with a 96-bit random IV and a 128-bit tag, the layout
 * `iv (12) | tag (16) | ciphertext`. Data is sealed under a data key; data keys are sealed ("wrapped") under the
 * master key. Associated data binds every ciphertext to where it belongs (tenant, secret name, version, row), so a
 * ciphertext copied elsewhere fails to authenticate instead of opening as someone else's secret.
 * @see NIST SP 800-38D (GCM); the envelope pattern of AWS KMS / Google Cloud KMS.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VaultError } from './errors.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** Unambiguous associated data from its parts (a JSON array: no two part lists give the same bytes). */
export function associatedData(parts: readonly string[]): Buffer {
  return Buffer.from(JSON.stringify(parts), 'utf8');
}

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Opens a sealed buffer or throws PAGW_VAULT_TAMPERED (`what` names it in the message: never its content). */
export function open(key: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new VaultError('PAGW_VAULT_TAMPERED', `${what} is truncated`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new VaultError(
      'PAGW_VAULT_TAMPERED',
      `${what} does not authenticate: it was altered, or belongs to another row or tenant`,
    );
  }
}
