/**
 * The vault's admin API: write-only to people. Admin role, the token's own tenant, every change audited.
 *
 *   GET    /vault/secrets           names and metadata of the tenant's secrets (never a value)
 *   PUT    /vault/secrets/<name>    { value, kind?: "value" | "totp" } → a new version; answers its metadata
 *   DELETE /vault/secrets/<name>    deletes every version
 *   POST   /vault/rotate            re-wraps the tenant's data keys under the current master key
 *
 * No route returns a value: a secret goes in, metadata comes out (test/integration/vault-api.test.ts checks every
 * route). Names are paths (`portal/sim-health/password`), so they take the rest of the URL.
 */
import { Router } from 'express';
import { principalOf, requireRole } from '../api/auth.ts';
import { GatewayError } from '../errors/index.ts';
import type { SecretKind, SecretMetadata, Vault } from './vault.ts';

function nameOf(params: Record<string, unknown>): string {
  const parts = params.name;
  return Array.isArray(parts) ? parts.join('/') : String(parts ?? '');
}

function view(meta: SecretMetadata) {
  return {
    name: meta.name,
    kind: meta.kind,
    version: meta.version,
    versions: meta.versions,
    createdAt: meta.createdAt,
    createdBy: meta.createdBy,
    masterKeyId: meta.masterKeyId,
  };
}

export function vaultRouter(deps: { vault: Vault }): Router {
  const router = Router();
  const admin = requireRole('admin');
  const actorOf = (res: Parameters<typeof principalOf>[0]) => {
    const principal = principalOf(res);
    return {
      id: `token:${principal.tokenId}${principal.label ? `(${principal.label})` : ''}`,
      onBehalfOf: `tenant:${principal.tenant}`,
    };
  };

  router.get('/vault/secrets', admin, async (_req, res) => {
    const items = await deps.vault.list(principalOf(res).tenant);
    res.setHeader('cache-control', 'no-store');
    res.json({ items: items.map(view) });
  });

  router.put('/vault/secrets/*name', admin, async (req, res) => {
    const body = (req.body ?? {}) as { value?: unknown; kind?: unknown };
    if (typeof body.value !== 'string') {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'value must be a string', {
        problems: [{ location: 'value', message: 'must be a string' }],
      });
    }
    const kind = body.kind ?? 'value';
    if (kind !== 'value' && kind !== 'totp') {
      throw new GatewayError('PAGW_HTTP_BAD_REQUEST', 'kind must be value or totp', {
        problems: [{ location: 'kind', message: 'must be value or totp' }],
      });
    }
    const meta = await deps.vault.set({
      tenant: principalOf(res).tenant,
      name: nameOf(req.params),
      value: body.value,
      kind: kind as SecretKind,
      actor: actorOf(res),
    });
    res.status(201).setHeader('cache-control', 'no-store');
    res.json(view(meta));
  });

  router.delete('/vault/secrets/*name', admin, async (req, res) => {
    const name = nameOf(req.params);
    const deleted = await deps.vault.delete({ tenant: principalOf(res).tenant, name, actor: actorOf(res) });
    if (!deleted)
      throw new GatewayError('PAGW_VAULT_SECRET_MISSING', `No secret vault:${name} for this tenant`);
    res.status(204).end();
  });

  router.post('/vault/rotate', admin, async (_req, res) => {
    const result = await deps.vault.rotate({ actor: actorOf(res), tenant: principalOf(res).tenant });
    res.json(result);
  });

  return router;
}
