/**
 * What a profile URL and a reference point at: whether a URL names a core FHIR type, which type a profile
 * constrains, which Bundle entry a reference resolves to. The reference check itself stays in walker.ts, because
 * it recurses into the walk.
 */
import { definitions, versionless } from './definitions.ts';
import type { Json } from './snapshot-tree.ts';
import type { WalkContext } from './walk-context.ts';

export function isCoreType(url: string): boolean {
  const bare = versionless(url);
  return bare.startsWith('http://hl7.org/fhir/StructureDefinition/') && /\/[A-Z][A-Za-z]+$/.test(bare);
}

/** The base resource or data type a profile constrains, when we can tell. */
export function typeOfProfile(url: string): string | undefined {
  if (isCoreType(url)) return versionless(url).split('/').pop();
  return definitions().structureDefinition(url)?.type;
}

export function resolveInBundle(
  ctx: WalkContext,
  reference: string,
): { resource: Json; index: number } | undefined {
  const entries = ctx.bundle?.entries;
  if (!entries) return undefined;
  const index = entries.findIndex((e) => {
    if (e.fullUrl === reference) return true;
    if (e.fullUrl?.endsWith(`/${reference}`)) return true;
    const r = e.resource;
    return r !== undefined && `${String(r.resourceType)}/${String(r.id)}` === reference;
  });
  const resource = index >= 0 ? entries[index]?.resource : undefined;
  return resource ? { resource, index } : undefined;
}
