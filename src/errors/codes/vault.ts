import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the vault (src/vault): secrets, their envelope encryption, and PHI sealed at rest under tenant data
 * keys. Document each one in docs/errors/vault.md. Messages name secrets and key ids, never values.
 */
export const vaultErrorCodes = {
  PAGW_VAULT_SECRET_MISSING: {
    httpStatus: 404,
    retriable: false,
    summary:
      'A secret named by a `vault:` reference (payer file, config) is not stored for the tenant; the message names the payer or setting and the reference.',
  },
  PAGW_VAULT_TAMPERED: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A stored ciphertext or wrapped data key does not authenticate (AES-GCM): it was altered, or copied from another row or tenant. Nothing is returned.',
  },
  PAGW_VAULT_WRONG_MASTER_KEY: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A data key is wrapped under a master key that is not configured (key id mismatch): the configured PAGW_VAULT_MASTER_KEY or key file is not the one the vault was written with.',
  },
  PAGW_VAULT_NO_MASTER_KEY: {
    httpStatus: 500,
    retriable: false,
    summary:
      'No master key: set PAGW_VAULT_MASTER_KEY (64 hex digits) or PAGW_VAULT_KEY_FILE (the embedded default creates one in the data directory).',
  },
  PAGW_VAULT_KEY_FILE_UNSAFE: {
    httpStatus: 500,
    retriable: false,
    summary:
      'The master key file is readable or writable by group or others, or is not a key file; the vault refuses to use it (chmod 600).',
  },
  PAGW_VAULT_NAME_INVALID: {
    httpStatus: 400,
    retriable: false,
    summary:
      'A secret name is not a vault path (lower-case letters, digits and / _ . -, starting with a letter or digit, up to 200 characters).',
  },
  PAGW_VAULT_VALUE_INVALID: {
    httpStatus: 400,
    retriable: false,
    summary:
      'A secret value is empty or too large, or a TOTP seed is not base32 of at least 16 bytes (or an otpauth:// URI holding one).',
  },
  PAGW_VAULT_WRONG_KIND: {
    httpStatus: 409,
    retriable: false,
    summary:
      'A TOTP seed was asked for as a value, or a value as a TOTP seed: seeds never leave the vault, only codes do.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
