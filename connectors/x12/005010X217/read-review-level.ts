/**
 * A review level of a 278: 2000E (patient event) or 2000F (service), read segment by segment — TRN trace
 * numbers, AAA rejections, UM review information, HCR decision, REF numbers (BB authorization, NT administrative
 * reference), DTP periods, HI diagnoses, HSD quantity, SV1/SV2/SV3 procedure (read-procedure.ts), PWK documents
 * asked for and MSG texts — then its providers (2010EA, 2010F).
 *
 * @see ASC X12N 005010X217, loops 2000E/2010EA and 2000F/2010F
 */
import { codeTable, reviewActionCodes } from '../code-lists.ts';
import {
  diagnosisQualifiers,
  el,
  type HlNode,
  icdWithDot,
  readAaa,
  readEntity,
  type SetContext,
  splitEntities,
} from '../transaction.ts';
import { entityLoops, toParty } from './read-parties.ts';
import { numberOf, readProcedure } from './read-procedure.ts';
import type { ReviewLevel } from './services-review.ts';

const periodByQualifier: Record<string, keyof ReviewLevel['periods']> = codeTable({
  AAH: 'event',
  '435': 'admission',
  '096': 'discharge',
  '472': 'service',
  '102': 'issue',
  '007': 'effective',
  '036': 'expiration',
});

/** PWK01 (X12 755) is two characters; the decision schema takes a code of up to 64. */
const reportTypeMax = 64;

export function readReviewLevel(ctx: SetContext, node: HlNode): ReviewLevel {
  const loop = node.loop as '2000E' | '2000F';
  const { head, groups } = splitEntities(node.segments);
  const level: {
    -readonly [K in keyof ReviewLevel]: ReviewLevel[K];
  } = {
    loop,
    hlId: node.id,
    traceNumbers: [],
    rejections: [],
    references: [],
    periods: {},
    diagnoses: [],
    paperwork: [],
    messages: [],
    providers: [],
  };
  for (const segment of head) {
    switch (segment.tag) {
      case 'TRN':
        level.traceNumbers.push({
          type: el(segment, 1),
          number: el(segment, 2),
          ...(el(segment, 3) ? { originator: el(segment, 3) } : {}),
        });
        break;
      case 'AAA':
        level.rejections.push(readAaa(segment, loop));
        break;
      case 'UM': {
        if (el(segment, 1)) level.requestCategory = el(segment, 1);
        if (el(segment, 2)) level.certificationType = el(segment, 2);
        if (el(segment, 3)) level.serviceType = ctx.repetitions(el(segment, 3))[0] ?? el(segment, 3);
        if (el(segment, 4)) {
          const [code = '', qualifier] = ctx.components(el(segment, 4));
          level.facility = { code, ...(qualifier ? { qualifier } : {}) };
        }
        if (el(segment, 6)) level.levelOfService = el(segment, 6);
        break;
      }
      case 'HCR': {
        const action = el(segment, 1);
        const actionText = reviewActionCodes[action];
        if (!actionText)
          ctx.add(
            'warning',
            'HCR01_UNKNOWN',
            'HCR01 is not a review action code (element 306)',
            segment,
            1,
            loop,
          );
        level.review = {
          action,
          ...(actionText ? { actionText } : {}),
          ...(el(segment, 2) ? { certificationNumber: el(segment, 2) } : {}),
          ...(el(segment, 3) ? { reason: el(segment, 3) } : {}),
          ...(el(segment, 4) ? { secondOpinion: el(segment, 4) } : {}),
        };
        break;
      }
      case 'REF': {
        const ref = { qualifier: el(segment, 1), value: el(segment, 2) };
        level.references.push(ref);
        if (ref.qualifier === 'BB') level.authorizationNumber = ref.value;
        if (ref.qualifier === 'NT') level.administrativeReference = ref.value;
        break;
      }
      case 'DTP': {
        const key = periodByQualifier[el(segment, 1)];
        const period = ctx.dtpPeriod(segment, loop);
        if (key && period) level.periods[key] = period;
        break;
      }
      case 'HI':
        for (let i = 1; i <= segment.elements.length; i++) {
          const value = el(segment, i);
          if (value === '') continue;
          const [qualifier = '', code = ''] = ctx.components(value);
          const known = diagnosisQualifiers[qualifier];
          if (!known) {
            ctx.add(
              'warning',
              'HI_QUALIFIER',
              'HI composite qualifier is not an ICD diagnosis qualifier',
              segment,
              i,
              loop,
            );
            continue;
          }
          level.diagnoses.push({
            qualifier,
            code: icdWithDot(code, known.system),
            system: known.system,
            principal: known.principal,
          });
        }
        break;
      case 'HSD': {
        const value = numberOf(el(segment, 2));
        if (el(segment, 1) && value !== undefined) level.quantity = { qualifier: el(segment, 1), value };
        break;
      }
      case 'SV1':
      case 'SV2':
      case 'SV3': {
        const procedure = readProcedure(ctx, segment, loop);
        if (procedure) level.procedure = procedure;
        break;
      }
      case 'PWK': {
        // PWK01 is a two-character report type code (X12 755); a blank or overlong one is no code the decision can
        // carry: the request still makes the case wait for documents, but is listed without a kind (warned) rather
        // than failing the decision schema (a fuzz finding).
        const reportType = el(segment, 1);
        const usableType = reportType.trim() !== '' && reportType.length <= reportTypeMax;
        if (!usableType && reportType !== '') {
          ctx.add(
            'warning',
            'PAPERWORK_REPORT_TYPE',
            `PWK01 report type is blank or longer than ${reportTypeMax} characters; the document asked for is not named`,
            segment,
            1,
            loop,
          );
        }
        level.paperwork.push({
          reportType: usableType ? reportType : '',
          transmission: el(segment, 2),
          // PWK05 AC: PWK06 is the attachment control number the documents are sent under (a 275's TRN02).
          ...(el(segment, 5) === 'AC' && el(segment, 6) ? { controlNumber: el(segment, 6) } : {}),
        });
        break;
      }
      case 'MSG':
        if (el(segment, 1)) level.messages.push(el(segment, 1));
        break;
    }
  }
  const providerLoop = entityLoops[loop] ?? loop;
  for (const group of groups) {
    const entity = readEntity(ctx, group.nm1, group.rest, providerLoop);
    level.providers.push(toParty(entity));
    for (const s of group.rest) if (s.tag === 'AAA') level.rejections.push(readAaa(s, providerLoop));
  }
  return level;
}
