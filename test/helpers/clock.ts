import type { Clock } from '../../src/clock.ts';

/** Real time plus an offset the test can push forward: work proceeds normally, and timers far ahead come due. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
