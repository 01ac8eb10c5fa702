/**
 * The contract every PayerConnector keeps (src/workflow/ports/payer-connector.ts), as one suite each channel runs
 * against its own simulated payer: connectors/x12 in clearinghouse-contract.test.ts, connectors/portal in
 * portal-contract.test.ts (real Chromium), connectors/pas in pas-contract.test.ts. A channel declares what it
 * cannot do (capabilities).
 *
 *   connectorContract('x12', async () => harness)
 *
 * A harness supplies the connector, fresh call contexts, a request for each scripted payer behaviour, and a
 * way to count what the payer side actually took in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationRequest } from '../../src/canonical/types.generated.ts';
import { checkAuthorizationDecision } from '../../src/canonical/validate.ts';
import { isGatewayError } from '../../src/errors/index.ts';
import type {
  PayerCallContext,
  PayerConnector,
  SubmissionOutcome,
} from '../../src/workflow/ports/payer-connector.ts';

export type ContractScenario = 'approve' | 'deny' | 'pend' | 'unreachable' | 'aaa';

/** What a channel can do; the contract checks the rest is refused cleanly. All true when absent (X12). */
export interface ContractCapabilities {
  /** Answers eligibility inquiries. */
  readonly eligibility?: boolean;
  /** Withdraws a submission. */
  readonly cancel?: boolean;
  /** Can decide in the answer to the submission itself (X12 278); false: a submission pends, inquire() decides. */
  readonly decidesOnSubmit?: boolean;
}

export interface ContractHarness {
  readonly connector: PayerConnector;
  readonly capabilities?: ContractCapabilities;
  /** A fresh case: new case id and trace number. */
  context(scenario?: ContractScenario): PayerCallContext;
  /** A request the payer answers with the scenario's behaviour. */
  request(scenario: ContractScenario): AuthorizationRequest;
  /** How many live submissions with this trace the payer holds. */
  liveSubmissions(traceNumber: string): Promise<number>;
  close(): Promise<void>;
}

function expectValidDecision(outcome: SubmissionOutcome, channel: string) {
  if (outcome.kind === 'rejected') return;
  const check = checkAuthorizationDecision(outcome.decision);
  expect(check.ok ? [] : check.problems).toEqual([]);
  expect(outcome.decision.channel).toBe(channel);
}

export function connectorContract(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`PayerConnector contract: ${name}`, () => {
    let h: ContractHarness;
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h?.close();
    });

    const can = (what: keyof ContractCapabilities) => h.capabilities?.[what] ?? true;

    /** The payer's answer: submit, and where the channel pends first, one inquiry. */
    async function decide(scenario: ContractScenario, ctx: PayerCallContext): Promise<SubmissionOutcome> {
      const submitted = await h.connector.submit(h.request(scenario), ctx);
      expectValidDecision(submitted, h.connector.channel);
      if (can('decidesOnSubmit')) return submitted;
      expect(submitted.kind).toBe('pended');
      return h.connector.inquire(h.request(scenario), { ...ctx, attempt: 2 });
    }

    it('submit: an approval comes back decided, with a decision that satisfies the canonical schema', async () => {
      const ctx = h.context('approve');
      const outcome = await decide('approve', ctx);
      expect(outcome.kind).toBe('decided');
      expectValidDecision(outcome, h.connector.channel);
      if (outcome.kind === 'decided') expect(outcome.decision.outcome).toBe('approved');
      expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    });

    it('submit: a denial comes back decided as denied', async () => {
      const outcome = await decide('deny', h.context('deny'));
      expect(outcome.kind === 'decided' && outcome.decision.outcome).toBe('denied');
      expectValidDecision(outcome, h.connector.channel);
    });

    it('submit is idempotent per trace: asking again returns the same answer without a second submission', async () => {
      const ctx = h.context('approve');
      const first = await h.connector.submit(h.request('approve'), ctx);
      const second = await h.connector.submit(h.request('approve'), { ...ctx, attempt: 2 });
      expect(second).toEqual(first);
      expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    });

    it('pended: inquire() follows up until the payer decides', async () => {
      const ctx = h.context('pend');
      const pended = await h.connector.submit(h.request('pend'), ctx);
      expect(pended.kind).toBe('pended');
      expectValidDecision(pended, h.connector.channel);
      const later = await h.connector.inquire(h.request('pend'), ctx);
      expect(later.kind).toBe('decided');
      expectValidDecision(later, h.connector.channel);
      expect(await h.liveSubmissions(ctx.traceNumber)).toBe(1);
    });

    it('reconcile: an unknown trace is not live; a submitted one is, with its outcome', async () => {
      const fresh = h.context('approve');
      expect((await h.connector.reconcile(h.request('approve'), fresh)).live).toBe(false);
      const ctx = h.context('approve');
      await h.connector.submit(h.request('approve'), ctx);
      const found = await h.connector.reconcile(h.request('approve'), ctx);
      expect(found.live).toBe(true);
      expect(found.outcome?.kind).toBe(can('decidesOnSubmit') ? 'decided' : 'pended');
    });

    it('a payer refusal is a rejected outcome, not an exception', async () => {
      const outcome = await h.connector.submit(h.request('aaa'), h.context('aaa'));
      expect(outcome.kind).toBe('rejected');
      if (outcome.kind === 'rejected') expect(outcome.reasons.length).toBeGreaterThan(0);
    });

    it('an unreachable payer throws a retriable GatewayError and sends nothing twice', async () => {
      const ctx = h.context('unreachable');
      let thrown: unknown;
      try {
        await h.connector.submit(h.request('unreachable'), ctx);
      } catch (error) {
        thrown = error;
      }
      expect(isGatewayError(thrown) && thrown.retriable).toBe(true);
      expect(await h.liveSubmissions(ctx.traceNumber)).toBeLessThanOrEqual(1);
    });

    it('eligibility: an active member reads as active (or the channel refuses the question, not retriable)', async () => {
      if (!can('eligibility')) {
        const error = await h.connector
          .checkEligibility(h.request('approve'), h.context('approve'))
          .catch((e) => e);
        expect(isGatewayError(error) && !error.retriable).toBe(true);
        return;
      }
      const result = await h.connector.checkEligibility(h.request('approve'), h.context('approve'));
      expect(result.status).toBe('active');
    });

    it('cancel: a decided request can be withdrawn (or the channel refuses, not retriable)', async () => {
      const ctx = h.context('approve');
      await h.connector.submit(h.request('approve'), ctx);
      if (!can('cancel')) {
        const error = await h.connector.cancel(h.request('approve'), ctx).catch((e) => e);
        expect(isGatewayError(error) && !error.retriable).toBe(true);
        return;
      }
      const cancelled = await h.connector.cancel(h.request('approve'), ctx);
      expect(cancelled.kind === 'decided' && cancelled.decision.outcome).toBe('cancelled');
    });
  });
}
