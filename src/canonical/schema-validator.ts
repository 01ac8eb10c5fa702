/**
 * One ajv instance for every schema in schemas/ (JSON Schema 2020-12 + ajv-formats), with errors turned into
 * Problems: a JSONPath-like location (`$.serviceLines[0].code.system`) and a plain reason.
 */
import { Ajv2020, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Problem } from '../errors/index.ts';

// ajv-formats ships CommonJS with a default export; under NodeNext the callable sits on .default.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export function createAjv(
  schemas: AnySchemaObject[],
  options: { useDefaults?: boolean; coerceTypes?: boolean } = {},
) {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    useDefaults: options.useDefaults ?? false,
    coerceTypes: options.coerceTypes ?? false,
  });
  addFormats(ajv);
  for (const schema of schemas) ajv.addSchema(schema);
  return ajv;
}

function pointerToPath(pointer: string): string {
  if (pointer === '') return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((raw) => raw.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((segment) =>
        /^\d+$/.test(segment)
          ? `[${segment}]`
          : /^[A-Za-z_$][\w$]*$/.test(segment)
            ? `.${segment}`
            : `['${segment}']`,
      )
      .join('')
  );
}

/** Turns ajv's errors into one Problem each, dropping the noise ajv adds for allOf/anyOf wrappers. */
export function ajvErrorsToProblems(errors: ErrorObject[] | null | undefined): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    let location = pointerToPath(error.instancePath);
    let message: string;
    switch (error.keyword) {
      case 'required':
        location = pointerToPath(`${error.instancePath}/${String(error.params.missingProperty)}`);
        message = 'is required but missing';
        break;
      case 'additionalProperties':
        location = pointerToPath(`${error.instancePath}/${String(error.params.additionalProperty)}`);
        message = 'is not a known property';
        break;
      case 'unevaluatedProperties':
        location = pointerToPath(`${error.instancePath}/${String(error.params.unevaluatedProperty)}`);
        message = 'is not a known property';
        break;
      case 'enum':
        message = `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        message = `does not match the expected format (${error.parentSchema?.description ?? `pattern ${String(error.params.pattern)}`})`;
        break;
      case 'format':
        message = `must be a valid ${String(error.params.format)}`;
        break;
      default:
        message = error.message ?? error.keyword;
    }
    const key = `${location}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ location, message });
  }
  return problems;
}

export type { ValidateFunction };
