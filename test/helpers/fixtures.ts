import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AuthorizationRequest } from '../../src/canonical/index.ts';

export const fixturesDir = path.join(import.meta.dirname, '..', 'fixtures');

export function fixturePath(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}

export function readJsonFixture<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

/** A valid canonical request; `overrides` replace top-level fields (e.g. a fresh idempotencyKey per case). */
export function sampleRequest(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    ...readJsonFixture<AuthorizationRequest>('canonical', 'authorization-request.valid.json'),
    ...overrides,
  };
}
