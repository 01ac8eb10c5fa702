/**
 * Prior-authorization rules, evaluated. Pure and deterministic: the request, the payer's directory entry and
 * the evaluation time go in; whether PA is required, under which rule version and rule, with which review
 * policy and SLA deadline come out. The case records `ruleVersion` so every decision can be traced to the
 * rules it was made under.
 *
 * Per service line the first matching rule of the version in effect wins (file order); a line no rule matches
 * gets the version's defaults. A request needs PA when any line does; the strictest review policy applies.
 * Conservative on missing data: a rule restricted to some places of service or plans only matches a line
 * whose place or plan is unknown when that rule *requires* PA.
 */
import { CodeSystem } from '../../canonical/code-systems.ts';
import type { AuthorizationRequest, Coding, ServiceLine } from '../../canonical/types.generated.ts';
import { PayerRulesError } from './errors.ts';
import type { CodeMatch, PayerFile, ReviewPolicy, Rule, RuleVersion } from './types.generated.ts';

export interface LineEvaluation {
  readonly sequence: number;
  readonly paRequired: boolean;
  /** The matching rule's id, or `default`. */
  readonly ruleId: string;
  readonly explanation: string;
  readonly reviewPolicy: ReviewPolicy;
  /** From the version's fee schedule: per unit, and times the requested quantity when it is in units. */
  readonly expectedReimbursement?: { amount: number; currency: string; total?: number };
}

export interface PaRuleEvaluation {
  readonly payerId: string;
  /** `<payer id>@<version>`: what the case records. */
  readonly ruleVersion: string;
  readonly paRequired: boolean;
  readonly reviewPolicy: ReviewPolicy;
  /** The rules that made PA required (or, when none did, every rule that matched). */
  readonly ruleIds: string[];
  readonly explanation: string;
  readonly urgency: 'standard' | 'expedited';
  readonly slaHours: number;
  /** When the payer's decision is due (ISO 8601, UTC). */
  readonly slaDueAt: string;
  readonly lines: LineEvaluation[];
}

/** Short names payer files may use for code systems. */
const systemNames: Record<string, string> = {
  CPT: CodeSystem.CPT,
  HCPCS: CodeSystem.HCPCS,
  ICD10PCS: CodeSystem.ICD10PCS,
  ICD10CM: CodeSystem.ICD10CM,
  NDC: CodeSystem.NDC,
  LOINC: CodeSystem.LOINC,
  SNOMED: CodeSystem.SNOMED,
  RXNORM: CodeSystem.RXNORM,
  X12_SERVICE_TYPE: CodeSystem.X12_SERVICE_TYPE,
};

export function codeSystemUri(name: string): string {
  return systemNames[name] ?? name;
}

const policyRank: Record<ReviewPolicy, number> = { none: 0, 'reviewer-approval': 1 };

/** The rule version in effect at `at` (start inclusive, end exclusive), or PAGW_RULES_NO_VERSION. */
export function ruleVersionAt(payer: PayerFile, at: Date): RuleVersion {
  const day = at.toISOString().slice(0, 10);
  const inEffect = payer.ruleVersions
    .filter((v) => v.effective.start <= day && (v.effective.end === undefined || day < v.effective.end))
    .sort((a, b) => (a.effective.start < b.effective.start ? 1 : -1));
  const version = inEffect[0];
  if (!version) {
    throw new PayerRulesError(
      'PAGW_RULES_NO_VERSION',
      `Payer ${payer.id} has no PA rule version in effect on ${day}`,
      {
        problems: [
          { location: `payers/${payer.id}.json: $.ruleVersions`, message: `no version covers ${day}` },
        ],
      },
    );
  }
  return version;
}

function codeMatches(match: CodeMatch, coding: Coding): boolean {
  if (codeSystemUri(match.system) !== coding.system) return false;
  const code = coding.system === CodeSystem.NDC ? coding.code.replace(/-/g, '') : coding.code;
  const value = code.toUpperCase();
  if (match.code !== undefined) return match.code.toUpperCase() === value;
  const from = match.from!.toUpperCase();
  const to = match.to!.toUpperCase();
  return value.length === from.length && from <= value && value <= to;
}

function planMatches(pattern: string, plan: string): boolean {
  const p = pattern.toUpperCase();
  return p.endsWith('*') ? plan.startsWith(p.slice(0, -1)) : plan === p;
}

