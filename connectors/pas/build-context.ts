/**
 * What every part of a PAS request Bundle is built from (request-bundle.ts, request-parties.ts, request-lines.ts,
 * update-bundle.ts): the build context (tenant, case, time, payer) and the entries' deterministic urn:uuid full URLs
 * and resource ids. Its own module so the parts share it without importing the Bundle's assembly.
 */
import { deterministicUuid } from '../../src/store/ids.ts';

export interface PasBuildContext {
  readonly tenant: string;
  readonly caseId: string;
  readonly at: Date;
  /** The payer as the directory names it (insurer Organization). */
  readonly payer: { readonly id: string; readonly name?: string; readonly channelPayerId?: string };
}

export const urn = (ctx: PasBuildContext, what: string) =>
  `urn:uuid:${deterministicUuid('pas-request', ctx.caseId, what)}`;
export const idOf = (fullUrl: string) => fullUrl.slice('urn:uuid:'.length);
