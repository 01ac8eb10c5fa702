/**
 * The vault as its readers see it. Values are read only inside the process, by the component that uses them
 * (a payer connector, the SMTP notifier, a webhook signature check), through this one port, and every read is
 * audited (who read which secret, for which case, on whose behalf). No API, CLI or log ever returns a value.
 *
 * Secrets belong to a tenant (the clinic identity): the clinic's portal login, its clearinghouse account, its
 * PAS client key. Names are paths such as `clearinghouse/pagw-sim`, `portal/acme-health/password`,
 * `pas/example-health-plan/private-key`; payers/ and config refer to them as `vault:<name>`.
 *
 * The implementation (envelope encryption in the store) lives in src/vault; this file is the port the domain
 * core and the connectors depend on.
 */

/** Why a secret is read, for the audit row. Codes and ids only: never PHI. */
export interface SecretUse {
  /** The tenant whose secret it is. */
  readonly tenant: string;
  /** The component reading it: `connector:x12`, `connector:pas`, `connector:portal`, `smtp`, `webhook:pharmacy` … */
  readonly reader: string;
  readonly caseId?: string;
  /** On whose behalf the reader acts (e.g. `tenant:clinic-a`, or the delegation chain's head). */
  readonly onBehalfOf?: string;
}

export interface SecretReader {
  /** The current value of secret `name` of `use.tenant`; a typed GatewayError when it is missing or cannot be opened. */
  read(name: string, use: SecretUse): Promise<string>;
  /** A TOTP code (RFC 6238) from the seed stored under `name`: the seed itself never leaves the vault. */
  totp(name: string, use: SecretUse): Promise<string>;
}

const vaultPrefix = 'vault:';

/** The secret name of a `vault:<name>` reference, or undefined when `ref` is not a vault reference. */
export function vaultRefName(ref: string | undefined): string | undefined {
  if (!ref?.startsWith(vaultPrefix)) return undefined;
  const name = ref.slice(vaultPrefix.length);
  return name.length > 0 ? name : undefined;
}
