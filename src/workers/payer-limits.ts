/**
 * Per payer and channel limits on calls in flight (issue #17). The step worker runs many payer steps at once (its
 * payer lane, default 256 slots: payer calls are I/O waits); these limits keep any ONE payer's endpoint from
 * receiving more than its channel's `maxInFlight` calls at once (payers/<id>.json, default 128), whatever the
 * channel — x12, pas and portal connectors are all wrapped here, so they share one mechanism.
 *
 * Back-pressure: a call over its payer's limit waits, first come first served, holding its step slot; once the
 * lane's slots are all taken the step worker claims no more steps, and the rest wait as due timers in the database
 * (nothing queues in memory beyond the lane's slots). In flight and waiting calls per payer and channel are
 * exported as metrics (src/metrics).
 */
import type { PayerCallContext, PayerChannel, PayerConnector } from '../workflow/ports/payer-connector.ts';

/**
 * Calls to one payer on one channel at once when its directory entry sets no `maxInFlight`: half the step worker's
 * payer slots (256), high enough that a clearinghouse answering in 300 ms still takes ~400 calls a second. Calls
 * waiting for a place hold their step slot too, so a payer with a deep backlog can still fill the lane.
 */
export const defaultPayerMaxInFlight = 128;

export interface PayerLimitFigures {
  readonly payer: string;
  readonly channel: PayerChannel;
  readonly inFlight: number;
  readonly waiting: number;
  readonly limit: number;
}

export interface PayerLimits {
  /** Runs `call` once the payer's channel has a free place (first come, first served). */
  run<T>(payer: string, channel: PayerChannel, limit: number, call: () => Promise<T>): Promise<T>;
  /** In flight and waiting per payer and channel (only those that have been called). */
  figures(): PayerLimitFigures[];
}

interface Gate {
  payer: string;
  channel: PayerChannel;
  limit: number;
  inFlight: number;
  readonly waiters: Array<() => void>;
}

export function createPayerLimits(): PayerLimits {
  const gates = new Map<string, Gate>();

  function gateOf(payer: string, channel: PayerChannel, limit: number): Gate {
    const key = `${channel}\u0000${payer}`;
    let gate = gates.get(key);
    if (!gate) {
      gate = { payer, channel, limit, inFlight: 0, waiters: [] };
      gates.set(key, gate);
    }
    gate.limit = limit; // the directory is read once, but keep the latest a caller gave
    return gate;
  }

  function release(gate: Gate): void {
    const next = gate.waiters.shift();
    if (next)
      next(); // the place passes straight to the next waiter: inFlight stays the same
    else gate.inFlight--;
  }

  return {
    async run(payer, channel, limit, call) {
      const gate = gateOf(payer, channel, Math.max(1, limit));
      if (gate.inFlight < gate.limit) gate.inFlight++;
      else await new Promise<void>((resolve) => gate.waiters.push(resolve));
      try {
        return await call();
      } finally {
        release(gate);
      }
    },
    figures: () =>
      [...gates.values()].map((g) => ({
        payer: g.payer,
        channel: g.channel,
        inFlight: g.inFlight,
        waiting: g.waiters.length,
        limit: g.limit,
      })),
  };
}

/** The limit of the payer's channel a call goes to: its `maxInFlight` setting, else the default. */
export function maxInFlightOf(ctx: Pick<PayerCallContext, 'payer'>): number {
  const value = ctx.payer.settings.maxInFlight;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : defaultPayerMaxInFlight;
}

/**
 * The connector with every payer call (the methods that take a PayerCallContext) run under the payer's limit on
 * `channel`. Other members pass through untouched.
 */
export function limitConnector(
  connector: PayerConnector,
  channel: PayerChannel,
  limits: PayerLimits,
): PayerConnector {
  return new Proxy(connector, {
    get(target, property, receiver) {
      const member = Reflect.get(target, property, receiver) as unknown;
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        const ctx = args.find(isCallContext);
        const invoke = () => (member as (...a: unknown[]) => unknown).apply(target, args);
        if (!ctx) return invoke();
        return limits.run(ctx.payer.id, channel, maxInFlightOf(ctx), async () => invoke());
      };
    },
  });
}

function isCallContext(value: unknown): value is PayerCallContext {
  if (typeof value !== 'object' || value === null) return false;
  const payer = (value as { payer?: unknown }).payer;
  return (
    typeof (value as { traceNumber?: unknown }).traceNumber === 'string' &&
    typeof payer === 'object' &&
    payer !== null &&
    typeof (payer as { id?: unknown }).id === 'string'
  );
}
