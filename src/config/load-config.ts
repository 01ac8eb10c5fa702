/**
 * Loads the gateway configuration once: schema defaults, then an optional JSON file, then environment
 * variables with names a user can guess. Every bad value gets its own message naming where it came from.
 * This is the only module that reads the environment; everything else receives the frozen result.
 */
import { readFileSync } from 'node:fs';
import configSchema from '../../schemas/config.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../canonical/schema-validator.ts';
import { ConfigError, type Problem } from '../errors/index.ts';
import type { GatewayConfig } from './types.generated.ts';

export type { GatewayConfig } from './types.generated.ts';

const ajv = createAjv([configSchema], { useDefaults: true });
const validateConfig = ajv.getSchema(configSchema.$id)!;

type Env = Record<string, string | undefined>;

/** Env var → config path, and how to read its text. */
const envBindings: ReadonlyArray<{ name: string; path: string[]; read: (raw: string) => unknown }> = [
  { name: 'PORT', path: ['port'], read: readInteger },
  { name: 'HOST', path: ['host'], read: String },
  { name: 'DATA_DIR', path: ['dataDir'], read: String },
  { name: 'DATABASE_URL', path: ['databaseUrl'], read: String },
  { name: 'LOG_LEVEL', path: ['logLevel'], read: (raw) => raw.toLowerCase() },
  {
    name: 'KAFKA_BROKERS',
    path: ['kafka', 'brokers'],
    read: (raw) =>
      raw
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
  },
  { name: 'KAFKA_CLIENT_ID', path: ['kafka', 'clientId'], read: String },
  { name: 'KAFKA_TOPIC_PREFIX', path: ['kafka', 'topicPrefix'], read: String },
  { name: 'KAFKA_SSL', path: ['kafka', 'ssl'], read: readBoolean },
  { name: 'KAFKA_SASL_MECHANISM', path: ['kafka', 'sasl', 'mechanism'], read: (raw) => raw.toLowerCase() },
  { name: 'KAFKA_SASL_USERNAME', path: ['kafka', 'sasl', 'username'], read: String },
  { name: 'KAFKA_SASL_PASSWORD', path: ['kafka', 'sasl', 'password'], read: String },
  { name: 'MLLP_PORT', path: ['mllp', 'port'], read: readInteger },
  { name: 'MLLP_HOST', path: ['mllp', 'host'], read: String },
  { name: 'MLLP_TENANT', path: ['mllp', 'tenant'], read: String },
  { name: 'POLL_INTERVAL_MS', path: ['workers', 'pollIntervalMs'], read: readInteger },
  { name: 'STEP_LEASE_MS', path: ['workers', 'stepLeaseMs'], read: readInteger },
  { name: 'PAYERS_DIR', path: ['payersDir'], read: String },
  { name: 'TENANTS_DIR', path: ['tenantsDir'], read: String },
  { name: 'CLEARINGHOUSE_ENDPOINTS', path: ['clearinghouseEndpoints'], read: readNameValueList },
  { name: 'X12_SENDER_QUALIFIER', path: ['x12', 'senderQualifier'], read: String },
  { name: 'X12_SENDER_ID', path: ['x12', 'senderId'], read: String },
  { name: 'X12_TRACE_ORIGINATOR', path: ['x12', 'traceOriginator'], read: String },
  { name: 'SMTP_HOST', path: ['smtp', 'host'], read: String },
  { name: 'SMTP_PORT', path: ['smtp', 'port'], read: readInteger },
  { name: 'SMTP_SECURE', path: ['smtp', 'secure'], read: readBoolean },
  { name: 'SMTP_USERNAME', path: ['smtp', 'username'], read: String },
  { name: 'SMTP_PASSWORD', path: ['smtp', 'password'], read: String },
];

/** `name=value,name=value` → { name: value }; a malformed item stays as text for the schema to reject. */
function readNameValueList(raw: string): unknown {
  const result: Record<string, string> = {};
  for (const item of raw
    .split(',')
    .map((i) => i.trim())
    .filter(Boolean)) {
    const at = item.indexOf('=');
    if (at <= 0) return raw;
    result[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return result;
}

function readInteger(raw: string): unknown {
  return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
}

function readBoolean(raw: string): unknown {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export interface LoadConfigOptions {
  env?: Env;
  /** Path of a JSON config file; defaults to env PAGW_CONFIG. */
  file?: string;
  /** Values from command-line flags; they win over everything else. */
  overrides?: Partial<GatewayConfig>;
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<GatewayConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.PAGW_CONFIG;
  const problems: Problem[] = [];
  let candidate: Record<string, unknown> = {};
  const origin = new Map<string, string>();

  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push({ location: file, message: 'the config file must hold a JSON object' });
      } else {
        candidate = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push({ location: file, message: `cannot read the config file: ${(error as Error).message}` });
    }
  }
  for (const binding of envBindings) {
    const raw = env[binding.name];
    if (raw === undefined || raw === '') continue;
    setPath(candidate, binding.path, binding.read(raw));
    origin.set(`$.${binding.path.join('.')}`, binding.name);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) candidate[key] = value;
  }

  if (problems.length === 0 && !validateConfig(candidate)) {
    for (const problem of ajvErrorsToProblems(validateConfig.errors)) {
      const envName = [...origin].find(
        ([path]) => problem.location === path || problem.location.startsWith(`${path}[`),
      )?.[1];
      problems.push({
        location: envName ? `${envName} (env)` : file ? `${problem.location} (in ${file})` : problem.location,
        message: problem.message,
      });
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      'PAGW_CONFIG_INVALID',
      `Invalid configuration:\n${problems.map((p) => `  - ${p.location}: ${p.message}`).join('\n')}`,
      { problems },
    );
  }
  return deepFreeze(candidate as unknown as GatewayConfig);
}
