import { VaultError } from './errors.ts';

/** Secret names are paths: `clearinghouse/acme/password`, `portal/sim-health/totp` (the `vault:` references' form). */
export const secretNamePattern = /^[a-z0-9][a-z0-9/_.-]{0,199}$/;
export const maxSecretBytes = 64 * 1024;

export function checkSecretName(name: string): string {
  if (!secretNamePattern.test(name)) {
    throw new VaultError(
      'PAGW_VAULT_NAME_INVALID',
      'A secret name is lower-case letters, digits and / _ . -, starting with a letter or digit, up to 200 characters',
    );
  }
  return name;
}

export function checkSecretValue(value: string): string {
  if (value.length === 0) throw new VaultError('PAGW_VAULT_VALUE_INVALID', 'The secret value is empty');
  if (Buffer.byteLength(value, 'utf8') > maxSecretBytes)
    throw new VaultError(
      'PAGW_VAULT_VALUE_INVALID',
      `The secret value is larger than ${maxSecretBytes} bytes`,
    );
  return value;
}
