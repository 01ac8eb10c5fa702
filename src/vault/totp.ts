/**
 * TOTP seeds (RFC 6238) as the vault stores them, and codes from them through otplib. A seed arrives as base32
 * or as the `otpauth://totp/…?secret=…` URI a portal's enrolment QR code holds; it is stored normalized and only
 * ever leaves the vault as a 6–8 digit code for the one step that types it.
 */
import { createGuardrails, generate, type HashAlgorithm } from 'otplib';
import { VaultError } from './errors.ts';

export interface TotpSeed {
  readonly secret: string;
  readonly digits: 6 | 7 | 8;
  readonly period: number;
  readonly algorithm: HashAlgorithm;
}

/** 80-bit seeds (16 base32 characters) are what most authenticator enrolments hand out; RFC 4226 asks for 128. */
const MIN_SEED_BYTES = 10;
const guardrails = createGuardrails({ MIN_SECRET_BYTES: MIN_SEED_BYTES });

function invalid(why: string): never {
  throw new VaultError('PAGW_VAULT_VALUE_INVALID', `The TOTP seed ${why}`);
}

/** Reads a seed from base32 text or an otpauth:// URI; the error never quotes the input. */
export function parseTotpSeed(input: string): TotpSeed {
  const text = input.trim();
  let secret = text;
  let digits = 6;
  let period = 30;
  let algorithm = 'sha1';
  if (/^otpauth:/i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return invalid('URI cannot be read');
    }
    if (url.host.toLowerCase() !== 'totp') invalid('URI is not a totp URI (otpauth://totp/…)');
    secret = url.searchParams.get('secret') ?? invalid('URI has no secret parameter');
    digits = Number(url.searchParams.get('digits') ?? 6);
    period = Number(url.searchParams.get('period') ?? 30);
    algorithm = (url.searchParams.get('algorithm') ?? 'SHA1').toLowerCase();
  }
  secret = secret.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  if (!/^[A-Z2-7]+$/.test(secret)) invalid('is not base32 (letters A–Z and digits 2–7)');
  if (Math.floor((secret.length * 5) / 8) < MIN_SEED_BYTES)
    invalid(
      `is shorter than ${MIN_SEED_BYTES} bytes (${Math.ceil((MIN_SEED_BYTES * 8) / 5)} base32 characters)`,
    );
  if (digits !== 6 && digits !== 7 && digits !== 8) invalid('asks for a digit count other than 6, 7 or 8');
  if (!Number.isInteger(period) || period < 15 || period > 120) invalid('asks for a period outside 15–120 s');
  if (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512')
    invalid('asks for an algorithm other than SHA1, SHA256 or SHA512');
  return { secret, digits, period, algorithm };
}

export function totpCode(seed: TotpSeed, at: Date): Promise<string> {
  return generate({
    secret: seed.secret,
    digits: seed.digits,
    period: seed.period,
    algorithm: seed.algorithm,
    epoch: Math.floor(at.getTime() / 1000),
    guardrails,
  });
}
