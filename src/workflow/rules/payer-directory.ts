/**
 * The payer directory as data: payer files (payers/*.json) validated against schemas/payer.json, indexed by
 * every identifier senders use — X12 payer id, NAIC code, the directory id and the aliases (IN1-3,
 * Coverage.payor) — and, for pharmacy claims, by BIN/PCN. Pure: the adapter that reads the files
 * (connectors/payer-directory.ts) passes them in.
 */
import payerSchema from '../../../schemas/payer.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../canonical/schema-validator.ts';
import type { Coverage } from '../../canonical/types.generated.ts';
import type { Problem } from '../../errors/index.ts';
import { PayerRulesError } from './errors.ts';
import type { Channel, PasChannel, PayerFile, PortalChannel, X12Channel } from './types.generated.ts';

const ajv = createAjv([payerSchema], { useDefaults: true });
const validatePayer = ajv.getSchema(payerSchema.$id)!;

/** What a coverage says about its payer: the payer id as the sender wrote it, and the pharmacy BIN/PCN. */
export type PayerLookup = Pick<Coverage, 'payerId' | 'payerIdSystem' | 'pharmacyBenefit'>;

export interface PayerDirectory {
  readonly payers: readonly PayerFile[];
  byId(id: string): PayerFile | undefined;
  /**
   * The payer a coverage names, or undefined. A pharmacy-benefit coverage is routed by BIN + PCN first (the exact
   * pair, then the BIN alone): pharmacy claims name the processor, not the plan. Then by payerId.
   */
  find(coverage: PayerLookup): PayerFile | undefined;
  /** The payer a coverage names; PAGW_PAYER_UNKNOWN when none. */
  resolve(coverage: PayerLookup): PayerFile;
}

export interface PayerDocument {
  /** Where it came from (a file name), for messages. */
  readonly source: string;
  readonly document: unknown;
}

/** PCNs compare case-insensitively; a BIN-only entry has an empty PCN. */
function binPcnKey(bin: string, pcn?: string): string {
  return `${bin}|${(pcn ?? '').toUpperCase()}`;
}

