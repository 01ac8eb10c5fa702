/**
 * Loads drug criteria from criteria/*.json (the I/O half; validation and selection are the pure
 * src/workflow/pharmacy/criteria.ts). A bad file stops the gateway with PAGW_PHARMACY_CRITERIA_INVALID.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../errors/index.ts';
import { type CriteriaDirectory, createCriteriaDirectory } from '../workflow/pharmacy/criteria.ts';

export const defaultCriteriaDir = path.join(import.meta.dirname, '..', '..', 'criteria');

export function loadCriteriaDirectory(dir = defaultCriteriaDir): CriteriaDirectory {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort();
  return createCriteriaDirectory(
    names.map((name) => {
      try {
        return { source: name, document: JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown };
      } catch (error) {
        throw new GatewayError('PAGW_PHARMACY_CRITERIA_INVALID', `${name} is not readable JSON`, {
          cause: error,
        });
      }
    }),
  );
}
