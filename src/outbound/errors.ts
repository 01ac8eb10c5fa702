import { GatewayError } from '../errors/index.ts';

/** A ClaimResponse, status event, HL7 v2 status message or e-mail could not be built: nothing is published. */
export class OutboundBuildError extends GatewayError {}

/** Delivering a notification (e-mail over SMTP) failed; `retriable` says whether trying again can help. */
export class NotifyError extends GatewayError {}
