/**
 * A later answer asking for documents (`information_requested`): only what the case's decision did not ask for yet
 * is a new request; the same request on the next look is not (no second event, no second task).
 */
import { describe, expect, it } from 'vitest';
import type { AuthorizationDecision } from '../../src/canonical/index.ts';
import {
  documentRequestKeys,
  newlyRequestedDocuments,
  planInformationRequest,
} from '../../src/workflow/information-requests.ts';

const reportType = 'https://codesystem.x12.org/005010/755';
const pended: AuthorizationDecision = {
  outcome: 'pended',
  reviewActionCode: 'A4',
  administrativeReference: 'SIMREF00001',
  payer: { id: 'example-health-plan' },
  channel: 'x12',
  lines: [],
  reasons: [{ system: 'https://codesystem.x12.org/external/886', code: '0U' }],
  followUp: 'none',
  decidedAt: '2026-03-02',
};
const asking = (...docs: [string, string?][]): AuthorizationDecision => ({
  ...pended,
  followUp: 'send_documentation',
  messages: ['SEND PROGRESS NOTES'],
  ...(docs.length
    ? {
        documentsRequested: docs.map(([code, acn]) => ({
          type: { system: reportType, code },
          transmission: 'EL',
          ...(acn ? { attachmentControlNumber: acn } : {}),
        })),
      }
    : {}),
});

describe('documents asked for on a later look', () => {
  it('reads what a decision asks for: nothing, named documents, or documentation it does not name', () => {
    expect(documentRequestKeys(pended)).toEqual([]);
    expect(documentRequestKeys(null)).toEqual([]);
    expect(documentRequestKeys(asking(['09', 'ACN1'], ['09', 'ACN1']))).toEqual([`${reportType}|09|ACN1`]);
    expect(documentRequestKeys(asking())).toEqual(['*']);
    // A decided answer asks for nothing, whatever it carries.
    expect(documentRequestKeys({ ...asking(['09']), outcome: 'approved' })).toEqual([]);
  });

  it('a request after a pended answer that asked for nothing is new; the same request again is not', () => {
    expect(newlyRequestedDocuments(pended, asking(['09', 'ACN1']))).toEqual([`${reportType}|09|ACN1`]);
    expect(newlyRequestedDocuments(asking(['09', 'ACN1']), asking(['09', 'ACN1']))).toEqual([]);
    expect(newlyRequestedDocuments(pended, pended)).toEqual([]);
    expect(newlyRequestedDocuments(pended, asking())).toEqual(['*']);
    expect(newlyRequestedDocuments(asking(['09']), asking())).toEqual([]);
  });

  it('another document, or the same kind under a new control number, is new', () => {
    expect(newlyRequestedDocuments(asking(['09', 'ACN1']), asking(['09', 'ACN1'], ['OB', 'ACN2']))).toEqual([
      `${reportType}|OB|ACN2`,
    ]);
    expect(newlyRequestedDocuments(asking(['09', 'ACN1']), asking(['09', 'ACN3']))).toEqual([
      `${reportType}|09|ACN3`,
    ]);
    // Fewer documents asked for is no new request.
    expect(newlyRequestedDocuments(asking(['09', 'ACN1'], ['OB', 'ACN2']), asking(['09', 'ACN1']))).toEqual(
      [],
    );
  });

  it('plans information_requested with the new decision, keeping the inquiry count', () => {
    const after = asking(['09', 'ACN1']);
    expect(
      planInformationRequest(pended, { decision: after, nextStepInMs: 60_000 }, { inquiries: 2 }, 'x12'),
    ).toEqual({
      event: 'information_requested',
      data: {
        reason: 'DOCUMENTS_REQUESTED',
        via: 'x12',
        reviewActionCode: 'A4',
        administrativeReference: 'SIMREF00001',
        documentsRequested: [{ code: '09', attachmentControlNumber: 'ACN1' }],
        newlyRequested: 1,
      },
      patch: { decision: after },
      nextStepInMs: 60_000,
      nextStepPayload: { inquiries: 3 },
    });
    expect(planInformationRequest(after, { decision: after, nextStepInMs: 60_000 }, undefined, 'x12')).toBe(
      undefined,
    );
  });
});
