/** The outbound layer: what the gateway tells EHRs, ERP/scheduling and care teams about a case. See README.md. */
export {
  type DirectoryFee,
  type LineView,
  type OutboundCase,
  type PayerInfo,
  payerInfoFromDirectory,
} from './case-view.ts';
export { buildClaimResponse, type ClaimResponseInput } from './claim-response.ts';
export { createEmailDeliveryHandler } from './email/delivery.ts';
export type { Notifier, NotifyResult } from './email/notifier.ts';
export {
  caseEmailJob,
  type EmailJob,
  type EmailKind,
  type EmailTemplate,
  emailKindFor,
  emailTemplates,
  type Mailbox,
  type PhiField,
  type RenderCaseEmailInput,
  type RenderedEmail,
  renderCaseEmail,
} from './email/render.ts';
// The SMTP adapter (./email/smtp-notifier.ts, nodemailer) is imported where SMTP is configured, not from here.
export { NotifyError, OutboundBuildError } from './errors.ts';
export { r4Problems } from './fhir-r4.ts';
export {
  buildHl7StatusMessage,
  defaultHl7StatusMapping,
  escapeHl7,
  type Hl7StatusInput,
  type Hl7StatusMessage,
} from './hl7-status.ts';
export { outboundEventId } from './ids.ts';
export {
  createMllpForwardHandler,
  exchangeMllp,
  type MllpAck,
  MllpDeliveryError,
  type MllpSendOptions,
  mllpDestination,
  sendMllp,
} from './mllp-forwarder.ts';
export {
  OutboundHeader,
  type OutboundInput,
  type OutboundPlan,
  type OutboundTopics,
  outboundFor,
} from './outbound.ts';
export {
  claimTraceIdentifier,
  DATA_ABSENT_REASON,
  itemTraceIdentifiers,
  PAS_SD,
  PasExtension,
  pasCoding,
  pasServiceSystems,
  X12System,
} from './pas-codes.ts';
export {
  buildPasResponseBundle,
  type PasResponseBundleInput,
  pendingDecision,
} from './pas-response-bundle.ts';
export {
  buildStatusEvent,
  type CaseStatusEvent,
  type StatusEventInput,
  statusEventSchema,
} from './status-event.ts';
export { bareTenantSettings, parseTenantSettings, type TenantSettings } from './tenant.ts';
export { loadTenantDirectory, type TenantDirectory } from './tenant-loader.ts';
export { caseAfterTransition } from './transition.ts';
