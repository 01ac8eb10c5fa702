/**
 * The MLLP connection policy as decisions: who is admitted, who is evicted to make room, who has outlived a
 * deadline (src/inbound/mllp/connection-policy.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  admit,
  type ConnectionState,
  expired,
  type MllpConnectionLimits,
} from '../../src/inbound/mllp/connection-policy.ts';

const limits: MllpConnectionLimits = {
  maxConnections: 4,
  maxConnectionsPerPeer: 2,
  frameTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};

let seq = 0;
function conn(peer: string, lastProgressAt: number, extra: Partial<ConnectionState> = {}): ConnectionState {
  return { seq: ++seq, peer, lastProgressAt, frameStartedAt: undefined, busy: 0, ...extra };
}

describe('admission', () => {
  it('admits under both limits, evicting nobody', () => {
    expect(admit([conn('a', 0), conn('b', 0)], 'c', limits)).toEqual({ admit: true, evict: [] });
  });

  it('at the peer limit, evicts that peer’s own stalest idle connection, never another peer’s', () => {
    const old = conn('a', 100);
    const recent = conn('a', 900);
    const other = conn('b', 0);
    expect(admit([other, recent, old], 'a', limits)).toEqual({ admit: true, evict: [old] });
  });

  it('at the global cap, evicts the connection longest without a whole frame; ties go to the oldest', () => {
    const first = conn('a', 50);
    const second = conn('b', 50);
    const fresh = conn('c', 900);
    const progressing = conn('d', 800);
    expect(admit([fresh, second, progressing, first], 'e', limits)).toEqual({ admit: true, evict: [first] });
  });

  it('never evicts a busy connection (its ACK is owed), and refuses the newcomer only when all are busy', () => {
    const busyOld = conn('a', 0, { busy: 1 });
    const idle = conn('b', 500);
    const all = [busyOld, idle, conn('c', 600), conn('d', 700)];
    expect(admit(all, 'e', limits)).toEqual({ admit: true, evict: [idle] });
    const busy = [0, 1, 2, 3].map((i) => conn(String.fromCharCode(97 + i), i, { busy: 1 }));
    expect(admit(busy, 'e', limits)).toEqual({ admit: false, reason: 'global-limit' });
    expect(admit([conn('a', 0, { busy: 1 }), conn('a', 1, { busy: 2 })], 'a', limits)).toEqual({
      admit: false,
      reason: 'peer-limit',
    });
  });

  it('a trickler in mid-frame is as stale as its last whole frame: bytes are not progress', () => {
    const trickler = conn('a', 0, { frameStartedAt: 4_000 });
    const sender = conn('b', 3_000);
    expect(admit([sender, trickler, conn('c', 3_500), conn('d', 3_600)], 'e', limits)).toEqual({
      admit: true,
      evict: [trickler],
    });
  });
});

describe('deadlines', () => {
  it('closes a frame not complete frameTimeoutMs after its first byte', () => {
    expect(expired(conn('a', 0, { frameStartedAt: 1_000 }), 6_000, limits)).toBeUndefined();
    expect(expired(conn('a', 0, { frameStartedAt: 1_000 }), 6_001, limits)).toBe('frame-deadline');
  });

  it('closes a connection idleTimeoutMs after its last whole frame, unless busy', () => {
    expect(expired(conn('a', 1_000), 31_000, limits)).toBeUndefined();
    expect(expired(conn('a', 1_000), 31_001, limits)).toBe('idle');
    expect(expired(conn('a', 1_000, { busy: 1 }), 99_000, limits)).toBeUndefined();
    expect(expired(conn('a', 1_000, { busy: 1, frameStartedAt: 2_000 }), 99_000, limits)).toBeUndefined();
  });
});
