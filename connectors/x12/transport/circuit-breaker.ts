/**
 * A circuit breaker per payer: after `failureThreshold` consecutive failures calls are refused for
 * `cooldownMs`; then one trial call is let through (half-open) — success closes the circuit, failure opens it
 * again. Time comes from the injected clock. State is per process: it protects this process's calls.
 */
import type { Clock } from '../../../src/clock.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly clock: Clock;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(private readonly options: BreakerOptions) {}

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.options.clock.now().getTime() - this.openedAt >= this.options.cooldownMs
      ? 'half-open'
      : 'open';
  }

  /** Whether a call may go out now; when not, the time it may. Takes the half-open trial slot if it is free. */
  acquire(): { allowed: true } | { allowed: false; retryAt: Date } {
    const state = this.state;
    if (state === 'closed') return { allowed: true };
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return { allowed: true };
    }
    return { allowed: false, retryAt: new Date((this.openedAt ?? 0) + this.options.cooldownMs) };
  }

  /** Gives back a permit that made no call (the request failed before it went out): no effect on the state. */
  release(): void {
    this.trialInFlight = false;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failure(): void {
    this.failures++;
    if (this.trialInFlight || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.options.clock.now().getTime();
    }
    this.trialInFlight = false;
  }
}
