import { describe, expect, it } from 'vitest';
import {
  createPayerLimits,
  defaultPayerMaxInFlight,
  limitConnector,
  maxInFlightOf,
} from '../../src/workers/payer-limits.ts';
import type { PayerCallContext, PayerConnector } from '../../src/workflow/ports/payer-connector.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const ctx = (payer: string, settings: Record<string, unknown> = {}): PayerCallContext => ({
  tenant: 't',
  caseId: `case-${payer}`,
  traceNumber: 'TRN1',
  payer: { id: payer, settings },
  attempt: 1,
  at: new Date(0),
});

describe('payer limits', () => {
  it('runs at most the limit per payer and channel at once, the rest in arrival order; other payers are not held', async () => {
    const limits = createPayerLimits();
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const calls = gates.map((gate, i) =>
      limits.run('acme', 'x12', 2, async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    const other = limits.run('other', 'x12', 2, async () => 'other');
    expect(await other).toBe('other');
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(limits.figures().find((f) => f.payer === 'acme')).toMatchObject({
      inFlight: 2,
      waiting: 3,
      limit: 2,
    });

    gates[1]!.resolve();
    expect(await calls[1]).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(limits.figures().find((f) => f.payer === 'acme')).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it('a failed call gives its place back', async () => {
    const limits = createPayerLimits();
    await expect(
      limits.run('acme', 'pas', 1, async () => {
        throw new Error('payer down');
      }),
    ).rejects.toThrow('payer down');
    expect(await limits.run('acme', 'pas', 1, async () => 'next')).toBe('next');
    expect(limits.figures()[0]).toMatchObject({ inFlight: 0, waiting: 0 });
  });

  it("takes a channel's maxInFlight from the payer directory, else the default", () => {
    expect(maxInFlightOf(ctx('acme', { maxInFlight: 3 }))).toBe(3);
    expect(maxInFlightOf(ctx('acme'))).toBe(defaultPayerMaxInFlight);
  });

  it('a limited connector bounds payer calls by the payer channel setting and passes other members through', async () => {
    const limits = createPayerLimits();
    const gate = deferred();
    let running = 0;
    let most = 0;
    const connector = {
      async submit(_request: unknown, _ctx: PayerCallContext) {
        running++;
        most = Math.max(most, running);
        await gate.promise;
        running--;
        return { status: 'pended' };
      },
      unavailable: () => undefined,
    } as unknown as PayerConnector & { unavailable(): undefined };
    const limited = limitConnector(connector, 'portal', limits) as typeof connector;
    const submissions = Array.from({ length: 4 }, () =>
      limited.submit({} as never, ctx('lansing', { maxInFlight: 1 })),
    );
    await Promise.resolve();
    expect(limits.figures()).toEqual([
      { payer: 'lansing', channel: 'portal', inFlight: 1, waiting: 3, limit: 1 },
    ]);
    gate.resolve();
    await Promise.all(submissions);
    expect(most).toBe(1);
    expect(limited.unavailable()).toBeUndefined();
  });
});
