/**
 * Writes held back for the step running for a case, to be committed with that step's own transaction instead of
 * alone before it (issue #17: each is a round trip and a commit).
 *
 * The one user: the record of how a payer exchange ended (payer_submissions `complete`). The connector writes it
 * when the payer has answered; the case advancer then records the answer on the case in its own transaction. With
 * the step holding it (`begin`), the connector leaves the record here (`hold`), and the advancer sends it with the
 * step's last writes (`take`). Whatever the step did not take is written alone when it ends (`end`), so nothing is
 * lost when it fails after the payer answered. A crash in between leaves the exchange `sending`: the next attempt
 * reconciles it with the payer by trace number, as after any crash during an exchange.
 *
 * Per process and per case: the step worker runs one step of a case at a time.
 */
import type { Statement } from './together.ts';

export class HeldWrites {
  private readonly held = new Map<string, Statement[]>();

  /** A step of this case starts: writes for it are held from now on. */
  begin(caseId: string): void {
    if (!this.held.has(caseId)) this.held.set(caseId, []);
  }

  /** Holds the write when a step of the case is running; false when the caller must write it now. */
  hold(caseId: string, write: Statement): boolean {
    const writes = this.held.get(caseId);
    if (!writes) return false;
    writes.push(write);
    return true;
  }

  /** The writes held so far, for the step's transaction; give them back if it does not commit. */
  take(caseId: string): Statement[] {
    return this.held.get(caseId)?.splice(0) ?? [];
  }

  /** Writes a transaction that did not commit had taken, held again (in front of any held since). */
  giveBack(caseId: string, writes: readonly Statement[]): void {
    this.held.get(caseId)?.unshift(...writes);
  }

  /** The step ended: what it did not take, for the caller to write alone; nothing is held for the case after. */
  end(caseId: string): Statement[] {
    const rest = this.held.get(caseId) ?? [];
    this.held.delete(caseId);
    return rest;
  }
}
