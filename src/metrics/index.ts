export * from './metrics.ts';
export * from './metrics-router.ts';
