export * from './csv.ts';
export * from './figures.ts';
export * from './filters.ts';
export * from './forecast.ts';
export * from './queries.ts';
export * from './routes.ts';
