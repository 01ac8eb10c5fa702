/**
 * Back-pressure from the workflow to intake (issue #17). When more workflow steps are due than the workers have
 * started (the queue in front of the step worker: metric pagw_steps_due) intake waits before it accepts another
 * message, so a burst queues at the senders instead of inside the gateway: cases already accepted reach the payer
 * sooner, and the gateway never accepts faster than it drains for long.
 *
 * - HTTP senders (/orders/*, PAS Claim/$submit) are held up to `maxWaitMs`, then answered 503
 *   PAGW_INBOUND_BUSY with Retry-After: the order is not recorded, the sender sends it again later.
 * - MLLP and bus messages wait up to `maxWaitMs` too (the sender's ACK, or the partition, waits with them) and are
 *   then accepted anyway: an MLLP sender that times out resends, and a bus message must never be refused for load.
 *
 * One backlog query serves every message for `cacheMs`, so intake costs at most one count query per 50 ms.
 */
import type pg from 'pg';
import { pause } from '../bus/delivery.ts';
import type { Clock } from '../clock.ts';
import { GatewayError } from '../errors/index.ts';
import { countDueSteps } from '../store/timers.ts';
import type { InboundTransport } from './accept.ts';

export interface IntakeAdmissionOptions {
  readonly pool: Pick<pg.Pool, 'query'>;
  readonly clock: Clock;
  /** Due steps not started yet above which intake waits (config workers.intakeMaxBacklog). */
  readonly maxBacklog: number;
  /** Longest wait for one message (config workers.intakeMaxWaitMs). */
  readonly maxWaitMs: number;
  /** How often a waiting message looks at the backlog again (default 50 ms). */
  readonly recheckMs?: number;
  /** How long one backlog read answers for every message (default 50 ms; 0: each check reads it afresh). */
  readonly cacheMs?: number;
}

export interface IntakeAdmissionFigures {
  /** Messages waiting for admission now. */
  readonly waiting: number;
}

/** Transports whose sender gets an answer it can act on (503 + Retry-After) when the wait runs out. */
const refusableTransports: ReadonlySet<InboundTransport> = new Set(['http']);

export class IntakeAdmission {
  private lastBacklog = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<number> | undefined;
  private waitingNow = 0;

  constructor(private readonly options: IntakeAdmissionOptions) {}

  get figures(): IntakeAdmissionFigures {
    return { waiting: this.waitingNow };
  }

  /**
   * Resolves when the message may be accepted. Throws PAGW_INBOUND_BUSY for an HTTP sender held `maxWaitMs`;
   * other transports are admitted after that wait.
   */
  async admit(transport: InboundTransport): Promise<void> {
    if (this.options.maxBacklog <= 0) return;
    if ((await this.backlog()) < this.options.maxBacklog) return;
    const recheckMs = this.options.recheckMs ?? 50;
    const deadline = performance.now() + this.options.maxWaitMs;
    this.waitingNow++;
    try {
      while (performance.now() < deadline) {
        await pause(recheckMs);
        if ((await this.backlog()) < this.options.maxBacklog) return;
      }
    } finally {
      this.waitingNow--;
    }
    if (refusableTransports.has(transport)) {
      throw new GatewayError(
        'PAGW_INBOUND_BUSY',
        `The gateway is working through ${this.lastBacklog} due workflow steps (limit workers.intakeMaxBacklog ${this.options.maxBacklog}); send the order again after the Retry-After delay`,
      );
    }
  }

  /** Due steps not claimed yet, re-read at most every `cacheMs`; concurrent callers share one query. */
  private backlog(): Promise<number> {
    const cacheMs = this.options.cacheMs ?? 50;
    if (cacheMs > 0 && performance.now() - this.readAt < cacheMs) return Promise.resolve(this.lastBacklog);
    this.reading ??= countDueSteps(this.options.pool, this.options.clock.now())
      .then((due) => {
        this.lastBacklog = due.payer + due.local;
        this.readAt = performance.now();
        return this.lastBacklog;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
