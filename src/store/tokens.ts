/**
 * API bearer tokens. Only a SHA-256 of each token is stored (tokens are 256-bit random, so a plain hash is
 * enough); the clear token is shown once, when it is created.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Sql } from './sql.ts';

/**
 * Roles a token can hold. admin holds every role. ehr: send orders and read their cases; reviewer,
 * utilization_reviewer, medical_director, pharmacist: decide review gates (policies name which);
 * erp, scheduling: read authorization status without demographics (minimum necessary); pharmacy: the pharmacy
 * system's own integration.
 */
export const apiRoles = [
  'ehr',
  'reviewer',
  'utilization_reviewer',
  'medical_director',
  'pharmacist',
  'erp',
  'scheduling',
  'pharmacy',
  'admin',
] as const;
export type ApiRole = (typeof apiRoles)[number];

export interface TokenPrincipal {
  tokenId: string;
  tenant: string;
  roles: ApiRole[];
  label: string | null;
  /** The person the token was issued to (a reviewer signs as this user), or null for a system's token. */
  userId?: string | null;
  /** The person's NPI, when they sign as a licensed clinician (medical director, pharmacist). */
  npi?: string | null;
}

/** Who a user id may be: an e-mail-like or directory name, no spaces (it lands in the audit log as is). */
export const userIdPattern = /^[A-Za-z0-9._@+-]{1,128}$/;

/** An NPI: ten digits whose last is the Luhn check digit over "80840" + the first nine. */
export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(npi[9]);
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createApiToken(
  sql: Sql,
  input: {
    tenant: string;
    roles: ApiRole[];
    label?: string;
    /** The named person the token is issued to. */
    userId?: string;
    npi?: string;
    at: Date;
  },
): Promise<{ token: string; principal: TokenPrincipal }> {
  const token = `pagw_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await sql.query(
    `INSERT INTO api_tokens (id, token_hash, tenant_id, roles, label, user_id, npi, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      id,
      hashToken(token),
      input.tenant,
      input.roles,
      input.label ?? null,
      input.userId ?? null,
      input.npi ?? null,
      input.at,
    ],
  );
  return {
    token,
    principal: {
      tokenId: id,
      tenant: input.tenant,
      roles: input.roles,
      label: input.label ?? null,
      userId: input.userId ?? null,
      npi: input.npi ?? null,
    },
  };
}

export async function findTokenPrincipal(sql: Sql, token: string): Promise<TokenPrincipal | null> {
  const { rows } = await sql.query<{
    id: string;
    tenant_id: string;
    roles: ApiRole[];
    label: string | null;
    user_id: string | null;
    npi: string | null;
  }>(
    'SELECT id, tenant_id, roles, label, user_id, npi FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  const row = rows[0];
  return row
    ? {
        tokenId: row.id,
        tenant: row.tenant_id,
        roles: row.roles,
        label: row.label,
        userId: row.user_id,
        npi: row.npi,
      }
    : null;
}

export async function revokeApiToken(sql: Sql, tokenId: string, at: Date): Promise<boolean> {
  const result = await sql.query(
    'UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
    [tokenId, at],
  );
  return (result.rowCount ?? 0) > 0;
}
