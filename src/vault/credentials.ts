/**
 * Login credentials behind a `vault:` reference. A credentials reference names a folder of the vault holding two
 * secrets, `<name>/username` and `<name>/password` (so a password rotates on its own, and the username is not read
 * with it when only one is needed). Used by the X12 clearinghouse transport, the SMTP notifier and the portal robot.
 */
import { isGatewayError } from '../errors/index.ts';
import { VaultError } from './errors.ts';
import { type SecretReader, type SecretUse, vaultRefName } from './port.ts';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** The secret names a credentials reference stands for. */
export function credentialSecretNames(ref: string): { username: string; password: string } {
  const name = vaultRefName(ref);
  if (!name) throw new VaultError('PAGW_VAULT_NAME_INVALID', `${ref} is not a vault: reference`);
  return { username: `${name}/username`, password: `${name}/password` };
}

/**
 * Reads the credentials (two audited reads). `owner` names who refers to them (`payer example-health-plan (x12)`,
 * `smtp.credentialsRef`): a missing secret is an error naming the owner and the reference, never an anonymous call.
 */
export async function readCredentials(
  vault: SecretReader,
  ref: string,
  use: SecretUse,
  owner: string,
): Promise<Credentials> {
  const names = credentialSecretNames(ref);
  try {
    return {
      username: await vault.read(names.username, use),
      password: await vault.read(names.password, use),
    };
  } catch (error) {
    throw ownedError(error, owner, ref);
  }
}

/** Re-labels a missing-secret error with who refers to the secret. */
export function ownedError(error: unknown, owner: string, ref: string): unknown {
  if (isGatewayError(error) && error.code === 'PAGW_VAULT_SECRET_MISSING') {
    return new VaultError('PAGW_VAULT_SECRET_MISSING', `${owner} refers to ${ref}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
}
