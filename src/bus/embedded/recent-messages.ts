/**
 * The messages this process appended to the embedded bus and saw committed: per partition, the latest run of
 * consecutive offsets (issue #17). This process's readers take their next messages from here instead of reading
 * the log again, a statement saved per batch they read.
 *
 * Only committed messages are here: the bus adds them when it is woken after the commit (EmbeddedBus.wake), under
 * the offsets the log gave them. A reader takes from here only a run that starts exactly at its next offset;
 * anything else — messages another process appended, a reader that fell behind the few kept — it reads from the
 * log as before. Commits of two transactions can be announced out of order, so a batch that ends where the run
 * starts goes in front of it.
 */
import type { BusHeaders } from '../port.ts';

export interface RecentMessage {
  readonly offset: number;
  readonly message_key: string | null;
  readonly headers: BusHeaders;
  readonly value: Buffer;
}

/** Messages kept per partition: enough for readers that keep up, little memory for those that do not. */
export const defaultKeptPerPartition = 64;

export class RecentMessages {
  private readonly runs = new Map<string, { first: number; messages: RecentMessage[] }>();

  constructor(private readonly keptPerPartition = defaultKeptPerPartition) {}

  /** Committed messages of one partition, at consecutive offsets from `messages[0].offset`. */
  add(partition: string, messages: readonly RecentMessage[]): void {
    if (messages.length === 0) return;
    const first = messages[0]!.offset;
    const run = this.runs.get(partition);
    const end = run ? run.first + run.messages.length : undefined;
    if (run && first === end) run.messages.push(...messages);
    else if (run && first + messages.length === run.first) {
      run.messages.unshift(...messages);
      run.first = first;
    } else if (!run || first > end!) this.runs.set(partition, { first, messages: [...messages] });
    else return; // older than the run and not next to it: readers past it read the log
    const kept = this.runs.get(partition)!;
    const over = kept.messages.length - this.keptPerPartition;
    if (over > 0) {
      kept.messages.splice(0, over);
      kept.first += over;
    }
  }

  /** Up to `limit` messages from `offset` on, when the run holds that offset; undefined: read the log. */
  from(partition: string, offset: number, limit: number): RecentMessage[] | undefined {
    const run = this.runs.get(partition);
    if (!run || offset < run.first || offset >= run.first + run.messages.length) return undefined;
    const start = offset - run.first;
    return run.messages.slice(start, start + limit);
  }
}
