/**
 * Who may hold an MLLP connection, and for how long. Issue #10 item 5: ~256 half-open connections trickling a
 * byte at a time used to lock every sender out (each byte reset a 10-minute idle timer; no deadline for a
 * whole frame; the 257th connection was reset by the OS). The policy:
 *
 * - **Progress is frames, not bytes.** A connection's `lastProgressAt` moves when a whole frame has arrived
 *   or its ACK has been sent — never on a byte. Trickled bytes and junk between frames extend nothing.
 * - **Frame deadline.** From a frame's first byte (VT) the whole frame must arrive within `frameTimeoutMs`
 *   (and a TLS handshake within the same time from the connection); else the connection is closed.
 * - **Idle timeout.** A connection with no frame in progress and nothing being processed is closed
 *   `idleTimeoutMs` after its last progress (or its opening).
 * - **Per peer** (remote address): at most `maxConnectionsPerPeer`. A peer at its limit that opens another
 *   connection gets it, and its own stalest connection is closed: a sender whose old connections went
 *   half-dead (a network blip) is not locked out by them, and a flooding peer only ever holds its share.
 * - **Global cap** `maxConnections`. At the cap a newcomer is admitted and the stalest connection of all is
 *   closed, rather than refusing the newcomer: a newcomer has done nothing wrong yet, while the stalest
 *   connection has gone longest without delivering a frame (a trickler never delivers one). A newcomer is
 *   refused only when every connection is busy (a message being recorded or its ACK pending).
 * - **Stalest** = not busy, oldest `lastProgressAt`; ties go to the oldest connection. A connection whose
 *   message is being recorded is never closed by the policy: its ACK must go out after the commit.
 *
 * Limits: a flood of NEW connections faster than a sender can deliver one frame can still push that sender
 * out (each arrival evicts the stalest); that is a rate-limiting matter for the network in front (firewall,
 * allow-list `mllp.peers`), and the per-peer limit bounds what any one address can do.
 * Pure: decisions from the connections' timestamps and the clock's `now`.
 */

export interface MllpConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerPeer: number;
  readonly frameTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export const defaultMllpConnectionLimits: MllpConnectionLimits = {
  maxConnections: 256,
  maxConnectionsPerPeer: 16,
  frameTimeoutMs: 60_000,
  idleTimeoutMs: 600_000,
};

/** What the policy needs to know of one connection. */
export interface ConnectionState {
  /** Increasing with each accepted connection (ties in staleness go to the oldest). */
  readonly seq: number;
  readonly peer: string;
  /** Last whole frame received or ACK sent; the opening time before that (ms since epoch, clock time). */
  lastProgressAt: number;
  /** When the frame (or TLS handshake) in progress started; undefined between frames. */
  frameStartedAt: number | undefined;
  /** Messages received and not yet answered. */
  busy: number;
}

export type AdmissionDecision =
  | { readonly admit: true; readonly evict: readonly ConnectionState[] }
  | { readonly admit: false; readonly reason: 'peer-limit' | 'global-limit' };

function stalest(candidates: Iterable<ConnectionState>): ConnectionState | undefined {
  let victim: ConnectionState | undefined;
  for (const c of candidates) {
    if (c.busy > 0) continue;
    if (
      !victim ||
      c.lastProgressAt < victim.lastProgressAt ||
      (c.lastProgressAt === victim.lastProgressAt && c.seq < victim.seq)
    ) {
      victim = c;
    }
  }
  return victim;
}

/** Whether a newcomer from `peer` is admitted, and which connections must be closed to make room. */
export function admit(
  connections: readonly ConnectionState[],
  peer: string,
  limits: MllpConnectionLimits,
): AdmissionDecision {
  const evict: ConnectionState[] = [];
  const samePeer = connections.filter((c) => c.peer === peer);
  if (samePeer.length >= limits.maxConnectionsPerPeer) {
    // Room is made within the peer's own share, never at another peer's expense.
    const excess = samePeer.length - limits.maxConnectionsPerPeer + 1;
    const remaining = new Set(samePeer);
    for (let i = 0; i < excess; i++) {
      const victim = stalest(remaining);
      if (!victim) return { admit: false, reason: 'peer-limit' };
      remaining.delete(victim);
      evict.push(victim);
    }
  }
  const total = connections.length - evict.length;
  if (total >= limits.maxConnections) {
    const remaining = new Set(connections.filter((c) => !evict.includes(c)));
    for (let i = 0; i < total - limits.maxConnections + 1; i++) {
      const victim = stalest(remaining);
      if (!victim) return { admit: false, reason: 'global-limit' };
      remaining.delete(victim);
      evict.push(victim);
    }
  }
  return { admit: true, evict };
}

export type ExpiryReason = 'frame-deadline' | 'idle';

/**
 * Whether a connection has outlived a deadline at `now`. A busy connection is left alone until its ACK is
 * out (then its deadlines apply again): closing it would lose an answer the sender is owed.
 */
export function expired(
  c: ConnectionState,
  now: number,
  limits: MllpConnectionLimits,
): ExpiryReason | undefined {
  if (c.busy > 0) return undefined;
  if (c.frameStartedAt !== undefined) {
    return now - c.frameStartedAt > limits.frameTimeoutMs ? 'frame-deadline' : undefined;
  }
  return now - c.lastProgressAt > limits.idleTimeoutMs ? 'idle' : undefined;
}
