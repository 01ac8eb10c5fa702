export * from './business-metrics.ts';
export * from './metrics.ts';
export * from './metrics-router.ts';