function normalize(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

interface Key {
  readonly value: string;
  readonly system?: string;
}

function keysOf(payer: PayerFile): Key[] {
  const keys: Key[] = [{ value: payer.id }];
  if (payer.identifiers.x12PayerId) keys.push({ value: payer.identifiers.x12PayerId });
  if (payer.identifiers.naic) keys.push({ value: payer.identifiers.naic });
  if (payer.identifiers.cmsPlanId) keys.push({ value: payer.identifiers.cmsPlanId });
  for (const alias of payer.identifiers.aliases ?? [])
    keys.push({ value: alias.value, ...(alias.system ? { system: alias.system } : {}) });
  return keys;
}

/** Validates payer documents (defaults filled in) and indexes them; PAGW_PAYER_FILE_INVALID names every problem. */
export function createPayerDirectory(documents: readonly PayerDocument[]): PayerDirectory {
  const problems: Problem[] = [];
  const payers: PayerFile[] = [];
  for (const { source, document } of documents) {
    const copy = structuredClone(document);
    if (!validatePayer(copy)) {
      for (const p of ajvErrorsToProblems(validatePayer.errors))
        problems.push({ location: `${source}: ${p.location}`, message: p.message });
      continue;
    }
    const payer = copy as PayerFile;
    payer.ruleVersions.forEach((version, v) => {
      version.rules.forEach((rule, r) => {
        rule.codes.forEach((match, c) => {
          const where = `${source}: $.ruleVersions[${v}].rules[${r}].codes[${c}]`;
          if (match.code === undefined && (match.from === undefined || match.to === undefined)) {
            problems.push({ location: where, message: 'needs `code`, or `from` and `to`' });
          }
          if (
            match.from !== undefined &&
            match.to !== undefined &&
            (match.from.length !== match.to.length || match.from > match.to)
          ) {
            problems.push({
              location: where,
              message: '`from` and `to` must have the same length, `from` first',
            });
          }
        });
      });
    });
    const starts = payer.ruleVersions.map((v) => v.effective.start).sort();
    if (new Set(starts).size !== starts.length) {
      problems.push({
        location: `${source}: $.ruleVersions`,
        message: 'two rule versions start on the same date',
      });
    }
    if (!source.endsWith(`${payer.id}.json`) && source.endsWith('.json')) {
      problems.push({ location: `${source}: $.id`, message: `the file should be named ${payer.id}.json` });
    }
    payers.push(payer);
  }
  const index = new Map<string, { payer: PayerFile; system?: string }[]>();
  for (const payer of payers) {
    for (const key of keysOf(payer)) {
      const k = normalize(key.value);
      const entries = index.get(k) ?? [];
      const clash = entries.find(
        (e) =>
          e.payer.id !== payer.id &&
          (e.system === undefined || key.system === undefined || e.system === key.system),
      );
      if (clash)
        problems.push({
          location: payer.id,
          message: `identifier "${key.value}" is also claimed by ${clash.payer.id}`,
        });
      if (!entries.some((e) => e.payer.id === payer.id && e.system === key.system)) {
        entries.push({ payer, ...(key.system ? { system: key.system } : {}) });
      }
      index.set(k, entries);
    }
  }
  const byBinPcn = new Map<string, PayerFile>();
  for (const payer of payers) {
    for (const entry of payer.identifiers.pharmacyBenefit ?? []) {
      const key = binPcnKey(entry.bin, entry.pcn);
      const clash = byBinPcn.get(key);
      if (clash && clash.id !== payer.id)
        problems.push({
          location: payer.id,
          message: `BIN ${entry.bin}${entry.pcn ? ` PCN ${entry.pcn}` : ''} is also claimed by ${clash.id}`,
        });
      byBinPcn.set(key, payer);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).map((p) => `${p.location}: ${p.message}`);
    throw new PayerRulesError(
      'PAGW_PAYER_FILE_INVALID',
      `Invalid payer directory: ${shown.join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      { problems },
    );
  }
  const byId = new Map(payers.map((p) => [p.id, p]));
  const find = (coverage: PayerLookup) => {
    const benefit = coverage.pharmacyBenefit;
    if (benefit) {
      const routed =
        (benefit.pcn ? byBinPcn.get(binPcnKey(benefit.bin, benefit.pcn)) : undefined) ??
        byBinPcn.get(binPcnKey(benefit.bin));
      if (routed) return routed;
    }
    const entries = index.get(normalize(coverage.payerId)) ?? [];
    const system = coverage.payerIdSystem;
    return (
      entries.find((e) => system !== undefined && e.system === system)?.payer ??
      entries.find((e) => e.system === undefined || system === undefined)?.payer
    );
  };
  return {
    payers,
    byId: (id) => byId.get(id),
    find,
    resolve(coverage) {
      const payer = find(coverage);
      if (payer) return payer;
      throw new PayerRulesError('PAGW_PAYER_UNKNOWN', 'No payer in the directory matches coverage.payerId', {
        problems: [
          { location: '$.coverage.payerId', message: 'matches no payer id, NAIC code or alias in payers/' },
          ...(coverage.pharmacyBenefit
            ? [{ location: '$.coverage.pharmacyBenefit', message: 'matches no BIN/PCN in payers/' }]
            : []),
        ],
      });
    },
  };
}

export function x12Channel(payer: PayerFile): X12Channel | undefined {
  return payer.channels.find((c): c is X12Channel => c.type === 'x12');
}
export function pasChannel(payer: PayerFile): PasChannel | undefined {
  return payer.channels.find((c): c is PasChannel => c.type === 'pas');
}
export function portalChannel(payer: PayerFile): PortalChannel | undefined {
  return payer.channels.find((c): c is PortalChannel => c.type === 'portal');
}

/** The payer's channels in order of preference, optionally only those that can do `purpose`. */
export function channelsFor(payer: PayerFile, purpose: 'submit' | 'eligibility' = 'submit'): Channel[] {
  if (purpose === 'submit') return [...payer.channels];
  return payer.channels.filter((c) => c.type === 'x12' && c.eligibility !== false);
}
