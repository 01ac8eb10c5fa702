import type { ErrorCodeSpec } from './spec.ts';

/**
 * Codes of the portal robot (connectors/portal) and of channel choice. Document each one in docs/errors/portal.md.
 * A failure names the recipe, flow and step (and the evidence screenshot), never a typed value.
 */
export const portalErrorCodes = {
  PAGW_PORTAL_LOGIN_REFUSED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The portal refused the stored username and password. Fix the vault secret, then retry the case.',
  },
  PAGW_PORTAL_2FA_REFUSED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The portal refused the TOTP code generated from the stored seed (wrong seed, or the clock is off). Fix the seed, then retry.',
  },
  PAGW_PORTAL_SESSION_EXPIRED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'The portal ended the session in the middle of a flow. Nothing was submitted unless the failure says so; retry the case.',
  },
  PAGW_PORTAL_PAGE_CHANGED: {
    httpStatus: 502,
    retriable: false,
    summary:
      'A recipe step found no element it expected (the portal changed its pages); the problems name the recipe, flow and step, and a screenshot is kept as evidence. Update the recipe, then retry.',
  },
  PAGW_PORTAL_DOWN: {
    httpStatus: 503,
    retriable: true,
    summary: 'The portal could not be reached or answered 5xx / a maintenance page.',
  },
  PAGW_PORTAL_RATE_LIMITED: {
    httpStatus: 503,
    retriable: true,
    summary: 'The portal answered 429 or a too-many-requests page; retried after a backoff.',
  },
  PAGW_PORTAL_FORM_REFUSED: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The portal refused the filled-in request form (a required field it wants that the request lacks).',
  },
  PAGW_PORTAL_SUBMISSION_UNCONFIRMED: {
    httpStatus: 504,
    retriable: true,
    summary:
      'The request was sent but no confirmation number was seen: the payer may hold it. The next attempt searches the portal for the case before anything is sent again.',
  },
  PAGW_PORTAL_BROWSER_UNAVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary: 'The headless browser could not be started or died during a run (restarted on the next run).',
  },
  PAGW_PORTAL_RECIPE_INVALID: {
    httpStatus: 500,
    retriable: false,
    summary:
      'A portal recipe does not satisfy schemas/portal-recipe.json or its flow rules, or a payer names a recipe that does not exist.',
  },
  PAGW_PORTAL_UNSUPPORTED: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The portal channel cannot do this (eligibility inquiries, cancellation; a changed order or documents when the payer’s recipe has no update or upload flow): a person does it.',
  },
  PAGW_PORTAL_REQUEST_NOT_FOUND: {
    httpStatus: 409,
    retriable: false,
    summary:
      'A changed order or documents for the payer, but the portal holds no request of the case (none was confirmed, and a search found none): a person checks the portal.',
  },
  PAGW_PAYER_USE_ANOTHER_CHANNEL: {
    httpStatus: 422,
    retriable: false,
    summary:
      'The payer answered that this request must go through another channel; nothing was accepted, so the workflow falls back.',
  },
  PAGW_CHANNEL_NONE_AVAILABLE: {
    httpStatus: 503,
    retriable: true,
    summary:
      'None of the payer’s channels can take the case now (not configured for the tenant, circuit open, portal down); the failure lists why for each.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;
