import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/errors/index.ts';

const docsDir = path.join(import.meta.dirname, '../../docs/errors');
const documented = new Map<string, { http: string; retriable: string }>();
for (const file of readdirSync(docsDir).filter((f) => f.endsWith('.md'))) {
  for (const line of readFileSync(path.join(docsDir, file), 'utf8').split('\n')) {
    const match = /^\|\s*`(PAGW_[A-Z0-9_]+)`\s*\|\s*(\d+)\s*\|\s*(yes|no)\s*\|/.exec(line);
    if (match) documented.set(match[1]!, { http: match[2]!, retriable: match[3]! });
  }
}

describe('error-code registry and docs/errors', () => {
  it.each(Object.entries(errorCodes))(
    '%s is documented with its HTTP status and retry flag',
    (code, spec) => {
      expect(documented.get(code), `${code} has no row in docs/errors/*.md`).toEqual({
        http: String(spec.httpStatus),
        retriable: spec.retriable ? 'yes' : 'no',
      });
    },
  );

  it('documents no code that the registry does not define', () => {
    const unknown = [...documented.keys()].filter((code) => !(code in errorCodes));
    expect(unknown).toEqual([]);
  });
});
