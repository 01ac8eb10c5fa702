/**
 * The x12 connector against the simulated clearinghouse process, one scripted payer behaviour at a time:
 * approve, deny, pend → inquire → decide, modify units, AAA, 999 reject, TA1 reject, slow (timeout → reconcile),
 * 5xx (retry, then breaker), dropped connection — and whatever happens, never two live submissions per case.
 * Every exchange is in payer_submissions, recorded before it was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAuthorizationDecision } from '../../src/canonical/validate.ts';
import { ManualClock } from '../../src/clock.ts';
import { x12Channel } from '../../src/workflow/rules/index.ts';
import { type Harness, openHarness } from './clearinghouse-harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await openHarness({ slowMs: 60_000 });
});
afterAll(async () => {
  await h?.close();
});

function decisionOf(outcome: Awaited<ReturnType<ReturnType<Harness['connector']>['submit']>>) {
  if (outcome.kind !== 'decided' && outcome.kind !== 'pended')
    throw new Error(`expected a decision, got ${outcome.kind}`);
  const check = checkAuthorizationDecision(outcome.decision);
  expect(check.ok ? [] : check.problems).toEqual([]);
  return outcome.decision;
}

async function thrownBy(
  promise: Promise<unknown>,
): Promise<{ code: string; retriable: boolean; problems: { location: string; message: string }[] }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a rejection');
}

describe('x12 connector × simulated clearinghouse: scripted payer behaviours', () => {
  it('approve: A1 → approved with the certification number, period and authorized units; one live submission', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const decision = decisionOf(await connector.submit(h.request('W200'), ctx));
    expect(decision).toMatchObject({
      outcome: 'approved',
      reviewActionCode: 'A1',
      certificationNumber: expect.stringMatching(/^SIMCERT/),
      payer: { id: 'example-health-plan', name: 'Example Health Plan' },
      channel: 'x12',
      lines: [
        {
          sequence: 1,
          outcome: 'approved',
          code: { code: '70553' },
          authorizedQuantity: { value: 6, unit: 'UN' },
        },
      ],
      rawMessageRef: expect.stringMatching(/^payer_submissions:\d+$/),
    });
    expect(decision.authorizedPeriod?.start).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    const rows = await h.store.forCase(ctx.caseId);
    expect(rows.map((r) => [r.purpose, r.attempt, r.status])).toEqual([['submit', 1, 'answered']]);
    // Stored sealed; the audited read opens it.
    expect(rows[0]!.request).toMatch(/^pgv1:/);
    expect(rows[0]!.request).not.toContain(ctx.traceNumber);
    const opened = await h.store.openPayloads(rows[0]!.id, { reader: 'system:test' });
    expect(opened?.request).toContain(`TRN*1*${ctx.traceNumber}*9PAGATEWAY~`);
    expect(opened?.response).toContain('HCR*A1');
    expect(rows[0]!.interchangeControlNumber).toMatch(/^\d{9}$/);
  });

  it('deny: A3 → denied with the reason code and the payer message, no authorized units', async () => {
    const decision = decisionOf(await h.connector().submit(h.request('DENY200'), h.context()));
    expect(decision).toMatchObject({
      outcome: 'denied',
      reviewActionCode: 'A3',
      reasons: [{ code: 'AO' }],
      messages: ['NOT MEDICALLY NECESSARY'],
    });
    expect(decision.lines[0]).not.toHaveProperty('authorizedQuantity');
  });

  it('pend → inquire → decide: A4 with an administrative reference, then the 278 inquiry gets the decision', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const request = h.request('PEND2-200');
    const first = await connector.submit(request, ctx);
    expect(first.kind).toBe('pended');
    expect(first.kind === 'pended' && first.checkAfterMs).toBe(60_000);
    expect(decisionOf(first)).toMatchObject({
      outcome: 'pended',
      administrativeReference: expect.stringMatching(/^SIMREF/),
      followUp: 'send_documentation',
    });
    const second = await connector.inquire(request, ctx);
    expect(second.kind).toBe('pended');
    const third = await connector.inquire(request, ctx);
    expect(decisionOf(third)).toMatchObject({
      outcome: 'approved',
      certificationNumber: expect.stringMatching(/^SIMCERT/),
    });
    // The inquiries carried the payer's reference, and the review was submitted once.
    const rows = await h.store.forCase(ctx.caseId);
    const inquiries = rows.filter((r) => r.purpose === 'inquire');
    for (const row of inquiries)
      expect((await h.store.openPayloads(row.id, { reader: 'system:test' }))?.request).toContain(
        'REF*NT*SIMREF',
      );
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    // A later submit() (a crash-recovering workflow) gets the latest word, not a second submission.
    expect(decisionOf(await connector.submit(request, ctx)).outcome).toBe('approved');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
  });

  it('documents asked for later: A4 without PWK, then the first inquiry asks for a progress report', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const request = h.request('LATEDOCS200');
    const first = decisionOf(await connector.submit(request, ctx));
    expect(first).toMatchObject({ outcome: 'pended', followUp: 'none' });
    expect(first.documentsRequested).toBeUndefined();
    const asked = await connector.inquire(request, ctx);
    expect(decisionOf(asked)).toMatchObject({
      outcome: 'pended',
      followUp: 'send_documentation',
      documentsRequested: [
        {
          type: { code: '09' },
          transmission: 'EL',
          attachmentControlNumber: expect.stringMatching(/^ACN\d+$/),
        },
      ],
      messages: ['SEND PROGRESS NOTES'],
    });
    // Until the documents arrive, every inquiry asks again.
    expect(decisionOf(await connector.inquire(request, ctx)).followUp).toBe('send_documentation');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
  });

  it('pend → deny: a pended review can end denied', async () => {
    const connector = h.connector();
    const ctx = h.context();
    await connector.submit(h.request('PENDDENY200'), ctx);
    expect(decisionOf(await connector.inquire(h.request('PENDDENY200'), ctx)).outcome).toBe('denied');
  });

  it('modify: A6 → modified, with the units the payer cut to', async () => {
    const decision = decisionOf(await h.connector().submit(h.request('MODIFY200'), h.context()));
    expect(decision).toMatchObject({
      outcome: 'modified',
      lines: [{ outcome: 'modified', authorizedQuantity: { value: 3, unit: 'UN' } }],
    });
  });

  it('AAA: a payer rejection is an outcome with reject reason and follow-up codes, and not a live submission', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const outcome = await connector.submit(h.request('AAA200'), ctx);
    expect(outcome).toMatchObject({
      kind: 'rejected',
      resubmitAllowed: true,
      reasons: [
        {
          system: 'https://codesystem.x12.org/005010/901',
          code: '72',
          text: 'Invalid/missing subscriber/insured ID',
        },
        { system: 'https://codesystem.x12.org/005010/889', code: 'C' },
      ],
    });
    expect((await h.store.latest(ctx.caseId, 'submit'))?.status).toBe('rejected');
  });

  it('999 reject: a non-retriable error naming the failing segment, loop and element', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const error = await thrownBy(connector.submit(h.request('REJ999-200'), ctx));
    expect(error).toMatchObject({ code: 'PAGW_X12_REJECTED_999', retriable: false });
    expect(error.problems).toContainEqual({
      location: 'NM109 (NM1 at position 8 in loop 2010C)',
      message: 'IK403 7 Invalid code value (element 67)',
    });
    expect((await h.store.latest(ctx.caseId, 'submit'))?.status).toBe('rejected');
  });

  it('TA1 reject: the interchange is refused with its note code', async () => {
    const error = await thrownBy(h.connector().submit(h.request('REJTA1-200'), h.context()));
    expect(error).toMatchObject({ code: 'PAGW_X12_REJECTED_TA1', retriable: false });
    expect(error.problems[0]?.message).toContain('006');
  });

  it('slow answer: the timeout leaves the outcome unknown; reconciliation finds the trace and nothing is resent', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const decision = decisionOf(await connector.submit(h.request('SLOW200'), ctx));
    expect(decision.outcome).toBe('approved');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    const rows = await h.store.forCase(ctx.caseId);
    expect(rows.map((r) => [r.purpose, r.status, r.errorCode])).toEqual([
      ['submit', 'answered', 'PAGW_X12_TRANSPORT_TIMEOUT'],
      ['reconcile', 'answered', null],
    ]);
  });

  it('dropped connection: the payer took it in; reconciliation finds it instead of sending it twice', async () => {
    const connector = h.connector();
    const ctx = h.context();
    expect(decisionOf(await connector.submit(h.request('DROP200'), ctx)).outcome).toBe('approved');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    expect((await h.store.forCase(ctx.caseId)).map((r) => r.purpose)).toEqual(['submit', 'reconcile']);
  });

  it('5xx once: retried after reconciliation shows the payer does not have it; one live submission in the end', async () => {
    const connector = h.connector();
    const ctx = h.context();
    expect(decisionOf(await connector.submit(h.request('FLAKY200'), ctx)).outcome).toBe('approved');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    const received = (await h.sim.received()).filter((r) => r.traceNumber === ctx.traceNumber);
    expect(received.map((r) => `${r.kind} ${r.disposition}`)).toEqual([
      '278-request http-503',
      '278-inquiry not-found',
      '278-request answered',
    ]);
    expect((await h.store.forCase(ctx.caseId)).map((r) => [r.purpose, r.attempt, r.status])).toEqual([
      ['submit', 1, 'not_received'],
      ['reconcile', 1, 'answered'],
      ['submit', 2, 'answered'],
    ]);
  });

  it('5xx always: retriable errors, never a second 278 while unreconciled, then the breaker opens without calling', async () => {
    const clock = new ManualClock('2026-03-01T08:00:00Z');
    const connector = h.connector({ clock });
    const ctx = h.context({ ...h.payer, id: 'always-down-payer' });
    const request = h.request('FAIL5XX200');
    const first = await thrownBy(connector.submit(request, ctx));
    expect(first).toMatchObject({ code: 'PAGW_X12_TRANSPORT_UNAVAILABLE', retriable: true });
    expect(connector.breakerState('always-down-payer')).toBe('open');
    const received = async () => (await h.sim.received()).filter((r) => r.traceNumber === ctx.traceNumber);
    const before = (await received()).length;
    const second = await thrownBy(connector.submit(request, ctx));
    expect(second).toMatchObject({ code: 'PAGW_X12_CIRCUIT_OPEN', retriable: true });
    expect((await received()).length).toBe(before);
    // One 278 ever reached the clearinghouse; every later call was a reconciliation (which also failed).
    expect((await received()).filter((r) => r.kind === '278-request')).toHaveLength(1);
    expect((await h.store.latest(ctx.caseId, 'submit'))?.status).toBe('unknown');
    // After the cooldown one trial call goes out (half-open); it fails, so the circuit opens again.
    clock.advance(60_000);
    expect(connector.breakerState('always-down-payer')).toBe('half-open');
    await thrownBy(connector.submit(request, ctx));
    expect(connector.breakerState('always-down-payer')).toBe('open');
  });

  it('cancel: the 278 with UM02 3 and REF*BB withdraws a certified request', async () => {
    const connector = h.connector();
    const ctx = h.context();
    const approved = decisionOf(await connector.submit(h.request('W201'), ctx));
    const cancelled = await connector.cancel(h.request('W201'), ctx);
    expect(decisionOf(cancelled)).toMatchObject({ outcome: 'cancelled', reviewActionCode: 'C' });
    const cancelRow = (await h.store.forCase(ctx.caseId)).find((r) => r.purpose === 'cancel');
    expect((await h.store.openPayloads(cancelRow!.id, { reader: 'system:test' }))?.request).toContain(
      `UM*HS*3*1~REF*BB*${approved.certificationNumber}~`,
    );
  });

  it('batch processing mode: the receipt pends the case; the follow-up inquiry gets the decision', async () => {
    const connector = h.connector();
    const ctx = h.context(h.payer, {
      clearinghouse: {
        ...x12Channel(h.payer)!.clearinghouse,
        processingMode: 'Batch',
      },
    });
    const first = await connector.submit(h.request('W202'), ctx);
    expect(first.kind).toBe('pended');
    expect(decisionOf(first).messages?.[0]).toContain('X12_BatchReceiptConfirmation');
    expect(decisionOf(await connector.inquire(h.request('W202'), ctx)).outcome).toBe('approved');
    expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
  });
});

describe('x12 connector × simulated clearinghouse: eligibility (270/271)', () => {
  it('active coverage with the plan and the authorization-required flag for the service type asked', async () => {
    const request = h.request('W300', {
      serviceLines: [
        {
          sequence: 1,
          code: { system: 'http://www.ama-assn.org/go/cpt', code: '70553' },
          category: { system: 'https://codesystem.x12.org/005010/1365', code: '73' },
        },
      ],
    });
    const ctx = h.context();
    const result = await h.connector().checkEligibility(request, ctx);
    expect(result).toEqual({
      status: 'active',
      planName: 'SIM GOLD PLAN',
      planPeriod: { start: '2025-01-01' },
      authorizationRequired: true,
      messages: [],
    });
    expect((await h.store.forCase(ctx.caseId)).map((r) => [r.purpose, r.status])).toEqual([
      ['eligibility', 'answered'],
    ]);
  });

  it('inactive coverage stops with a clear reason', async () => {
    const result = await h.connector().checkEligibility(h.request('INACTIVE300'), h.context());
    expect(result).toEqual({
      status: 'inactive',
      reasons: [{ system: 'https://codesystem.x12.org/005010/1390', code: '6', text: 'Inactive' }],
      messages: [],
    });
  });

  it('an AAA rejection of the inquiry gives reason and follow-up codes', async () => {
    const result = await h.connector().checkEligibility(h.request('ELIGAAA300'), h.context());
    expect(result).toMatchObject({
      status: 'rejected',
      resubmitAllowed: true,
      reasons: [{ code: '75', text: 'Subscriber/insured not found' }, { code: 'C' }],
    });
  });

  it('refuses a payer whose x12 channel answers no 270s (PAGW_PAYER_NO_CHANNEL)', async () => {
    const error = await thrownBy(
      h.connector().checkEligibility(h.request('W301'), h.context(h.payer, { eligibility: false })),
    );
    expect(error).toMatchObject({ code: 'PAGW_PAYER_NO_CHANNEL', retriable: false });
  });
});
