/**
 * In-process wake-ups between the parts of one gateway that share a pool: a commit that made a timer due, wrote
 * outbox rows or audit rows wakes the worker that handles them at once, instead of the worker finding out on its
 * next poll (each poll cost up to 250 ms per stage, issue #17). Polling stays as the fallback for work written by
 * other processes (another instance on PostgreSQL, a CLI command).
 *
 * Signals are kept per pool (a WeakMap, so a closed pool's listeners go with it): every part of a gateway already
 * shares its Database's pool, so nothing new needs to be passed around, and two gateways in one process (tests)
 * never wake each other.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Tx } from './sql.ts';

/**
 * `due:<lane>`: a commit made a timer of that lane due. One signal per lane, so a step made due wakes only the lane
 * that runs it: when every due step woke both step lanes, the other lane's claim found nothing (~1.7 claims per
 * order that took nothing at 50 orders/s, issue #17).
 */
export type StoreSignal = 'outbox' | 'audit' | `due:${'payer' | 'local' | 'timer'}`;

const emitters = new WeakMap<object, EventEmitter>();
const pending = new WeakMap<object, Set<StoreSignal>>();
const poolOfClient = new WeakMap<object, pg.Pool>();

function emitterOf(pool: object): EventEmitter {
  let emitter = emitters.get(pool);
  if (!emitter) {
    emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    emitters.set(pool, emitter);
  }
  return emitter;
}

/** Calls `listener` each time `signal` is raised on `pool`; returns the unsubscribe function. */
export function onStoreSignal(pool: pg.Pool, signal: StoreSignal, listener: () => void): () => void {
  const emitter = emitterOf(pool);
  emitter.on(signal, listener);
  return () => emitter.off(signal, listener);
}

/** Raises `signal` now (after a write that committed on its own, outside withTransaction). */
export function raiseStoreSignal(pool: pg.Pool | object, signal: StoreSignal): void {
  emitters.get(pool)?.emit(signal);
}

/**
 * Raises `signal` once the transaction `sql` belongs to commits (nothing on rollback). On a pool (autocommit) the
 * caller raises it itself, after the statement.
 */
export function raiseAfterCommit(sql: Pick<Tx, 'query'>, signal: StoreSignal): void {
  const set = pending.get(sql);
  if (set) set.add(signal);
}

/** withTransaction: the client `tx` of `pool` starts a transaction. */
export function beginSignals(tx: object, pool: pg.Pool): void {
  pending.set(tx, new Set());
  poolOfClient.set(tx, pool);
}

/** withTransaction: the transaction of `tx` ended; raise what it collected when it committed. */
export function endSignals(tx: object, committed: boolean): void {
  const set = pending.get(tx);
  const pool = poolOfClient.get(tx);
  pending.delete(tx);
  if (!committed || !set || !pool) return;
  for (const signal of set) raiseStoreSignal(pool, signal);
}
