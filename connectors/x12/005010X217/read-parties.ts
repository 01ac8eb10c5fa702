/**
 * The party levels of a 278: 2000A UMO, 2000B requester, 2000C subscriber and 2000D dependent, each read from its
 * first NM1 group (2010A … 2010D) with the AAA rejections of the level and of that group. Also the 2000 → 2010
 * loop map and the entity → party copy, which the review levels use for their providers (2010EA, 2010F).
 *
 * @see ASC X12N 005010X217, loops 2000A/2010A, 2000B/2010B, 2000C/2010C, 2000D/2010D
 */
import { codeTable } from '../code-lists.ts';
import {
  type Entity,
  type HlNode,
  type RequestRejection,
  readAaa,
  readEntity,
  type SetContext,
  splitEntities,
} from '../transaction.ts';
import type { ReviewParty } from './services-review.ts';

export const entityLoops: Record<string, string> = codeTable({
  '2000A': '2010A',
  '2000B': '2010B',
  '2000C': '2010C',
  '2000D': '2010D',
  '2000E': '2010EA',
  '2000F': '2010F',
});

export function toParty(entity: Entity): ReviewParty {
  return {
    loop: entity.loop,
    entityCode: entity.code,
    ...(entity.name ? { name: entity.name } : {}),
    ...(entity.organizationName ? { organizationName: entity.organizationName } : {}),
    ...(entity.idQualifier ? { idQualifier: entity.idQualifier } : {}),
    ...(entity.id ? { id: entity.id } : {}),
    ...(entity.taxonomy ? { taxonomy: entity.taxonomy } : {}),
    ...(entity.providerRole ? { providerRole: entity.providerRole } : {}),
    ...(entity.birthDate ? { birthDate: entity.birthDate } : {}),
    ...(entity.sex ? { sex: entity.sex } : {}),
    ...(entity.relationship ? { relationship: entity.relationship } : {}),
    ...(entity.address ? { address: entity.address } : {}),
  };
}

export function readPartyLevel(
  ctx: SetContext,
  node: HlNode,
): { party?: ReviewParty; rejections: RequestRejection[] } {
  const { head, groups } = splitEntities(node.segments);
  const rejections = head.filter((s) => s.tag === 'AAA').map((s) => readAaa(s, node.loop));
  const first = groups[0];
  if (!first) return { rejections };
  const loop = entityLoops[node.loop] ?? node.loop;
  const entity = readEntity(ctx, first.nm1, first.rest, loop);
  for (const s of first.rest) if (s.tag === 'AAA') rejections.push(readAaa(s, loop));
  return { party: toParty(entity), rejections };
}
