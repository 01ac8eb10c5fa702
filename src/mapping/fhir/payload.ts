/**
 * A FHIR payload (one resource, or a Bundle) indexed so references resolve the way FHIR says they do:
 * `#id` within the resource that contains it, `Type/id` relative to the referring entry's fullUrl base (then
 * any entry of that type and id), absolute URLs and `urn:uuid:` by fullUrl.
 * @see http://hl7.org/fhir/R4/bundle.html#references
 * @see http://hl7.org/fhir/R4/references.html#contained
 */
import type { Resource } from '@medplum/fhirtypes';

/** A resource found in the payload, with the top-level resource that holds it (for #contained lookups). */
export interface Located {
  readonly resource: Resource;
  /** The top-level resource (itself, or the resource whose `contained` holds it). */
  readonly container: Resource;
  /** Bundle entry index, when the resource is (or is contained in) a Bundle entry. */
  readonly entry?: number;
  /** The entry's fullUrl, when given. */
  readonly fullUrl?: string;
}

const typeIdPattern =
  /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export class PayloadIndex {
  readonly root: Resource;
  /** Top-level resources: the root itself, or the Bundle's entries. */
  readonly top: readonly Located[];
  private readonly byFullUrl = new Map<string, Located>();
  private readonly byTypeId = new Map<string, Located>();

  constructor(root: Resource) {
    this.root = root;
    const top: Located[] = [];
    if (root.resourceType === 'Bundle') {
      const entries: unknown[] = Array.isArray(root.entry) ? root.entry : [];
      entries.forEach((entry, index) => {
        const e = entry as { resource?: unknown; fullUrl?: unknown } | null;
        const resource = e?.resource as Resource | undefined;
        if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') return;
        const fullUrl = typeof e?.fullUrl === 'string' ? e.fullUrl : undefined;
        const located: Located = { resource, container: resource, entry: index, fullUrl };
        top.push(located);
        if (fullUrl && !this.byFullUrl.has(fullUrl)) this.byFullUrl.set(fullUrl, located);
        if (typeof resource.id === 'string' && resource.id) {
          const key = `${resource.resourceType}/${resource.id}`;
          if (!this.byTypeId.has(key)) this.byTypeId.set(key, located);
        }
      });
    } else {
      top.push({ resource: root, container: root });
    }
    this.top = top;
  }

  /** Resolves a reference made from `from`; undefined when it points outside the payload. */
  resolve(reference: string, from: Located): Located | undefined {
    const ref = reference.trim();
    if (ref === '') return undefined;
    if (ref.startsWith('#')) {
      const id = ref.slice(1);
      if (id === '')
        return from.container === from.resource ? undefined : { ...from, resource: from.container };
      const list = (from.container as { contained?: unknown }).contained;
      const contained = Array.isArray(list) ? (list as Resource[]) : [];
      const resource = contained.find(
        (r) => typeof r === 'object' && r !== null && r.id === id && typeof r.resourceType === 'string',
      );
      return resource
        ? { resource, container: from.container, entry: from.entry, fullUrl: from.fullUrl }
        : undefined;
    }
    const exact = this.byFullUrl.get(ref);
    if (exact) return exact;
    const match = typeIdPattern.exec(ref);
    if (!match) return undefined;
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(ref);
    if (relative && from.fullUrl) {
      const base = typeIdPattern.exec(from.fullUrl);
      if (base) {
        const absolute = `${from.fullUrl.slice(0, base.index + (from.fullUrl[base.index] === '/' ? 1 : 0))}${match[1]}/${match[2]}`;
        const byBase = this.byFullUrl.get(absolute);
        if (byBase) return byBase;
      }
    }
    return this.byTypeId.get(`${match[1]}/${match[2]}`);
  }
}

/** The reference text of a Reference (or of a bare string), if any. */
export function referenceText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (
    value &&
    typeof value === 'object' &&
    typeof (value as { reference?: unknown }).reference === 'string'
  ) {
    return (value as { reference: string }).reference;
  }
  return undefined;
}
