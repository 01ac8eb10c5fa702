/**
 * The polling loop every worker runs (src/workers/poll-loop.ts): a wake that comes while a poll runs is not lost.
 * The poll may have read before the work its wake announces was committed; sleeping then would leave that work for
 * the next interval.
 */
import { describe, expect, it } from 'vitest';
import { startPollLoop } from '../../src/workers/poll-loop.ts';
import { waitFor } from '../helpers/store.ts';

describe('poll loop', () => {
  it('polls again at once when woken during a poll that found nothing', async () => {
    let polls = 0;
    let wakeDuringFirst: (() => void) | undefined;
    const loop = startPollLoop({
      intervalMs: 3_600_000, // only a wake can bring a second poll within the test
      poll: async () => {
        polls++;
        if (polls === 1) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          wakeDuringFirst?.();
        }
        return false;
      },
      onError: () => {},
    });
    wakeDuringFirst = () => loop.wake();
    try {
      await waitFor(() => (polls >= 2 ? true : undefined), { what: 'the second poll' });
      expect(polls).toBe(2);
    } finally {
      await loop.stop();
    }
  });

  it('sleeps after a poll that found nothing and was not woken', async () => {
    let polls = 0;
    const loop = startPollLoop({
      intervalMs: 3_600_000,
      poll: async () => {
        polls++;
        return false;
      },
      onError: () => {},
    });
    await waitFor(() => (polls >= 1 ? true : undefined), { what: 'the first poll' });
    loop.wake();
    await waitFor(() => (polls >= 2 ? true : undefined), { what: 'the poll the wake brought' });
    await loop.stop();
    expect(polls).toBe(2);
  });
});
