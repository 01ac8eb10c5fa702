/**
 * The loop every polling worker runs: call `poll` until told to stop; when it found work (returns true) poll
 * again at once, otherwise sleep `intervalMs` — unless `wake()` cuts the sleep short.
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
  const loop = (async () => {
    while (!stopped) {
      try {
        if (await options.poll()) continue;
      } catch (error) {
        if (!stopped) options.onError(error);
      }
      if (stopped) break;
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
    wake: () => cutSleep?.(),
    async stop() {
      stopped = true;
      cutSleep?.();
      await loop;
    },
  };
}
