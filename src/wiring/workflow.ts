/**
 * Wires the workflow: payer directory and PA rules (payers/), clinic settings (tenants/), the payer connectors,
 * the case-outbound planner, and the workers that advance cases and watch SLAs. Used by src/gateway.ts.
 */
import path from 'node:path';
import type { PayerChannel, PayerTarget } from '../../connectors/payer-connector.ts';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { createX12Connector, x12PayerTarget } from '../../connectors/x12/connector.ts';
import { createX12Store } from '../../connectors/x12/store.ts';
import { appendAudit } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/load-config.ts';
import type { Logger } from '../log/logger.ts';
import { type CaseOutboundPlanner, createCaseOutboundPlanner } from '../outbound/planner.ts';
import { loadTenantDirectory, type TenantDirectory } from '../outbound/tenant-loader.ts';
import type { Database } from '../store/index.ts';
import type { TimerHandler } from '../store/timers.ts';
import { createCaseAdvancer, SLA_CHECK, WORKFLOW_ADVANCE } from '../workers/case-advancer.ts';
import type { StepKind } from '../workers/step-worker.ts';
import { routeRequest } from '../workflow/routing.ts';
import type { PayerDirectory, PayerFile } from '../workflow/rules/index.ts';

const repoRoot = path.join(import.meta.dirname, '..', '..');

export interface WorkflowWiring {
  readonly payers: PayerDirectory;
  readonly tenants: TenantDirectory;
  readonly outbound: CaseOutboundPlanner;
  /** Step kinds for the step worker (work outside transactions: payer calls). */
  readonly steps: Record<string, StepKind>;
  /** Timer handlers for the timer worker (work inside the timer's transaction). */
  readonly timers: Record<string, TimerHandler>;
}

/** States in which a case still waits on the payer or a reviewer: an SLA timer firing then is a breach. */
const openStates = new Set(['validated', 'eligibility_checked', 'awaiting_review', 'submitted', 'pended']);

export function wireWorkflow(deps: {
  config: Readonly<GatewayConfig>;
  db: Database;
  clock: Clock;
  logger: Logger;
}): WorkflowWiring {
  const { config, db, clock, logger } = deps;
  const payers = loadPayerDirectory(config.payersDir, {
    clearinghouseEndpoints: config.clearinghouseEndpoints,
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
    },
  });
  const x12 = createX12Connector({
    store: createX12Store(db.pool),
    clock,
    logger,
    directory: payers,
    sender: {
      qualifier: config.x12.senderQualifier,
      id: config.x12.senderId,
      traceOriginator: config.x12.traceOriginator,
    },
  });
  const targets: Partial<Record<PayerChannel, (payer: PayerFile) => PayerTarget>> = { x12: x12PayerTarget };
  const advancer = createCaseAdvancer({
    db,
    clock,
    logger,
    route: (record, at) => routeRequest(record.request, { directory: payers, targets }, at),
    connectors: { x12 },
    outbound,
  });

  const slaCheck: TimerHandler = async (tx, timer) => {
    if (!timer.caseId) return;
    const { rows } = await tx.query<{ state: string; sla_due_at: Date | null }>(
      'SELECT state, sla_due_at FROM cases WHERE tenant_id = $1 AND id = $2',
      [timer.tenant, timer.caseId],
    );
    const row = rows[0];
    if (!row || !openStates.has(row.state)) return;
    logger.warn({ caseId: timer.caseId, state: row.state, slaDueAt: row.sla_due_at }, 'case SLA breached');
    await appendAudit(tx, {
      tenant: timer.tenant,
      actor: { id: 'system:sla-watch' },
      action: 'case.sla_breached',
      caseId: timer.caseId,
      details: { state: row.state, slaDueAt: row.sla_due_at?.toISOString() ?? null },
      at: clock.now(),
    });
  };

  return {
    payers,
    tenants,
    outbound,
    steps: { [WORKFLOW_ADVANCE]: advancer },
    timers: { [SLA_CHECK]: slaCheck },
  };
}
