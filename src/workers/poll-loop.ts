/**
 * The loop every polling worker runs: call `poll` until told to stop; when it found work (returns true) poll
 * again at once, otherwise sleep `intervalMs` — unless `wake()` cuts the sleep short. A wake that comes while a poll
 * runs is kept: the poll may have read before the work it announces was committed, so the loop polls again at once
 * instead of sleeping through it.
 */
export interface PollLoop {
  /** Ends a sleep early (new work is likely). */
  wake(): void;
  /** Stops polling and resolves once the poll in progress, if any, has finished. */
  stop(): Promise<void>;
  readonly stopped: boolean;
}

export function startPollLoop(options: {
  intervalMs: number;
  poll: () => Promise<boolean>;
  onError: (error: unknown) => void;
}): PollLoop {
  let stopped = false;
  let cutSleep: (() => void) | undefined;
  /** A wake came since the current poll began. */
  let woken = false;
  const loop = (async () => {
    while (!stopped) {
      woken = false;
      try {
        if (await options.poll()) continue;
      } catch (error) {
        if (!stopped) options.onError(error);
      }
      if (stopped) break;
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, options.intervalMs);
        cutSleep = () => {
          clearTimeout(timeout);
          resolve();
        };
      });
    }
  })();
  return {
    get stopped() {
      return stopped;
    },
    wake: () => {
      woken = true;
      cutSleep?.();
    },
    async stop() {
      stopped = true;
      cutSleep?.();
      await loop;
    },
  };
}
