/**
 * Waits for a simulator child process to print where it listens, the one startup wait every simulator's process.ts
 * shares: resolves with the captured URL, rejects with its output when it exits first or does not start in time.
 */
import type { ChildProcess } from 'node:child_process';

export function waitForSimListening(
  child: ChildProcess,
  options: { name: string; pattern: RegExp; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => {
        child.kill('SIGKILL');
        reject(new Error(`${options.name} did not start\nstdout: ${out}\nstderr: ${err}`));
      },
      Math.max(options.timeoutMs ?? 0, 180_000),
    );
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code}\nstderr: ${err}`));
    });
    let started = false;
    // Keeps reading after the start too (a pipe nobody drains would block the simulator), without keeping it.
    child.stdout!.on('data', (d) => {
      if (started) return;
      out += d;
      const match = options.pattern.exec(out);
      if (!match) return;
      started = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(match[1]!);
    });
  });
}
