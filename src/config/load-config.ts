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
  { name: 'DATABASE_PREPARED_STATEMENTS', path: ['databasePreparedStatements'], read: readBoolean },
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
  { name: 'KAFKA_SESSION_TIMEOUT_MS', path: ['kafka', 'sessionTimeoutMs'], read: readInteger },
  { name: 'KAFKA_SASL_MECHANISM', path: ['kafka', 'sasl', 'mechanism'], read: (raw) => raw.toLowerCase() },
  { name: 'KAFKA_SASL_USERNAME', path: ['kafka', 'sasl', 'username'], read: String },
  { name: 'KAFKA_SASL_PASSWORD', path: ['kafka', 'sasl', 'password'], read: String },
  { name: 'MLLP_PORT', path: ['mllp', 'port'], read: readInteger },
  { name: 'MLLP_HOST', path: ['mllp', 'host'], read: String },
  { name: 'MLLP_TENANT', path: ['mllp', 'tenant'], read: String },
  { name: 'MLLP_MAX_MESSAGE_BYTES', path: ['mllp', 'maxMessageBytes'], read: readInteger },
  { name: 'MLLP_MAX_CONNECTIONS', path: ['mllp', 'maxConnections'], read: readInteger },
  { name: 'MLLP_MAX_CONNECTIONS_PER_PEER', path: ['mllp', 'maxConnectionsPerPeer'], read: readInteger },
  { name: 'MLLP_FRAME_TIMEOUT_MS', path: ['mllp', 'frameTimeoutMs'], read: readInteger },
  { name: 'MLLP_IDLE_TIMEOUT_MS', path: ['mllp', 'idleTimeoutMs'], read: readInteger },
  { name: 'MLLP_TLS_CERT_FILE', path: ['mllp', 'tls', 'certFile'], read: String },
  { name: 'MLLP_TLS_KEY_FILE', path: ['mllp', 'tls', 'keyFile'], read: String },
  { name: 'MLLP_TLS_CA_FILE', path: ['mllp', 'tls', 'caFile'], read: String },
  { name: 'MLLP_TLS_REQUIRE_CLIENT_CERT', path: ['mllp', 'tls', 'requireClientCert'], read: readBoolean },
  { name: 'INBOUND_MAX_MESSAGE_BYTES', path: ['inbound', 'maxMessageBytes'], read: readInteger },
  { name: 'INBOUND_MAX_ORDER_GROUPS', path: ['inbound', 'maxOrderGroups'], read: readInteger },
  { name: 'INBOUND_MAX_FIELD_LENGTH', path: ['inbound', 'maxFieldLength'], read: readInteger },
  { name: 'INBOUND_MAX_FIELD_REPETITIONS', path: ['inbound', 'maxFieldRepetitions'], read: readInteger },
  { name: 'POLL_INTERVAL_MS', path: ['workers', 'pollIntervalMs'], read: readInteger },
  { name: 'STEP_LEASE_MS', path: ['workers', 'stepLeaseMs'], read: readInteger },
  { name: 'INTAKE_MAX_BACKLOG', path: ['workers', 'intakeMaxBacklog'], read: readInteger },
  { name: 'INTAKE_MAX_WAIT_MS', path: ['workers', 'intakeMaxWaitMs'], read: readInteger },
  { name: 'QUEUE_VACUUM_MS', path: ['workers', 'queueVacuumMs'], read: readInteger },
  {
    name: 'SLA_WARN_AT',
    path: ['sla', 'warnAtFractions'],
    read: (raw) =>
      raw
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
        .map((f) => (/^\d*\.?\d+$/.test(f) ? Number(f) : f)),
  },
  { name: 'PAYERS_DIR', path: ['payersDir'], read: String },
  { name: 'PAS_SUBMIT_WAIT_MS', path: ['pas', 'submitWaitMs'], read: readInteger },
  { name: 'PAS_PUBLIC_URL', path: ['pas', 'publicUrl'], read: String },
  { name: 'PAS_NOTIFY_TIMEOUT_MS', path: ['pas', 'notifyTimeoutMs'], read: readInteger },
  { name: 'TENANTS_DIR', path: ['tenantsDir'], read: String },
  { name: 'REVIEW_POLICIES_DIR', path: ['reviewPoliciesDir'], read: String },
  { name: 'CLEARINGHOUSE_ENDPOINTS', path: ['clearinghouseEndpoints'], read: readNameValueList },
  { name: 'PHARMACY_ENDPOINTS', path: ['pharmacyEndpoints'], read: readNameValueList },
  { name: 'PORTAL_URLS', path: ['portalUrls'], read: readNameValueList },
  { name: 'PORTAL_BROWSER', path: ['portal', 'executablePath'], read: String },
  { name: 'PORTAL_RECIPES_DIR', path: ['portal', 'recipesDir'], read: String },
  { name: 'X12_SENDER_QUALIFIER', path: ['x12', 'senderQualifier'], read: String },
  { name: 'X12_SENDER_ID', path: ['x12', 'senderId'], read: String },
  { name: 'X12_TRACE_ORIGINATOR', path: ['x12', 'traceOriginator'], read: String },
  { name: 'SMTP_HOST', path: ['smtp', 'host'], read: String },
  { name: 'SMTP_PORT', path: ['smtp', 'port'], read: readInteger },
  { name: 'SMTP_SECURE', path: ['smtp', 'secure'], read: readBoolean },
  { name: 'SMTP_CREDENTIALS_REF', path: ['smtp', 'credentialsRef'], read: String },
  { name: 'PAGW_VAULT_MASTER_KEY', path: ['vault', 'masterKey'], read: String },
  {
    name: 'PAGW_VAULT_PREVIOUS_MASTER_KEYS',
    path: ['vault', 'previousMasterKeys'],
    read: (raw) =>
      raw
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
  },
  { name: 'PAGW_VAULT_KEY_FILE', path: ['vault', 'keyFile'], read: String },
  { name: 'PAGW_VAULT_REQUIRE_SECRETS', path: ['vault', 'requireReferencedSecrets'], read: readBoolean },
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
