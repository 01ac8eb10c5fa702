/**
 * The pharmacy webhook mappings under mappings/pharmacy/, imported as JSON modules (the core reads no files) and
 * checked against schemas/pharmacy-webhook-mapping.json once, on first use; a bad file stops the mapper with
 * PAGW_MAP_INVALID_MAPPING naming every problem. Adding a sender's mapping = its JSON file + one import below.
 */
import nestedExample from '../../../mappings/pharmacy/nested-example.json' with { type: 'json' };
import paFlagV1 from '../../../mappings/pharmacy/pa-flag-v1.json' with { type: 'json' };
import mappingSchema from '../../../schemas/pharmacy-webhook-mapping.json' with { type: 'json' };
import { ajvErrorsToProblems, createAjv } from '../../canonical/schema-validator.ts';
import { GatewayError, type Problem } from '../../errors/index.ts';
import type { PharmacyWebhookMapping } from './types.generated.ts';

export const builtInPharmacyMappings: readonly unknown[] = [paFlagV1, nestedExample];

export interface PharmacyMappings {
  readonly ids: readonly string[];
  /** The mapping with that id (`pharmacy/pa-flag-v1`), or undefined. */
  get(id: string): PharmacyWebhookMapping | undefined;
}

/** Validates mapping documents (defaults filled in) and indexes them by id. */
export function createPharmacyMappings(documents: readonly unknown[]): PharmacyMappings {
  const ajv = createAjv([mappingSchema], { useDefaults: true });
  const validate = ajv.getSchema(mappingSchema.$id)!;
  const problems: Problem[] = [];
  const byId = new Map<string, PharmacyWebhookMapping>();
  documents.forEach((document, i) => {
    const copy = structuredClone(document);
    const name = (document as { id?: unknown })?.id ?? `#${i}`;
    if (!validate(copy)) {
      for (const p of ajvErrorsToProblems(validate.errors))
        problems.push({ location: `mappings/${String(name)}: ${p.location}`, message: p.message });
      return;
    }
    const mapping = copy as PharmacyWebhookMapping;
    if (byId.has(mapping.id))
      problems.push({ location: `mappings/${mapping.id}`, message: 'two mappings have this id' });
    byId.set(mapping.id, mapping);
  });
  if (problems.length > 0)
    throw new GatewayError(
      'PAGW_MAP_INVALID_MAPPING',
      `Invalid pharmacy webhook mapping: ${problems
        .slice(0, 5)
        .map((p) => `${p.location}: ${p.message}`)
        .join('; ')}`,
      { problems },
    );
  return { ids: [...byId.keys()], get: (id) => byId.get(id) };
}

let builtIn: PharmacyMappings | undefined;
/** The mappings shipped in mappings/pharmacy/ (validated once). */
export function defaultPharmacyMappings(): PharmacyMappings {
  builtIn ??= createPharmacyMappings(builtInPharmacyMappings);
  return builtIn;
}
