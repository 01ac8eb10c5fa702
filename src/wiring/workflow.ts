/**
 * Wires the workflow: payer directory and PA rules (payers/), clinic settings (tenants/), the payer connectors,
 * the case-outbound planner, and the workers that advance cases and watch SLAs. Used by src/gateway.ts.
 */

import path from 'node:path';
import { createPasConnector, pasPayerTarget } from '../../connectors/pas/connector.ts';
import { createPayerSubscriptionStore } from '../../connectors/pas/subscriptions.ts';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { createBrowserPool } from '../../connectors/portal/browser.ts';
import { createPortalConnector, portalPayerTarget } from '../../connectors/portal/connector.ts';
import { loadRecipes } from '../../connectors/portal/recipes.ts';
import { createX12Connector, x12PayerTarget } from '../../connectors/x12/connector.ts';
import { createX12Store } from '../../connectors/x12/store.ts';
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/load-config.ts';
import { createSlaHandlers } from '../exceptions/sla-watch.ts';
import { createAdvancerExceptions } from '../exceptions/transition-tasks.ts';
import type { Logger } from '../log/logger.ts';
import type { Notifier } from '../outbound/email/notifier.ts';
import { type CaseOutboundPlanner, createCaseOutboundPlanner } from '../outbound/planner.ts';
import { createTaskOutboundPlanner, type TaskOutboundPlanner } from '../outbound/tasks/task-outbound.ts';
import { loadTenantDirectory, type TenantDirectory } from '../outbound/tenant-loader.ts';
import { HeldWrites } from '../store/held-writes.ts';
import { type CaseRecord, type Database, REVIEW_EXPIRE } from '../store/index.ts';
import type { TimerHandler } from '../store/timers.ts';
import type { Vault } from '../vault/vault.ts';
import { createCaseAdvancer, WORKFLOW_ADVANCE } from '../workers/case-advancer.ts';
import { type ConnectorRegistry, createChannelSelector } from '../workers/channel-selector.ts';
import { createPayerLimits, limitConnector, type PayerLimits } from '../workers/payer-limits.ts';
import { createReviewExpiryHandler } from '../workers/review-expiry.ts';
import type { StepKind } from '../workers/step-worker.ts';
import type { Routing } from '../workflow/case-workflow.ts';
import { draftConfidenceOf, withPharmacistSignOff } from '../workflow/pharmacy/sign-off.ts';
import type { PayerChannel, PayerConnector, PayerTarget } from '../workflow/ports/payer-connector.ts';
import { deriveFacts } from '../workflow/review/facts.ts';
import type { GateSpec } from '../workflow/review/gate.ts';
import { planGate } from '../workflow/review/policies.ts';
import type { ReviewPolicyDirectory } from '../workflow/review/policy-directory.ts';
import { submissionKeyFor } from '../workflow/review/submission-key.ts';
import { routeRequest } from '../workflow/routing.ts';
import type { PayerDirectory, PayerFile } from '../workflow/rules/index.ts';
import { defaultWarnAtFractions } from '../workflow/tasks/sla.ts';
import { loadReviewPolicies } from './review-policies.ts';

const repoRoot = path.join(import.meta.dirname, '..', '..');

export interface WorkflowWiring {
  readonly payers: PayerDirectory;
  readonly tenants: TenantDirectory;
  readonly outbound: CaseOutboundPlanner;
  /** Channels with a connector here. */
  readonly channels: readonly PayerChannel[];
  /** Events of exception-queue task changes (task.v1, FHIR Task and HL7 v2 to the provider, care-team e-mail). */
  readonly taskOutbound: TaskOutboundPlanner;
  /** Step kinds for the step worker (work outside transactions: payer calls). */
  readonly steps: Record<string, StepKind>;
  /** Timer handlers for the timer worker (work inside the timer's transaction). */
  readonly timers: Record<string, TimerHandler>;
  /** The submission key of a case as it stands, with the payer the directory routes it to (review gate). */
  keyFor(record: CaseRecord): string;
  /** The gate an edited request needs (a reviewer's requested changes), or null. */
  regate(record: CaseRecord, key: string, at: Date): GateSpec | null;
  readonly reviewPolicies: ReviewPolicyDirectory;
  /** The payer connectors by channel (the PAS server answers EHRs through the same ones). */
  readonly connectors: Partial<Record<PayerChannel, PayerConnector>>;
  /** Calls in flight and waiting per payer and channel (src/workers/payer-limits.ts). */
  readonly payerLimits: PayerLimits;
  /** Releases what the connectors hold (the portal robot's browser). */
  close(): Promise<void>;
}

