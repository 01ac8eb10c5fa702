/**
 * Fields of an AuthorizationRequest that the ordering provider can supply after the order arrived. An order
 * missing only such fields is not refused: its case waits in `received` with a `missing_data` task to the
 * provider naming exactly what is missing (issue #14), and a correction (PATCH, or a corrected resend of the
 * order) lets it go on. Anything else missing (no service, no patient, no payer) is still refused at intake: a case
 * cannot be held, routed or shown without them. Add a field here only when every view of a case works without it.
 *
 * Each entry names the field where the sender writes it, so the task can tell the provider's system exactly
 * which field to fill: the HL7 v2 position, the FHIR path, and a reason code for the task.
 */
export interface CorrectableField {
  /** Dotted path in the AuthorizationRequest (as mapping targets write it). */
  readonly path: string;
  /** What a person reads. */
  readonly label: string;
  /** Where an HL7 v2 order carries it. */
  readonly hl7: string;
  /** Where a FHIR order carries it. */
  readonly fhir: string;
  /** The task's reason code. */
  readonly reasonCode: string;
  /** A value that satisfies the schema, used only to check the rest of the request is valid. */
  readonly placeholder: string;
  /** The pattern a corrected value must match (after trimming). */
  readonly pattern: RegExp;
}

export const correctableFields: readonly CorrectableField[] = [
  {
    path: 'coverage.memberId',
    label: 'Member id (subscriber id at the payer)',
    hl7: 'IN1-36',
    fhir: 'Coverage.subscriberId',
    reasonCode: 'MISSING_MEMBER_ID',
    placeholder: '0',
    pattern: /^[A-Za-z0-9 -]{1,80}$/,
  },
];

export function correctableField(path: string): CorrectableField | undefined {
  return correctableFields.find((f) => f.path === path);
}

/** Reads a dotted path of a plain object. */
export function readPath(value: unknown, path: string): unknown {
  let node = value;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A copy of `value` with `path` set (objects on the way are created or copied, never shared). */
export function withPath<T>(value: T, path: string, next: unknown): T {
  const keys = path.split('.');
  const root = { ...(value as Record<string, unknown>) };
  let node = root;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    node[key] = typeof child === 'object' && child !== null ? { ...(child as object) } : {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = next;
  return root as T;
}

/** The correctable fields a (possibly incomplete) request lacks. */
export function missingFields(request: unknown): CorrectableField[] {
  return correctableFields.filter((f) => {
    const v = readPath(request, f.path);
    return typeof v !== 'string' || v.trim() === '';
  });
}
