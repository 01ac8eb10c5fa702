import { GatewayError } from '../errors/index.ts';

/** A vault failure: missing secret, tampered or misplaced ciphertext, wrong or missing master key. Fails closed. */
export class VaultError extends GatewayError {}
