/**
 * The simulated portal's prescription drug PA form, shaped like the drug PA forms of CoverMyMeds-style ePA portals:
 * patient, pharmacy benefit (BIN, PCN, Rx group, cardholder id), medication (NDC, name, quantity, days supply,
 * refills), diagnoses, prescriber, the clinical questions answered as text, an optional supporting document. A
 * submission gets a confirmation number like any request and is followed on the same status page.
 */
import { escapeHtml, page } from './pages.ts';

export const drugFormLabels = {
  family: 'Patient last name',
  given: 'Patient first name',
  dob: 'Date of birth',
  member: 'Cardholder ID',
  bin: 'BIN',
  pcn: 'PCN',
  rxgroup: 'Rx group',
  ndc: 'Medication NDC',
  drug: 'Medication name',
  quantity: 'Quantity',
  daysSupply: 'Days supply',
  refills: 'Refills',
  diagnoses: 'Diagnosis codes (ICD-10)',
  npi: 'Prescriber NPI',
  rx: 'Prescription number',
  criteria: 'Clinical questions (criteria and how the record answers them)',
  reference: 'Your reference',
  attachment: 'Supporting documents (optional)',
} as const;

export function drugFormPage(error?: string): string {
  const note = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '';
  const l = drugFormLabels;
  const field = (id: keyof typeof drugFormLabels, type = 'text') =>
    `<label for="${id}">${escapeHtml(l[id])}</label><input id="${id}" name="${id}" type="${type}">`;
  return page(
    'New prescription drug prior authorization',
    `${note}<form method="post" action="/rx/new" enctype="multipart/form-data">
<fieldset><legend>Patient</legend>${field('family')}${field('given')}${field('dob', 'date')}</fieldset>
<fieldset><legend>Pharmacy benefit</legend>${field('member')}${field('bin')}${field('pcn')}${field('rxgroup')}</fieldset>
<fieldset><legend>Medication</legend>${field('ndc')}${field('drug')}${field('quantity')}${field('daysSupply')}${field('refills')}${field('rx')}</fieldset>
<fieldset><legend>Clinical</legend>${field('diagnoses')}${field('npi')}
<label for="criteria">${escapeHtml(l.criteria)}</label><textarea id="criteria" name="criteria" rows="6" cols="60"></textarea></fieldset>
<label for="urgency">Urgency</label><select id="urgency" name="urgency"><option value="standard">Standard</option><option value="expedited">Expedited</option></select>
${field('reference')}
<label for="attachment">${escapeHtml(l.attachment)}</label><input id="attachment" name="attachment" type="file">
<p><button type="submit">Send to plan</button></p></form>`,
    { nav: true },
  );
}

export interface DrugRequest {
  readonly bin: string;
  readonly pcn: string;
  readonly rxgroup: string;
  readonly ndc: string;
  readonly drug: string;
  readonly quantity: string;
  readonly daysSupply: string;
  readonly refills: string;
  readonly rx: string;
  readonly criteria: string;
}

/** What is missing or malformed in a drug PA form (the field names), empty when it can be taken. */
export function drugFormProblems(text: (name: string) => string): string[] {
  const problems = [
    'family',
    'given',
    'dob',
    'member',
    'ndc',
    'quantity',
    'daysSupply',
    'npi',
    'reference',
  ].filter((f) => !text(f));
  if (!/^\d{6}$/.test(text('bin'))) problems.push('bin');
  if (text('ndc') && !/^\d{11}$/.test(text('ndc'))) problems.push('ndc (11 digits)');
  return problems;
}

export function drugRequestOf(text: (name: string) => string): DrugRequest {
  return {
    bin: text('bin'),
    pcn: text('pcn'),
    rxgroup: text('rxgroup'),
    ndc: text('ndc'),
    drug: text('drug'),
    quantity: text('quantity'),
    daysSupply: text('daysSupply'),
    refills: text('refills'),
    rx: text('rx'),
    criteria: text('criteria'),
  };
}
