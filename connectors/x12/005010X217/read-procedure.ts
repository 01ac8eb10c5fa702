/**
 * The procedure of a 278 review level: SV1 (professional), SV2 (institutional: revenue code and/or procedure)
 * or SV3 (dental), its code, code system, modifiers and the quantity and unit SV1/SV2 carry. A code the TR3
 * would not allow (blank, over 48 characters) is read without a code system and warned, so the decision schema
 * never sees it.
 *
 * @see ASC X12N 005010X217, loops 2000E/2000F, SV1, SV2, SV3 (SV101-2 / SV202-2 / SV301-2: AN 1/48)
 */

import type { Segment } from '../reader.ts';
import { el, procedureSystem, type SetContext } from '../transaction.ts';
import type { ReviewProcedure } from './services-review.ts';

export function numberOf(value: string): number | undefined {
  return value !== '' && /^\d*\.?\d+$/.test(value) ? Number(value) : undefined;
}

/** SV101-2 / SV202-2 / SV301-2: AN 1/48. */
const procedureCodeMax = 48;

export function readProcedure(ctx: SetContext, segment: Segment, loop: string): ReviewProcedure | undefined {
  const tag = segment.tag as 'SV1' | 'SV2' | 'SV3';
  const compositeAt = tag === 'SV2' ? 2 : 1;
  const composite = el(segment, compositeAt);
  if (composite === '') {
    if (tag === 'SV2' && el(segment, 1)) {
      return {
        segment: tag,
        qualifier: '',
        code: '',
        modifiers: [],
        revenueCode: el(segment, 1),
        ...quantityOf(segment, tag),
      };
    }
    ctx.add('warning', 'PROCEDURE_MISSING', `${tag} has no procedure composite`, segment, compositeAt, loop);
    return undefined;
  }
  const [qualifier = '', code = '', ...rest] = ctx.components(composite);
  const modifiers = rest.slice(0, 4).filter((m) => m !== '');
  // The TR3 allows 1-48 characters (SV101-2 and peers); a longer or blank code is no code the canonical model
  // can carry, so the line keeps no coding rather than a value that fails the decision schema.
  const usable = code.trim() !== '' && code.length <= procedureCodeMax;
  if (!usable && code !== '') {
    ctx.add(
      'warning',
      'PROCEDURE_CODE_LENGTH',
      `${tag} procedure code is blank or longer than ${procedureCodeMax} characters; read without a code system`,
      segment,
      compositeAt,
      loop,
    );
  }
  const system = usable ? procedureSystem(qualifier, code) : undefined;
  return {
    segment: tag,
    qualifier,
    code,
    ...(system ? { system } : {}),
    modifiers,
    ...(tag === 'SV2' && el(segment, 1) ? { revenueCode: el(segment, 1) } : {}),
    ...quantityOf(segment, tag),
  };
}

function quantityOf(segment: Segment, tag: 'SV1' | 'SV2' | 'SV3'): { quantity?: number; unit?: string } {
  // SV1: SV103 unit, SV104 quantity. SV2: SV204 unit, SV205 quantity. SV3 carries no quantity here.
  const [unitAt, quantityAt] = tag === 'SV1' ? [3, 4] : tag === 'SV2' ? [4, 5] : [0, 0];
  if (!unitAt) return {};
  const quantity = numberOf(el(segment, quantityAt));
  const unit = el(segment, unitAt);
  return { ...(quantity !== undefined ? { quantity } : {}), ...(unit ? { unit } : {}) };
}
