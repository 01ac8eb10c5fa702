import { GatewayError } from '../../errors/index.ts';

/** The payer directory or its PA rules cannot answer (invalid file, unknown payer, no rule version in effect). */
export class PayerRulesError extends GatewayError {}
