/**
 * The master key ring: the key that wraps every data key, from the environment or a key file — never from the
 * database. The first key is current (it wraps new data keys); any further keys are earlier master keys, still
 * accepted for unwrapping so that a master-key rotation re-wraps data keys while the gateway keeps running.
 *
 * Sources, first match wins: PAGW_VAULT_MASTER_KEY (64 hex digits; PAGW_VAULT_PREVIOUS_MASTER_KEYS lists earlier
 * ones), PAGW_VAULT_KEY_FILE (one key per line, current first; created when absent), else the file `vault.key` in the data directory,
 * created once with mode 0600 when absent — the embedded default's quick start. On PostgreSQL every instance must
 * use the same key: set one of the two variables there (a key that does not match the database's wrapped keys is
 * refused at start with PAGW_VAULT_WRONG_MASTER_KEY, never used to write a second, unreadable generation).
 */
import { createHmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { KEY_BYTES, newDataKey } from './envelope.ts';
import { VaultError } from './errors.ts';

export interface MasterKey {
  /** Stored beside every wrapped data key: which master key wrapped it (not secret: an HMAC of the key). */
  readonly id: string;
  readonly key: Buffer;
}

export interface MasterKeyRing {
  readonly current: MasterKey;
  byId(id: string): MasterKey | undefined;
  readonly ids: readonly string[];
  /** Where the key came from, for the start-up line: `PAGW_VAULT_MASTER_KEY`, or a file path. */
  readonly source: string;
  /** true when the embedded default created the key file just now. */
  readonly created: boolean;
}

export interface MasterKeyOptions {
  readonly masterKey?: string;
  readonly previousMasterKeys?: readonly string[];
  readonly keyFile?: string;
  /** The data directory: where the default key file lives when neither variable is set. */
  readonly dataDir?: string;
}

export const defaultKeyFileName = 'vault.key';

/** The id of a master key: an HMAC of a fixed label under the key, so the id reveals nothing about it. */
export function masterKeyId(key: Buffer): string {
  return `mk-${createHmac('sha256', key).update('pagw vault master key id').digest('hex').slice(0, 16)}`;
}

function parseKey(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new VaultError(
      'PAGW_VAULT_KEY_FILE_UNSAFE',
      `${where} is not a master key (64 hex digits = 32 bytes)`,
    );
  }
  return Buffer.from(hex, 'hex');
}

function ring(keys: Buffer[], source: string, created: boolean): MasterKeyRing {
  const entries = keys.map((key) => ({ id: masterKeyId(key), key }));
  const byId = new Map(entries.map((e) => [e.id, e]));
  return {
    current: entries[0]!,
    byId: (id) => byId.get(id),
    ids: entries.map((e) => e.id),
    source,
    created,
  };
}

function readKeyFile(file: string): Buffer[] {
  const stat = statSync(file);
  if (!stat.isFile()) throw new VaultError('PAGW_VAULT_KEY_FILE_UNSAFE', `${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new VaultError(
      'PAGW_VAULT_KEY_FILE_UNSAFE',
      `${file} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new VaultError('PAGW_VAULT_KEY_FILE_UNSAFE', `${file} holds no key`);
  return lines.map((line, i) => parseKey(line, `line ${i + 1} of ${file}`));
}

/** Creates the key file with a fresh key unless it exists (two processes racing: one writes, both read it). */
function createKeyFile(file: string): boolean {
  mkdirSync(path.dirname(file), { recursive: true });
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(
      fd,
      `# PA Gateway vault master key (created ${new Date().toISOString()}). Back it up: without it the vault's\n# secrets and the PHI sealed at rest cannot be opened. Earlier keys, if any, go on the lines after it.\n${newDataKey().toString('hex')}\n`,
    );
  } finally {
    closeSync(fd);
  }
  return true;
}

export function loadMasterKeyRing(options: MasterKeyOptions): MasterKeyRing {
  if (options.masterKey) {
    const keys = [
      parseKey(options.masterKey, 'PAGW_VAULT_MASTER_KEY'),
      ...(options.previousMasterKeys ?? []).map((k, i) =>
        parseKey(k, `PAGW_VAULT_PREVIOUS_MASTER_KEYS item ${i + 1}`),
      ),
    ];
    return ring(keys, 'PAGW_VAULT_MASTER_KEY', false);
  }
  if (options.keyFile) {
    // Created when absent (first start of a container with an empty key volume); a file that does not match the
    // database's wrapped keys is refused at start by Vault.verify(), so a wrong path cannot go unnoticed.
    const created = createKeyFile(options.keyFile);
    return ring(readKeyFile(options.keyFile), options.keyFile, created);
  }
  if (options.dataDir?.startsWith('memory://')) {
    // An in-memory database (tests): its vault lives and dies with it, and so does its key.
    return ring([newDataKey()], 'an ephemeral key (in-memory database)', false);
  }
  if (options.dataDir) {
    const file = path.resolve(options.dataDir, defaultKeyFileName);
    const created = createKeyFile(file);
    return ring(readKeyFile(file), file, created);
  }
  throw new VaultError(
    'PAGW_VAULT_NO_MASTER_KEY',
    'The vault has no master key: set PAGW_VAULT_MASTER_KEY (64 hex digits) or PAGW_VAULT_KEY_FILE',
  );
}

/** A ring from raw keys (tests, benches): current first. */
export function masterKeyRingOf(keys: readonly Buffer[], source = 'given'): MasterKeyRing {
  for (const key of keys) if (key.length !== KEY_BYTES) throw new Error('a master key is 32 bytes');
  return ring([...keys], source, false);
}
