/**
 * The strict check every interchange we generate passes before it leaves: the envelopes (ISA fixed widths and
 * codes, GS/ST/SE/GE/IEA counts and control numbers — also re-checked by node-x12's strict parser, an
 * independent second opinion), the HL hierarchy, and each transaction set against its TR3 table (segment
 * order, usage, repeats, loop repeats, element usage, lengths, data types and code values).
 * Diagnostic codes follow the 999's IK304 (segment) and IK403 (element) error codes.
 *
 * This file checks the envelopes and is the entry point; each transaction set is checked against its TR3 table
 * by set-validator.ts.
 */
import { X12Parser } from 'node-x12';
import { diagnostic, type X12Diagnostic } from './diagnostics.ts';
import { diagnosticsToProblems, X12BuildError } from './errors.ts';
import { readX12, type X12Document } from './reader.ts';
import { SetValidator } from './set-validator.ts';
import type { TransactionSpec } from './spec.ts';
import { el, x12DateToIso } from './transaction.ts';

export interface ValidationReport {
  readonly valid: boolean;
  readonly diagnostics: X12Diagnostic[];
}

const isaRules: ReadonlyArray<{ element: number; test: (v: string) => boolean; expect: string }> = [
  { element: 1, test: (v) => v === '00', expect: '00' },
  { element: 2, test: (v) => v === ' '.repeat(10), expect: 'ten spaces' },
  { element: 3, test: (v) => v === '00', expect: '00' },
  { element: 4, test: (v) => v === ' '.repeat(10), expect: 'ten spaces' },
  {
    element: 5,
    test: (v) => ['01', '14', '20', '27', '28', '29', '30', '33', 'ZZ'].includes(v),
    expect: 'an interchange id qualifier',
  },
  { element: 6, test: (v) => v.length === 15 && v.trim() !== '', expect: 'a 15-character sender id' },
  {
    element: 7,
    test: (v) => ['01', '14', '20', '27', '28', '29', '30', '33', 'ZZ'].includes(v),
    expect: 'an interchange id qualifier',
  },
  { element: 8, test: (v) => v.length === 15 && v.trim() !== '', expect: 'a 15-character receiver id' },
  {
    element: 9,
    test: (v) => /^\d{6}$/.test(v) && x12DateToIso(`20${v}`) !== undefined,
    expect: 'a YYMMDD date',
  },
  { element: 10, test: (v) => /^([01]\d|2[0-3])[0-5]\d$/.test(v), expect: 'an HHMM time' },
  { element: 11, test: (v) => v.length === 1 && !/[A-Za-z0-9 ]/.test(v), expect: 'a repetition separator' },
  { element: 12, test: (v) => v === '00501', expect: '00501' },
  { element: 13, test: (v) => /^\d{9}$/.test(v), expect: 'nine digits' },
  { element: 14, test: (v) => v === '0' || v === '1', expect: '0 or 1' },
  { element: 15, test: (v) => v === 'P' || v === 'T', expect: 'P or T' },
];

/**
 * Validates generated X12 text strictly against the given TR3 tables. Every warning the lenient reader would
 * raise is an error here: what we send must have none of the warts we tolerate on the way in.
 */
export function validateInterchange(text: string, specs: readonly TransactionSpec[]): ValidationReport {
  const diagnostics: X12Diagnostic[] = [];
  let doc: X12Document;
  try {
    doc = readX12(text);
  } catch (error) {
    const problems = (error as { diagnostics?: X12Diagnostic[] }).diagnostics ?? [];
    return {
      valid: false,
      diagnostics: [...problems, diagnostic('error', 'UNREADABLE', 'The interchange cannot be read')],
    };
  }
  for (const d of doc.diagnostics) diagnostics.push({ ...d, level: 'error' });
  try {
    new X12Parser(true).parse(text);
  } catch (error) {
    diagnostics.push(
      diagnostic('error', 'NODE_X12_STRICT', `node-x12 strict parse: ${(error as Error).message}`),
    );
  }
  if (doc.interchanges.length !== 1) {
    diagnostics.push(
      diagnostic('error', 'INTERCHANGE_COUNT', `Expected one interchange, found ${doc.interchanges.length}`),
    );
  }
  for (const interchange of doc.interchanges) {
    for (const rule of isaRules) {
      const value = interchange.header.elements[rule.element - 1] ?? '';
      if (!rule.test(value)) {
        diagnostics.push(
          diagnostic(
            'error',
            'ISA_VALUE',
            `ISA${String(rule.element).padStart(2, '0')} should be ${rule.expect}`,
            doc.positionOf(interchange.header, rule.element),
          ),
        );
      }
    }
    if (interchange.ta1.length)
      diagnostics.push(
        diagnostic(
          'error',
          'TA1_PRESENT',
          'Generated interchanges carry no TA1',
          doc.positionOf(interchange.ta1[0]!),
        ),
      );
    for (const group of interchange.groups) {
      for (const set of group.sets) {
        const spec = specs.find((s) => s.id === set.id && s.version === el(set.header, 3));
        if (!spec) {
          diagnostics.push(
            diagnostic(
              'error',
              'NO_SPEC',
              `No TR3 table for ${set.id} ${el(set.header, 3) || '(no ST03)'}`,
              doc.positionOf(set.header, 3),
            ),
          );
          continue;
        }
        const gs = group.header;
        if (!gs) continue;
        const gsRules: ReadonlyArray<[number, boolean, string]> = [
          [1, el(gs, 1) === spec.functionalId, spec.functionalId],
          [2, /^.{2,15}$/.test(el(gs, 2)), '2-15 characters'],
          [3, /^.{2,15}$/.test(el(gs, 3)), '2-15 characters'],
          [4, x12DateToIso(el(gs, 4)) !== undefined, 'a CCYYMMDD date'],
          [5, /^([01]\d|2[0-3])[0-5]\d(\d{2}(\d{1,2})?)?$/.test(el(gs, 5)), 'an HHMM time'],
          [6, /^\d{1,9}$/.test(el(gs, 6)), '1-9 digits'],
          [7, el(gs, 7) === 'X', 'X'],
          [8, el(gs, 8) === spec.version, spec.version],
        ];
        for (const [element, ok, expect] of gsRules) {
          if (!ok)
            diagnostics.push(
              diagnostic(
                'error',
                'GS_VALUE',
                `GS${String(element).padStart(2, '0')} should be ${expect}`,
                doc.positionOf(gs, element),
              ),
            );
        }
        if (gs.elements.length !== 8)
          diagnostics.push(
            diagnostic('error', 'GS_ELEMENTS', 'GS has other than 8 elements', doc.positionOf(gs)),
          );
        const validator = new SetValidator(doc, set);
        validator.walk(spec);
        validator.hierarchy();
        diagnostics.push(...validator.diagnostics);
      }
    }
  }
  return { valid: diagnostics.length === 0, diagnostics };
}

/** Throws X12BuildError (PAGW_X12_TR3_INVALID) listing every violation; the interchange must not be sent. */
export function assertValidInterchange(text: string, specs: readonly TransactionSpec[]): void {
  const report = validateInterchange(text, specs);
  if (report.valid) return;
  const shown = report.diagnostics.slice(0, 3).map((d) => `${d.location}: ${d.message}`);
  throw new X12BuildError(
    'PAGW_X12_TR3_INVALID',
    `Generated interchange breaks the TR3 (${report.diagnostics.length} problem(s)): ${shown.join('; ')}`,
    { problems: diagnosticsToProblems(report.diagnostics) },
  );
}
