/**
 * Bearer-token authentication: every endpoint but the health probes needs a token, which names one tenant
 * and its roles. Handlers read the principal from res.locals and scope every query to its tenant.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../audit/audit-log.ts';
import { AuthError } from '../errors/index.ts';
import { type ApiRole, findTokenPrincipal, type Sql, type TokenPrincipal } from '../store/index.ts';

export interface AuthLocals {
  principal: TokenPrincipal;
}

export function principalOf(res: Response): TokenPrincipal {
  return (res.locals as AuthLocals).principal;
}

export function authenticate(sql: Sql) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="pa-gateway"');
      throw new AuthError('PAGW_AUTH_MISSING', 'A bearer token is required (Authorization: Bearer <token>)');
    }
    const principal = await findTokenPrincipal(sql, match[1]!);
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="pa-gateway", error="invalid_token"');
      throw new AuthError('PAGW_AUTH_INVALID', 'The bearer token is unknown or revoked');
    }
    (res.locals as AuthLocals).principal = principal;
    next();
  };
}

/**
 * The audit actor for a request: the named person when the token was issued to one (`user:<id>`), else the
 * token (`token:<id>(<label>)`). Always acting for the token's tenant: on whose behalf is never taken from a
 * header the caller could set to anything (the delegation chain in the audit says the rest).
 */
export function actorOf(principal: TokenPrincipal): Actor {
  return {
    id: principal.userId
      ? `user:${principal.userId}`
      : `token:${principal.tokenId}${principal.label ? `(${principal.label})` : ''}`,
    onBehalfOf: `tenant:${principal.tenant}`,
  };
}

/** Allows the request when the token holds any of `roles` (admin holds every role). */
export function requireRole(...roles: ApiRole[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const principal = principalOf(res);
    if (principal.roles.includes('admin') || principal.roles.some((role) => roles.includes(role))) {
      next();
      return;
    }
    throw new AuthError('PAGW_AUTH_FORBIDDEN', `This action needs one of the roles: ${roles.join(', ')}`);
  };
}
