/**
 * Wires pharmacy prior authorization (docs/pharmacy.md): the senders registered in tenants/, the PA-flag webhook,
 * the drafting step (patient context from the pharmacy system's FHIR API, drug criteria from criteria/), and the
 * delivery of write-backs to the pharmacy systems' callback URLs. Used by src/gateway.ts.
 */
import type { Router } from 'express';
import { createPharmacyFhirClient } from '../../connectors/pharmacy-fhir/client.ts';
import { pharmacyRequestsRouter } from '../api/pharmacy-routes.ts';
import type { MessageHandler } from '../bus/port.ts';
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/load-config.ts';
import { PHARMACY_DRAFT } from '../inbound/pharmacy/intake.ts';
import { pharmacyWebhookRouter } from '../inbound/pharmacy/routes.ts';
import { createPharmacySenders, type PharmacySenders } from '../inbound/pharmacy/senders.ts';
import type { Logger } from '../log/logger.ts';
import { defaultPharmacyMappings } from '../mapping/pharmacy/registry.ts';
import { createPharmacyCallbackHandler } from '../outbound/pharmacy-callback.ts';
import type { CaseOutboundPlanner } from '../outbound/planner.ts';
import type { TenantDirectory } from '../outbound/tenant-loader.ts';
import type { Database } from '../store/index.ts';
import type { PhiCipher } from '../vault/phi.ts';
import type { SecretReader } from '../vault/port.ts';
import { createPharmacyDrafter } from '../workers/pharmacy-drafter.ts';
import type { StepKind } from '../workers/step-worker.ts';
import type { CriteriaDirectory } from '../workflow/pharmacy/criteria.ts';
import type { PatientContextSource } from '../workflow/ports/patient-context.ts';
import type { PayerDirectory } from '../workflow/rules/index.ts';
import { loadCriteriaDirectory } from './criteria.ts';

export const PHARMACY_WRITEBACK_TOPIC_DEFAULT = 'pa.pharmacy.writeback.v1';

export interface PharmacyWiring {
  readonly senders: PharmacySenders;
  readonly criteria: CriteriaDirectory;
  /** Mounted before bearer-token authentication: the webhook authenticates by its signature. */
  readonly publicRouters: readonly Router[];
  /** Mounted after authentication: GET /pharmacy/requests/:id. */
  readonly routers: readonly Router[];
  /** Step kinds for the step worker (drafting calls the pharmacy system: outside transactions). */
  readonly steps: Record<string, StepKind>;
  /** The write-back topic and its delivery handler (subscribe it when a sender takes write-backs). */
  readonly writeBack: { readonly topic: string; readonly handler: MessageHandler; readonly needed: boolean };
}

export function wirePharmacy(deps: {
  config: Readonly<GatewayConfig>;
  db: Database;
  clock: Clock;
  logger: Logger;
  tenants: TenantDirectory;
  payers: PayerDirectory;
  outbound: CaseOutboundPlanner;
  secrets: SecretReader;
  /** Seals the webhook's raw bytes (the vault's PHI cipher). */
  phi: Pick<PhiCipher, 'seal'>;
  /** The patient context source; the FHIR client over each sender's fhirBaseUrl when absent. */
  context?: PatientContextSource;
  criteriaDir?: string;
}): PharmacyWiring {
  const { config, db, clock, logger } = deps;
  const senders = createPharmacySenders({
    tenants: deps.tenants,
    mappings: defaultPharmacyMappings(),
    ...(config.pharmacyEndpoints ? { endpoints: config.pharmacyEndpoints } : {}),
  });
  const criteria = loadCriteriaDirectory(deps.criteriaDir);
  const context =
    deps.context ??
    createPharmacyFhirClient({
      endpointFor: (tenant, id) => {
        const sender = senders.get(id);
        return sender && sender.tenant === tenant ? sender : undefined;
      },
      secrets: deps.secrets,
    });
  const topic = config.topics.pharmacyWriteBack ?? PHARMACY_WRITEBACK_TOPIC_DEFAULT;
  return {
    senders,
    criteria,
    publicRouters: [
      pharmacyWebhookRouter({
        db,
        clock,
        logger,
        senders,
        secrets: deps.secrets,
        phi: deps.phi,
        deadLetterTopic: config.topics.deadLetter,
      }),
    ],
    routers: [pharmacyRequestsRouter({ db })],
    steps: {
      [PHARMACY_DRAFT]: createPharmacyDrafter({
        db,
        clock,
        logger,
        senders,
        context,
        criteria,
        payers: deps.payers,
        outbound: deps.outbound,
        writeBackTopic: topic,
      }),
    },
    writeBack: {
      topic,
      handler: createPharmacyCallbackHandler({ senders, secrets: deps.secrets, clock, logger }),
      needed: senders.ids.some((id) => senders.get(id)!.callbackUrl !== undefined),
    },
  };
}
