/**
 * Portal recipes are data: every file in connectors/portal/recipes loads (schema + flow rules), the sim-health recipe's
 * flows match their golden outline (test/fixtures/portal/sim-health.flows.json: a recipe change shows in review;
 * rewrite it with `PAGW_WRITE_GOLDENS=1 npx vitest run test/unit/portal-recipes.test.ts` on purpose, then read the
 * diff), and the flow rules refuse upload, update and cancel flows the engine could not run safely.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTarget } from '../../connectors/portal/engine.ts';
import { documentFile, documentsAsked, portalFields } from '../../connectors/portal/fields.ts';
import { checkRecipe, loadRecipes, type PortalRecipe, type Step } from '../../connectors/portal/recipes.ts';
import { sampleRequest } from '../helpers/fixtures.ts';

const recipesDir = path.join(import.meta.dirname, '..', '..', 'connectors', 'portal', 'recipes');
const golden = path.join(import.meta.dirname, '..', 'fixtures', 'portal', 'sim-health.flows.json');
const simHealth = () => JSON.parse(readFileSync(path.join(recipesDir, 'sim-health.json'), 'utf8'));

function outline(recipe: PortalRecipe): Record<string, string[]> {
  const line = (s: Step) =>
    [
      s.action,
      s.path ?? (s.target ? describeTarget(s.target) : ''),
      s.from ? `← ${s.from.field ?? (s.from.secret ? `secret:${s.from.secret}` : 'literal')}` : '',
      s.into ? `→ ${s.into}${s.optional ? '?' : ''}` : '',
      s.submits ? '[submits]' : '',
      s.name ?? '',
    ]
      .filter(Boolean)
      .join(' ');
  return Object.fromEntries(Object.entries(recipe.flows).map(([flow, steps]) => [flow, steps.map(line)]));
}

function problemsOf(document: unknown): string[] {
  try {
    checkRecipe(document, 'test.json');
    return [];
  } catch (error) {
    return (error as { problems: Array<{ location: string; message: string }> }).problems.map(
      (p) => `${p.location}: ${p.message}`,
    );
  }
}

describe('portal recipes', () => {
  it('every recipe loads; sim-health has upload, update and cancel flows and matches its golden outline', () => {
    const book = loadRecipes(recipesDir);
    expect(book.ids).toEqual(['sim-health', 'sim-rx']);
    const recipe = book.get('sim-health')!;
    const actual = `${JSON.stringify(outline(recipe), null, 2)}\n`;
    if (process.env.PAGW_WRITE_GOLDENS === '1') writeFileSync(golden, actual);
    expect(actual).toBe(readFileSync(golden, 'utf8'));
    expect(book.get('sim-rx')!.flows.upload).toBeUndefined();
    expect(book.get('sim-rx')!.flows.cancel).toBeUndefined();
    expect(recipe.statusMap.Cancelled).toBe('cancelled');
  });

  it('refuses an upload flow without a submitting click, without its receipt, or without the documents', () => {
    const r = simHealth();
    const upload = r.flows.upload as Step[];
    expect(
      problemsOf({ ...r, flows: { ...r.flows, upload: upload.map((s) => ({ ...s, submits: undefined })) } }),
    ).toContain('test.json: flows.upload: exactly one click must be marked `submits`');
    expect(
      problemsOf({ ...r, flows: { ...r.flows, upload: upload.filter((s) => s.into !== 'receipt') } }),
    ).toContain('test.json: flows.upload: the receipt must be extracted after the submitting click');
    expect(
      problemsOf({ ...r, flows: { ...r.flows, upload: upload.filter((s) => s.action !== 'upload') } }),
    ).toContain(
      'test.json: flows.upload: the upload flow must set the documents (`from: {field: documents}`) before the submitting click',
    );
  });

  it('refuses documents outside the upload flow, a typed file, and an update without its confirmation', () => {
    const r = simHealth();
    const submit = (r.flows.submit as Step[]).map((s) =>
      s.action === 'upload' ? { ...s, from: { field: 'documents' } } : s,
    );
    expect(problemsOf({ ...r, flows: { ...r.flows, submit } })).toContain(
      'test.json: flows.submit[10]: documents are set in the upload flow only',
    );
    const typed = (r.flows.update as Step[]).map((s) =>
      s.from?.field === 'units' ? { ...s, from: { field: 'documents' } } : s,
    );
    expect(problemsOf({ ...r, flows: { ...r.flows, update: typed } })).toEqual(
      expect.arrayContaining([
        'test.json: flows.update[4]: documents is a file: only an upload sets it',
        'test.json: flows.update[4]: documents are set in the upload flow only',
      ]),
    );
    const blind = (r.flows.update as Step[]).filter((s) => s.into !== 'confirmationNumber');
    expect(problemsOf({ ...r, flows: { ...r.flows, update: blind } })).toContain(
      'test.json: flows.update: the confirmation number must be extracted after the submitting click',
    );
    expect(
      problemsOf({ ...r, flows: { ...r.flows, status: [...r.flows.status, { ...r.flows.submit[12] }] } }),
    ).toContain(
      'test.json: flows.status[6]: only a click of the submit, update, upload or cancel flow submits',
    );
  });

  it('refuses a cancel flow without a submitting click, without the status after it, or without a look before it', () => {
    const r = simHealth();
    const cancel = r.flows.cancel as Step[];
    expect(
      problemsOf({ ...r, flows: { ...r.flows, cancel: cancel.map((s) => ({ ...s, submits: undefined })) } }),
    ).toContain('test.json: flows.cancel: exactly one click must be marked `submits`');
    const submitsAt = cancel.findIndex((s) => s.submits);
    expect(problemsOf({ ...r, flows: { ...r.flows, cancel: cancel.slice(0, submitsAt + 1) } })).toContain(
      'test.json: flows.cancel: the status must be extracted after the submitting click',
    );
    // No look before the click: a retried withdrawal could not see that the request is already cancelled.
    expect(
      problemsOf({
        ...r,
        flows: { ...r.flows, cancel: cancel.filter((s, i) => !(s.into === 'status' && i < submitsAt)) },
      }),
    ).toContain(
      "test.json: flows.cancel: the cancel flow must extract the request's `status` before the submitting click",
    );
    expect(problemsOf(r)).toEqual([]);
  });

  it('types the changeable fields of a request and reads the documents a portal asks for', () => {
    const base = sampleRequest();
    const request = sampleRequest({
      serviceLines: [
        {
          ...base.serviceLines[0]!,
          quantity: { value: 3 },
          servicePeriod: { start: '2026-12-01', end: '2026-12-31' },
        },
      ],
    });
    const fields = portalFields(request, 'PAGWTRACE1');
    expect({
      codes: fields.serviceCodes,
      units: fields.units,
      start: fields.serviceStart,
      end: fields.serviceEnd,
    }).toEqual({
      codes: base.serviceLines[0]!.code.code,
      units: '3',
      start: '2026-12-01',
      end: '2026-12-31',
    });
    expect(documentsAsked('Progress notes; Lab results', { 'Progress notes': '09' })).toEqual([
      {
        type: { system: 'https://codesystem.x12.org/005010/755', code: '09', display: 'Progress notes' },
        transmission: 'FT',
      },
      {
        type: { system: 'https://codesystem.x12.org/005010/755', code: 'OZ', display: 'Lab results' },
        transmission: 'FT',
      },
    ]);
    expect(documentsAsked('')).toEqual([]);
    const file = documentFile({
      documentId: '0b7c2a41-aaaa-bbbb-cccc-000000000000',
      reportType: '09',
      contentType: 'application/pdf',
      content: Buffer.from('%PDF-1.4'),
    });
    expect(file).toMatchObject({ name: '09-0b7c2a41.pdf', mimeType: 'application/pdf' });
  });
});
