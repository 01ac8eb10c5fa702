/**
 * The key of one topic partition in the embedded bus's in-memory maps (wakes, waiters, recent messages, a
 * subscription's readers). Its own module because the bus and its subscriptions both use it, and
 * ./embedded-subscription.ts should not import ./embedded-bus.ts at run time (that file imports it).
 */
export const partKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
