/**
 * Loads the payer directory from payers/*.json (the I/O half; validation and lookup are the pure
 * src/workflow/rules/payer-directory.ts). Clearinghouse endpoints can be overridden by connection name, and portal
 * URLs by payer id, so a test or the demo can point them at the simulated payers it just started.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PayerRulesError } from '../src/workflow/rules/errors.ts';
import {
  createPayerDirectory,
  type PayerDirectory,
  type PayerDocument,
} from '../src/workflow/rules/index.ts';

export const defaultPayersDir = path.join(import.meta.dirname, '..', 'payers');

export interface LoadPayerDirectoryOptions {
  /** clearinghouse connection name → endpoint URL (e.g. { 'pagw-sim': 'http://127.0.0.1:51234/core' }). */
  readonly clearinghouseEndpoints?: Readonly<Record<string, string>>;
  /** payer id → portal base URL (e.g. { 'lansing-health-care': 'http://127.0.0.1:51235' }). */
  readonly portalUrls?: Readonly<Record<string, string>>;
}

export function loadPayerDirectory(
  dir = defaultPayersDir,
  options: LoadPayerDirectoryOptions = {},
): PayerDirectory {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (error) {
    throw new PayerRulesError('PAGW_PAYER_FILE_INVALID', `Cannot read the payer directory ${dir}`, {
      cause: error,
    });
  }
  const documents: PayerDocument[] = names.map((name) => {
    const file = path.join(dir, name);
    try {
      const document = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      return {
        source: name,
        document: withPortalUrl(withEndpoints(document, options.clearinghouseEndpoints), options.portalUrls),
      };
    } catch (error) {
      throw new PayerRulesError('PAGW_PAYER_FILE_INVALID', `${name} is not readable JSON`, {
        cause: error,
        problems: [{ location: name, message: 'not readable JSON' }],
      });
    }
  });
  return createPayerDirectory(documents);
}

function withEndpoints(
  document: Record<string, unknown>,
  endpoints: Readonly<Record<string, string>> | undefined,
): unknown {
  if (!endpoints || !Array.isArray(document.channels)) return document;
  return {
    ...document,
    channels: document.channels.map((channel: Record<string, unknown>) => {
      const clearinghouse = channel?.clearinghouse as Record<string, unknown> | undefined;
      const override = typeof clearinghouse?.name === 'string' ? endpoints[clearinghouse.name] : undefined;
      return override ? { ...channel, clearinghouse: { ...clearinghouse, endpoint: override } } : channel;
    }),
  };
}

function withPortalUrl(document: unknown, urls: Readonly<Record<string, string>> | undefined): unknown {
  const doc = document as Record<string, unknown>;
  const url = urls && typeof doc.id === 'string' ? urls[doc.id] : undefined;
  if (!url || !Array.isArray(doc.channels)) return document;
  return {
    ...doc,
    channels: doc.channels.map((channel: Record<string, unknown>) =>
      channel?.type === 'portal' ? { ...channel, url } : channel,
    ),
  };
}
