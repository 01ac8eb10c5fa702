/**
 * The simulated payer's reading of a CDex `$submit-attachment` request, as strict as a conformant payer may be: the
 * names, cardinalities and types of the published OperationDefinition, nothing else. Names are case-sensitive (the
 * input Parameters profile slices `parameter` closed by name), so a client sending `trackingId` is refused with the
 * parameter it is missing — exactly what a real payer would do to a gateway that got the names wrong.
 *   http://hl7.org/fhir/us/davinci-cdex/OperationDefinition/submit-attachment, version 2.1.0 (Da Vinci CDex STU2.1,
 *   the version PAS 2.2.1 depends on); Parameters profile
 *   http://hl7.org/fhir/us/davinci-cdex/StructureDefinition/cdex-parameters-submit-attachment.
 * @see http://hl7.org/fhir/us/davinci-cdex/STU2.1/OperationDefinition-submit-attachment.html
 */

// biome-ignore lint/suspicious/noExplicitAny: loose FHIR JSON in a simulator that reads what clients send
type Json = Record<string, any>;

interface Slot {
  readonly min: number;
  readonly max: number;
  /** The value[x] element the parameter carries, or `part` / `resource`. */
  readonly value: string;
}

const many = Number.POSITIVE_INFINITY;

/** CDex 2.1.0 `$submit-attachment` inputs. */
const inputs: Readonly<Record<string, Slot>> = {
  TrackingId: { min: 1, max: 1, value: 'valueIdentifier' },
  AttachTo: { min: 1, max: 1, value: 'valueCode' },
  PayerId: { min: 0, max: 1, value: 'valueIdentifier' },
  OrganizationId: { min: 0, max: 1, value: 'valueIdentifier' },
  ProviderId: { min: 0, max: 1, value: 'valueIdentifier' },
  MemberId: { min: 1, max: 1, value: 'valueIdentifier' },
  ServiceDate: { min: 0, max: 1, value: 'valueDateTime' },
  Attachment: { min: 1, max: many, value: 'part' },
  Final: { min: 0, max: 1, value: 'valueBoolean' },
};

/** The parts of each `Attachment`. */
const attachmentParts: Readonly<Record<string, Slot>> = {
  LineItem: { min: 0, max: many, value: 'valueString' },
  Code: { min: 0, max: 1, value: 'valueCodeableConcept' },
  Content: { min: 1, max: 1, value: 'resource' },
};

/** AttachTo (CDex cdex-claim-use value set). */
const attachTo = new Set(['claim', 'preauthorization']);

export interface CdexIssue {
  readonly code: 'required' | 'structure' | 'invalid';
  readonly text: string;
  readonly expression: string;
}

export interface CdexAttachment {
  readonly lineItems: string[];
  readonly code?: Json;
  readonly content: Json;
}

export interface CdexSubmission {
  readonly trackingId: string;
  readonly attachTo: string;
  readonly memberId: string;
  readonly final: boolean;
  readonly attachments: CdexAttachment[];
}

function check(list: Json[], slots: Readonly<Record<string, Slot>>, at: string): CdexIssue[] {
  const issues: CdexIssue[] = [];
  for (const [index, p] of list.entries()) {
    const name = String(p?.name);
    if (!(name in slots)) {
      issues.push({
        code: 'structure',
        text: `unknown parameter '${name}' (the $submit-attachment parameters are ${Object.keys(slots).join(', ')})`,
        expression: `${at}[${index}].name`,
      });
    }
  }
  for (const [name, slot] of Object.entries(slots)) {
    const found = list.filter((p) => p?.name === name);
    const where = `${at}.where(name = '${name}')`;
    if (found.length < slot.min)
      issues.push({
        code: 'required',
        text: `parameter '${name}' is missing (${slot.min}..${slot.max === many ? '*' : slot.max})`,
        expression: where,
      });
    if (found.length > slot.max)
      issues.push({
        code: 'structure',
        text: `parameter '${name}' is repeated (at most ${slot.max})`,
        expression: where,
      });
    for (const p of found) {
      if (p[slot.value] === undefined)
        issues.push({
          code: 'invalid',
          text: `parameter '${name}' must carry ${slot.value}`,
          expression: where,
        });
    }
  }
  return issues;
}

/** The request read, or the issues that refuse it (400). */
export function readSubmitAttachment(
  body: Json,
): { ok: true; value: CdexSubmission } | { ok: false; issues: CdexIssue[] } {
  if (body?.resourceType !== 'Parameters')
    return {
      ok: false,
      issues: [
        { code: 'structure', text: 'the body must be a Parameters resource', expression: 'Parameters' },
      ],
    };
  const params: Json[] = Array.isArray(body.parameter) ? body.parameter : [];
  const issues = check(params, inputs, 'Parameters.parameter');
  const one = (name: string) => params.find((p) => p?.name === name);
  const code = one('AttachTo')?.valueCode;
  if (code !== undefined && !attachTo.has(code))
    issues.push({
      code: 'invalid',
      text: `AttachTo '${code}' is not claim or preauthorization`,
      expression: `Parameters.parameter.where(name = 'AttachTo')`,
    });
  const attachments: CdexAttachment[] = [];
  for (const [index, a] of params.filter((p) => p?.name === 'Attachment').entries()) {
    const parts: Json[] = Array.isArray(a.part) ? a.part : [];
    const at = `Parameters.parameter.where(name = 'Attachment')[${index}].part`;
    issues.push(...check(parts, attachmentParts, at));
    const content = parts.find((p) => p?.name === 'Content')?.resource;
    if (content) {
      attachments.push({
        lineItems: parts.filter((p) => p?.name === 'LineItem').map((p) => String(p.valueString)),
        ...(parts.find((p) => p?.name === 'Code')
          ? { code: parts.find((p) => p?.name === 'Code')!.valueCodeableConcept }
          : {}),
        content,
      });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      trackingId: String(one('TrackingId')?.valueIdentifier?.value ?? ''),
      attachTo: code,
      memberId: String(one('MemberId')?.valueIdentifier?.value ?? ''),
      final: one('Final')?.valueBoolean ?? true,
      attachments,
    },
  };
}
