/**
 * API bearer tokens. Only a SHA-256 of each token is stored (tokens are 256-bit random, so a plain hash is
 * enough); the clear token is shown once, when it is created.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Sql } from './sql.ts';

export const apiRoles = ['ehr', 'reviewer', 'erp', 'admin'] as const;
export type ApiRole = (typeof apiRoles)[number];

export interface TokenPrincipal {
  tokenId: string;
  tenant: string;
  roles: ApiRole[];
  label: string | null;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function createApiToken(
  sql: Sql,
  input: { tenant: string; roles: ApiRole[]; label?: string; at: Date },
): Promise<{ token: string; principal: TokenPrincipal }> {
  const token = `pagw_${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  await sql.query(
    'INSERT INTO api_tokens (id, token_hash, tenant_id, roles, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, hashToken(token), input.tenant, input.roles, input.label ?? null, input.at],
  );
  return {
    token,
    principal: { tokenId: id, tenant: input.tenant, roles: input.roles, label: input.label ?? null },
  };
}

export async function findTokenPrincipal(sql: Sql, token: string): Promise<TokenPrincipal | null> {
  const { rows } = await sql.query<{ id: string; tenant_id: string; roles: ApiRole[]; label: string | null }>(
    'SELECT id, tenant_id, roles, label FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
    [hashToken(token)],
  );
  const row = rows[0];
  return row ? { tokenId: row.id, tenant: row.tenant_id, roles: row.roles, label: row.label } : null;
}

export async function revokeApiToken(sql: Sql, tokenId: string, at: Date): Promise<boolean> {
  const result = await sql.query(
    'UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
    [tokenId, at],
  );
  return (result.rowCount ?? 0) > 0;
}