function ruleMatches(rule: Rule, line: ServiceLine, place: string | undefined, plans: string[]): boolean {
  const codings = [line.code, ...(line.alternateCodes ?? [])];
  if (!rule.codes.some((match) => codings.some((coding) => codeMatches(match, coding)))) return false;
  if (rule.placesOfService?.length) {
    if (place === undefined) {
      if (!rule.paRequired) return false;
    } else if (!rule.placesOfService.includes(place)) return false;
  }
  if (rule.plans?.length) {
    if (plans.length === 0) {
      if (!rule.paRequired) return false;
    } else if (!rule.plans.some((pattern) => plans.some((plan) => planMatches(pattern, plan)))) return false;
  }
  return true;
}

function describeCode(coding: Coding): string {
  const short = Object.entries(systemNames).find(([, uri]) => uri === coding.system)?.[0] ?? coding.system;
  return `${short} ${coding.code}`;
}

/**
 * Evaluates the payer's PA rules for a request at `at`.
 * Throws PAGW_RULES_NO_VERSION when no rule version is in effect.
 */
export function evaluatePaRules(request: AuthorizationRequest, payer: PayerFile, at: Date): PaRuleEvaluation {
  const version = ruleVersionAt(payer, at);
  const plans = [request.coverage.planCode, request.coverage.planName]
    .filter((p): p is string => Boolean(p?.trim()))
    .map((p) => p.trim().toUpperCase());
  const lines: LineEvaluation[] = request.serviceLines.map((line) => {
    const place =
      line.placeOfService ??
      request.servicingProvider?.placeOfService ??
      request.requestingProvider?.placeOfService;
    const rule = version.rules.find((r) => ruleMatches(r, line, place, plans));
    const fee = version.feeSchedule?.find((f) =>
      [line.code, ...(line.alternateCodes ?? [])].some((c) =>
        codeMatches({ system: f.system, code: f.code }, c),
      ),
    );
    const inUnits =
      line.quantity && (line.quantity.unit === undefined || line.quantity.unit.toUpperCase() === 'UN');
    const expectedReimbursement = fee
      ? {
          amount: fee.amount,
          currency: fee.currency ?? 'USD',
          ...(inUnits ? { total: Math.round(fee.amount * line.quantity!.value * 100) / 100 } : {}),
        }
      : undefined;
    const paRequired = rule ? rule.paRequired : version.defaults.paRequired;
    const reviewPolicy = rule?.reviewPolicy ?? (rule ? 'none' : version.defaults.reviewPolicy);
    const reason = rule
      ? `rule ${rule.id}${rule.explanation ? ` (${rule.explanation})` : ''}`
      : `no rule matched; the version's default is PA ${version.defaults.paRequired ? 'required' : 'not required'}`;
    return {
      sequence: line.sequence,
      paRequired,
      ruleId: rule?.id ?? 'default',
      explanation: `line ${line.sequence} ${describeCode(line.code)}: PA ${paRequired ? 'required' : 'not required'} by ${reason}`,
      reviewPolicy: paRequired ? reviewPolicy : 'none',
      ...(expectedReimbursement ? { expectedReimbursement } : {}),
    };
  });
  const paRequired = lines.some((l) => l.paRequired);
  const deciding = paRequired ? lines.filter((l) => l.paRequired) : lines;
  const reviewPolicy = deciding.reduce<ReviewPolicy>(
    (strictest, l) => (policyRank[l.reviewPolicy] > policyRank[strictest] ? l.reviewPolicy : strictest),
    'none',
  );
  const slaHours = request.urgency === 'expedited' ? version.sla.expeditedHours : version.sla.standardHours;
  const ruleVersion = `${payer.id}@${version.version}`;
  return {
    payerId: payer.id,
    ruleVersion,
    paRequired,
    reviewPolicy,
    ruleIds: [...new Set(deciding.map((l) => l.ruleId))],
    explanation: `${paRequired ? 'Prior authorization required' : 'No prior authorization required'} under ${ruleVersion}: ${deciding.map((l) => l.explanation).join('; ')}`,
    urgency: request.urgency,
    slaHours,
    slaDueAt: new Date(at.getTime() + slaHours * 3_600_000).toISOString(),
    lines,
  };
}
