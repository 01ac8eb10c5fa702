/**
 * The facts review policies look at, derived from the canonical request, the payer's routing (fee schedule,
 * rule version) and code tables (drug class, service category, site of care). Pure and deterministic: the same
 * request under the same tables and fee schedule always gives the same facts — and they are recorded with the
 * gate, so a reviewer (and an auditor) sees what the policy saw. Codes, amounts and classes only: no PHI.
 */
import { CodeSystem } from '../../canonical/code-systems.ts';
import type { AuthorizationRequest, Coding } from '../../canonical/index.ts';
import { codeSystemUri } from '../rules/evaluate.ts';
import type { Entry, ReviewCodeTable } from './types.generated.ts';

export interface ReviewFacts {
  serviceCode: string[];
  codeSystem: string[];
  drugClass: string[];
  serviceCategory: string[];
  /** Total expected cost of the request under the payer's fee schedule (USD); absent when no line is priced. */
  estimatedCost?: number;
  /** The largest quantity any line asks for. */
  units?: number;
  urgency: string;
  placeOfService: string[];
  siteOfCare: string[];
  diagnosisCode: string[];
  payerId: string;
  ruleVersion: string;
  /** How sure drafting (#15) is of the draft, 0–1; absent when the request was not drafted. */
  draftConfidence?: number;
}

export interface ReviewTables {
  readonly drugClasses?: ReviewCodeTable;
  readonly serviceCategories?: ReviewCodeTable;
  readonly sitesOfCare?: ReviewCodeTable;
}

/** Short code-system names, the reverse of the payer files' names (CPT, HCPCS, NDC …). */
const shortNames = new Map<string, string>(Object.entries(CodeSystem).map(([name, uri]) => [uri, name]));

function normalizedCode(coding: Pick<Coding, 'system' | 'code'>): string {
  const code = coding.system === CodeSystem.NDC ? coding.code.replace(/-/g, '') : coding.code;
  return code.toUpperCase();
}

function entryMatches(entry: Entry, coding: Pick<Coding, 'system' | 'code'>): boolean {
  if (codeSystemUri(entry.system) !== coding.system) return false;
  const value = normalizedCode(coding);
  if (entry.code !== undefined) return entry.code === '*' || entry.code.toUpperCase() === value;
  const from = entry.from!.toUpperCase();
  const to = entry.to!.toUpperCase();
  return value.length === from.length && from <= value && value <= to;
}

/** Every value a table gives any of the codings, in table order, without repeats. */
export function lookUp(
  table: ReviewCodeTable | undefined,
  codings: readonly Pick<Coding, 'system' | 'code'>[],
): string[] {
  if (!table) return [];
  const values = new Set<string>();
  for (const entry of table.entries) if (codings.some((c) => entryMatches(entry, c))) values.add(entry.value);
  return [...values];
}

const unique = (values: readonly string[]) => [...new Set(values)];

export function deriveFacts(input: {
  request: AuthorizationRequest;
  tables: ReviewTables;
  payerId: string;
  ruleVersion: string;
  /** The payer's fee schedule applied to the request (src/workflow/routing.ts). */
  estimatedCost?: number;
  draftConfidence?: number;
}): ReviewFacts {
  const { request, tables } = input;
  const lines = request.serviceLines;
  const codings = lines.flatMap((l) => [l.code, ...(l.alternateCodes ?? [])]);
  const places = lines
    .map(
      (l) =>
        l.placeOfService ??
        request.servicingProvider?.placeOfService ??
        request.requestingProvider?.placeOfService,
    )
    .filter((p): p is string => p !== undefined);
  const quantities = lines.map((l) => l.quantity?.value).filter((q): q is number => q !== undefined);
  return {
    serviceCode: unique(lines.map((l) => normalizedCode(l.code))),
    codeSystem: unique(codings.map((c) => shortNames.get(c.system) ?? c.system)),
    drugClass: lookUp(tables.drugClasses, codings),
    serviceCategory: lookUp(tables.serviceCategories, codings),
    ...(input.estimatedCost !== undefined ? { estimatedCost: input.estimatedCost } : {}),
    ...(quantities.length ? { units: Math.max(...quantities) } : {}),
    urgency: request.urgency,
    placeOfService: unique(places),
    siteOfCare: lookUp(
      tables.sitesOfCare,
      places.map((code) => ({ system: 'POS', code })),
    ),
    diagnosisCode: unique(request.diagnoses.map((d) => d.code.code.toUpperCase())),
    payerId: input.payerId,
    ruleVersion: input.ruleVersion,
    ...(input.draftConfidence !== undefined ? { draftConfidence: input.draftConfidence } : {}),
  };
}