export function wireWorkflow(deps: {
  config: Readonly<GatewayConfig>;
  db: Database;
  clock: Clock;
  logger: Logger;
  /** Secrets for the connectors (clearinghouse login, portal login, TOTP, the PAS client key) and PHI sealing. */
  vault: Vault;
  /** The gateway's URL as payers reach it (PAS notifications), known once the HTTP server listens. */
  publicUrl?: () => string | undefined;
  /** The SMTP notifier, once built (after the workflow, with its vault login): appeals by e-mail go through it. */
  notifier?: () => Notifier | undefined;
}): WorkflowWiring {
  const { config, db, clock, logger } = deps;
  const payers = loadPayerDirectory(config.payersDir, {
    clearinghouseEndpoints: config.clearinghouseEndpoints,
    portalUrls: config.portalUrls,
  });
  const tenants = loadTenantDirectory(config.tenantsDir ?? path.join(repoRoot, 'tenants'));
  const outbound = createCaseOutboundPlanner({
    tenants,
    payers,
    topics: {
      claimResponse: config.topics.claimResponse,
      status: config.topics.status,
      // Without an SMTP server no e-mail job is written at all.
      ...(config.smtp ? { notifications: config.topics.notifications } : {}),
      pharmacyWriteBack: config.topics.pharmacyWriteBack ?? 'pa.pharmacy.writeback.v1',
    },
  });
  const taskOutbound = createTaskOutboundPlanner({
    tenants,
    topics: {
      tasks: config.topics.tasks,
      ehrTasks: config.topics.ehrTasks,
      ...(config.smtp ? { notifications: config.topics.notifications } : {}),
    },
  });
  // One submissions log for every channel (payer_submissions): the one-live-submission rule spans channels. The
  // record of a payer's answer goes with the step's own transaction (src/store/held-writes.ts).
  const heldWrites = new HeldWrites();
  const store = createX12Store(db.pool, { phi: deps.vault.phi, held: heldWrites });
  const x12 = createX12Connector({
    store,
    clock,
    logger,
    directory: payers,
    secrets: deps.vault,
    sender: {
      qualifier: config.x12.senderQualifier,
      id: config.x12.senderId,
      traceOriginator: config.x12.traceOriginator,
    },
  });
  const pas = createPasConnector({
    // One store for payer submissions whatever the channel: PAS payloads are sealed like X12 ones.
    store,
    clock,
    logger,
    directory: payers,
    secrets: deps.vault,
    subscriptions: createPayerSubscriptionStore(db.pool),
    notificationUrl: (payerId) => {
      const base = config.pas?.publicUrl ?? deps.publicUrl?.();
      return base
        ? `${base.replace(/\/+$/, '')}/pas/notifications/${encodeURIComponent(payerId)}`
        : undefined;
    },
  });
  const recipes = loadRecipes(config.portal.recipesDir);
  // A portal channel naming no existing recipe is not configured: said at start, and its cases fall back.
  for (const payer of payers.payers)
    for (const channel of payer.channels)
      if (channel.type === 'portal' && !recipes.get(channel.recipe ?? payer.id))
        logger.warn(
          { payerId: payer.id, recipe: channel.recipe ?? payer.id },
          'portal channel names a recipe that does not exist: the channel is not configured',
        );
  const browsers = createBrowserPool({ executablePath: config.portal.executablePath, logger });
  const portal = createPortalConnector({
    store,
    pool: db.pool,
    phi: deps.vault.phi,
    secrets: deps.vault,
    recipes,
    browsers,
    clock,
    logger,
  });
  // The connector registry: each channel's connector, how it addresses a payer, and why it cannot take work now.
  // Channel choice and fallback (src/workers/channel-step.ts) use it for every channel alike.
  const registry: ConnectorRegistry = {
    x12: {
      connector: x12,
      target: x12PayerTarget,
      unavailable: (payer) =>
        x12.breakerState(payer.id) === 'open' ? { reason: 'circuit_open' } : undefined,
    },
    pas: { connector: pas, target: pasPayerTarget },
    portal: {
      connector: portal,
      target: portalPayerTarget,
      unavailable: (payer) => portal.unavailable(payer),
    },
  };
  const targets: Partial<Record<PayerChannel, (payer: PayerFile) => PayerTarget>> = Object.fromEntries(
    Object.entries(registry).map(([channel, r]) => [channel, r.target]),
  );
  // Every payer call, whatever the channel, under its payer's limit on that channel (maxInFlight, payers/).
  const payerLimits = createPayerLimits();
  const connectors: Partial<Record<PayerChannel, PayerConnector>> = Object.fromEntries(
    Object.entries(registry).map(([channel, r]) => [
      channel,
      limitConnector(r.connector, channel as PayerChannel, payerLimits),
    ]),
  );
  const reviewPolicies = loadReviewPolicies(
    config.reviewPoliciesDir ?? path.join(repoRoot, 'review-policies'),
  );
  const route = (record: CaseRecord, at: Date) =>
    routeRequest(record.request, { directory: payers, targets }, at);
  const gateFor = (
    record: CaseRecord,
    routing: Extract<Routing, { kind: 'routed' }>,
    key: string,
    at: Date,
  ) => {
    const draftConfidence = draftConfidenceOf(record.request);
    const gate = planGate({
      policies: reviewPolicies.policiesFor(record.tenant),
      facts: deriveFacts({
        request: record.request,
        tables: reviewPolicies.tables,
        payerId: routing.payer.id,
        ruleVersion: routing.ruleVersion,
        ...(routing.estimatedCost ? { estimatedCost: routing.estimatedCost.amount } : {}),
        ...(draftConfidence !== undefined ? { draftConfidence } : {}),
      }),
      payerRuleReview: routing.reviewRequired,
      ...(routing.ruleId ? { payerRuleId: routing.ruleId } : {}),
      submissionKey: key,
      at,
    });
    // A request drafted from a pharmacy flag always waits for a pharmacist (src/workflow/pharmacy/sign-off.ts).
    return withPharmacistSignOff(gate, record.request, key);
  };
  // The exception queue, shared by the advancer and the review-expiry timer (tasks follow their transitions).
  const exceptions = createAdvancerExceptions({
    db,
    phi: deps.vault.phi,
    outbound,
    taskOutbound,
    warnAtFractions: config.sla?.warnAtFractions ?? defaultWarnAtFractions,
    appealMail: { tenants, notifier: () => deps.notifier?.() },
  });
  const advancer = createCaseAdvancer({
    db,
    clock,
    logger,
    route,
    connectors,
    selector: createChannelSelector({
      pool: db.pool,
      registry,
      missingSecrets: (tenant, names) => deps.vault.missing(tenant, names),
    }),
    outbound,
    gateFor,
    exceptions,
    heldWrites,
  });
  /** The gate an edited request needs: routed and evaluated again (its cost or class may have changed). */
  const regate = (record: CaseRecord, key: string, at: Date) => {
    const routing = route(record, at);
    return routing.kind === 'routed' ? gateFor(record, routing, key, at) : null;
  };

  const keyFor = (record: CaseRecord) =>
    submissionKeyFor(
      record.request,
      record.payerId ?? payers.find(record.request.coverage)?.id ?? record.request.coverage.payerId,
    );

  return {
    payers,
    tenants,
    outbound,
    taskOutbound,
    keyFor,
    regate,
    reviewPolicies,
    channels: Object.keys(registry) as PayerChannel[],
    steps: { [WORKFLOW_ADVANCE]: advancer },
    timers: {
      // SLA warnings and breach (CMS-0057-F clocks, started when the payer pends a case).
      ...createSlaHandlers({
        clock,
        logger,
        outbound,
        taskOutbound,
        warnAtFractions: config.sla?.warnAtFractions ?? defaultWarnAtFractions,
      }),
      [REVIEW_EXPIRE]: createReviewExpiryHandler({ clock, logger, outbound, exceptions }),
    },
    connectors,
    payerLimits,
    close: () => browsers.close(),
  };
}
