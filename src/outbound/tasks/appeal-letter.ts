/**
 * The appeal letter as a PDF (pdf-lib, standard Helvetica): the clinic's template (templates/appeal/letter.json, the
 * e-mail template language, one paragraph per item) filled from the appeal package and the request, wrapped to the
 * page, followed by the evidence checklist. Deterministic for the same input (creation date from `at`). Pure.
 */
import type { PDFFont } from 'pdf-lib';
import letterTemplate from '../../../templates/appeal/letter.json' with { type: 'json' };
import type { AuthorizationRequest, HumanName } from '../../canonical/index.ts';
import type { AppealPackage } from '../../workflow/tasks/appeals.ts';
import { parseTemplate, renderNodes, type TemplateScope } from '../email/template.ts';

const outcomeWords: Record<string, string> = { denied: 'deny', modified: 'approve only in part' };

function name(n: HumanName | undefined): string {
  return [n?.prefix, ...(n?.given ?? []), n?.family, n?.suffix].filter(Boolean).join(' ') || 'not on file';
}

const paragraphs = letterTemplate.paragraphs.map((p, i) => parseTemplate(`appeal-letter.${i}`, p));

export interface AppealLetterInput {
  readonly appeal: AppealPackage;
  readonly request: AuthorizationRequest;
  readonly clinicName: string;
  readonly payerName: string;
  readonly at: Date;
}

/** The letter's text, paragraph by paragraph (what the PDF shows, and what a test can compare). */
export function appealLetterText(input: AppealLetterInput): string[] {
  const { appeal, request } = input;
  const scope: TemplateScope = {
    clinicName: input.clinicName,
    today: input.at.toISOString().slice(0, 10),
    payerName: input.payerName,
    expedited: appeal.expedited,
    certificationNumber: appeal.denial.certificationNumber,
    administrativeReference: appeal.denial.administrativeReference,
    patientName: name(request.patient.name),
    patientBirthDate: request.patient.birthDate ?? 'not on file',
    memberId: request.coverage.memberId,
    providerName: request.requestingProvider?.name
      ? name(request.requestingProvider.name)
      : (request.requestingProvider?.organizationName ?? 'the ordering provider'),
    providerNpi: request.requestingProvider?.npi ?? 'not on file',
    caseId: appeal.caseId,
    decidedAt: appeal.denial.decidedAt.slice(0, 10),
    outcomeWords: outcomeWords[appeal.denial.outcome] ?? appeal.denial.outcome,
    services: appeal.services.map((s) => ({ code: s.code, display: s.display, quantity: s.quantity })),
    reasons: appeal.denial.reasons.map((r) => ({ code: r.code, text: r.text })),
    criteria: [appeal.criteria.payerId, appeal.criteria.ruleVersion, appeal.criteria.ruleIds]
      .filter(Boolean)
      .join(', '),
    diagnoses: appeal.diagnoses.map((d) => ({ code: d.code, display: d.display })),
    evidence: appeal.evidence.map((e) => ({ label: e.label })),
  };
  return paragraphs.map((nodes) => renderNodes(nodes, [scope], false).trimEnd());
}

/** Splits text into lines that fit `width` at `size` (words kept whole; a too-long word is cut). */
function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    let line = '';
    for (const word of raw.split(/\s+/).filter(Boolean)) {
      const candidate = line ? `${line} ${word}` : word;
      if (font.widthOfTextAtSize(candidate, size) <= width) line = candidate;
      else {
        if (line) lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** WinAnsi only (the standard fonts): anything else becomes '?', so no input can break the rendering. */
function printable(text: string): string {
  return text
    .replace(/[’‘]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/[–—]/g, '-')
    .replace(/[^\x20-\x7e\n]/g, '?');
}

export async function renderAppealLetter(input: AppealLetterInput): Promise<Buffer> {
  // pdf-lib is loaded with the first letter: ~20 MB of resident memory a gateway without denials need not carry.
  const { PDFDocument, StandardFonts } = await import('pdf-lib');
  const pdf = await PDFDocument.create();
  pdf.setTitle(letterTemplate.title);
  pdf.setCreator('PA Gateway');
  pdf.setProducer('PA Gateway (pdf-lib)');
  pdf.setCreationDate(input.at);
  pdf.setModificationDate(input.at);
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const margin = 56;
  const size = 10.5;
  const leading = 14;
  let page = pdf.addPage([612, 792]);
  let y = 792 - margin;
  const width = 612 - 2 * margin;
  const line = (text: string, f: PDFFont = font, s = size) => {
    if (y < margin + leading) {
      page = pdf.addPage([612, 792]);
      y = 792 - margin;
    }
    page.drawText(text, { x: margin, y, size: s, font: f });
    y -= s === size ? leading : s + 6;
  };
  line(printable(letterTemplate.title), bold, 14);
  y -= 6;
  for (const paragraph of appealLetterText(input)) {
    for (const l of wrap(printable(paragraph), font, size, width)) line(l);
    y -= leading / 2;
  }
  y -= leading;
  line('Evidence checklist', bold, 12);
  for (const item of input.appeal.checklist) {
    const text = `[${item.present ? 'x' : ' '}] ${item.item}${item.note ? ` (${item.note})` : ''}`;
    for (const l of wrap(printable(text), font, size, width)) line(l);
  }
  return Buffer.from(await pdf.save({ useObjectStreams: false }));
}
