/**
 * The portal robot as a PayerConnector: it signs in to the payer's web portal with the tenant's vault secrets and a
 * TOTP code generated inside the vault, fills the PA form from the canonical request (with an attachment), reads
 * the confirmation number, and later reads the status page on the payer's schedule until the payer decides. For a
 * request the portal holds, ./follow-ups.ts uploads the documents the payer asked for, changes the request after
 * the EHR changed the order and withdraws it after the EHR cancelled it (the recipe's upload, update and cancel flows).
 *
 * Safety rules, as in the X12 connector:
 * 1. An answered submission returns its stored outcome: nothing is sent again.
 * 2. A submission whose fate is open (recorded, then the run broke off — a crash, a kill, a lost page) is
 *    reconciled by SEARCHING the portal for the case's trace number (typed as "your reference") before anything
 *    is sent again: found, its confirmation is taken; not found, a new submission may go.
 * 3. The attempt is recorded (committed) in payer_submissions just before the submitting click, never earlier (a
 *    run that fails before it sent nothing) and never later.
 * Failures are typed (login refused, 2FA refused, session expired, page changed with the step and a screenshot,
 * portal down) and never retried silently here: the workflow decides (retriable ones back off; others make the
 * case an exception a person sees and retries).
 *
 * This file assembles the connector; its parts live beside it: connector-options.ts (options, channel defaults),
 * runs.ts (the channel and recipe, one browser session, the search that reconciles, the records), submission.ts
 * (submit, inquire, reconcile: rules 1 to 3) and follow-ups.ts (update, sendAttachments, cancel).
 */
import type { PayerConnector, PayerTarget } from '../../src/workflow/ports/payer-connector.ts';
import { PayerRulesError } from '../../src/workflow/rules/errors.ts';
import type { PayerFile } from '../../src/workflow/rules/types.generated.ts';
import { isPortalChannel, type PortalConnectorOptions } from './connector-options.ts';
import { PortalError } from './errors.ts';
import { createFollowUps } from './follow-ups.ts';
import { createPortalRuns } from './runs.ts';
import { createPortalSubmission } from './submission.ts';

export { isPortalChannel, type PortalConnectorOptions } from './connector-options.ts';

export interface PortalConnector extends PayerConnector {
  /** Why the portal channel cannot take a case for this payer now (no recipe, browser missing, portal down). */
  unavailable(
    payer: PayerTarget,
  ): { reason: 'not_configured' | 'browser_missing' | 'portal_down'; detail?: string } | undefined;
}

/** The call target for a payer's portal channel. */
export function portalPayerTarget(payer: PayerFile): PayerTarget {
  const channel = payer.channels.find((c) => c.type === 'portal');
  if (!channel) throw new PayerRulesError('PAGW_PAYER_NO_CHANNEL', `Payer ${payer.id} has no portal channel`);
  return {
    id: payer.id,
    name: payer.name,
    settings: channel as unknown as Readonly<Record<string, unknown>>,
  };
}

export function createPortalConnector(options: PortalConnectorOptions): PortalConnector {
  const { clock } = options;
  const downUntil = new Map<string, number>();
  const runs = createPortalRuns(options, downUntil);

  return {
    channel: 'portal',

    unavailable(payer) {
      if (isPortalChannel(payer.settings)) {
        const id = payer.settings.recipe ?? payer.id;
        if (!options.recipes.get(id))
          return {
            reason: 'not_configured',
            detail: `payer ${payer.id} names portal recipe ${id}, which does not exist`,
          };
      }
      if (!options.browsers.installed()) return { reason: 'browser_missing' };
      const until = downUntil.get(payer.id);
      return until !== undefined && until > clock.now().getTime() ? { reason: 'portal_down' } : undefined;
    },

    canSendAttachments(payer) {
      if (!isPortalChannel(payer.settings)) return false;
      return Boolean(options.recipes.get(payer.settings.recipe ?? payer.id)?.flows.upload);
    },

    async checkEligibility() {
      throw new PortalError('PAGW_PORTAL_UNSUPPORTED', 'The portal channel answers no eligibility inquiries');
    },

    ...createPortalSubmission(runs),

    // A changed order, the documents a pended request waits for and a cancelled order, by the recipe's update, upload
    // and cancel flows (a recipe without the flow: PAGW_PORTAL_UNSUPPORTED, a person does it).
    ...createFollowUps(runs),
  };
}
