/**
 * The vault secrets a payer channel refers to, by the conventions of its connector: a `credentialsRef` names the
 * folder holding `<name>/username` and `<name>/password` (x12 clearinghouse login, portal login); a `totpRef` names
 * a TOTP seed. Pure: the start-up check and the per-case channel choice ask the vault whether they are stored.
 * PAS names its client's private key (privateKeyRef, else credentialsRef) as one secret.
 */
import { vaultRefName } from '../vault/port.ts';
import type { Channel } from './rules/types.generated.ts';

export interface ChannelSecret {
  /** The reference as the payer file writes it (`vault:portal/acme`). */
  readonly ref: string;
  /** The secret name that must be stored. */
  readonly name: string;
}

function credentials(ref: string | undefined): ChannelSecret[] {
  const name = vaultRefName(ref);
  return name && ref
    ? [
        { ref, name: `${name}/username` },
        { ref, name: `${name}/password` },
      ]
    : [];
}

export function channelSecrets(channel: Channel): ChannelSecret[] {
  switch (channel.type) {
    case 'x12':
      return credentials(channel.clearinghouse.credentialsRef);
    case 'portal': {
      const totp = vaultRefName(channel.totpRef);
      return [
        ...credentials(channel.credentialsRef),
        ...(totp && channel.totpRef ? [{ ref: channel.totpRef, name: totp }] : []),
      ];
    }
    case 'pas': {
      // The client's private key: a `vault:` reference names one secret (a `file:` key is outside the vault).
      const ref = channel.privateKeyRef ?? channel.credentialsRef;
      const name = vaultRefName(ref);
      return name ? [{ ref, name }] : [];
    }
    default:
      return [];
  }
}
