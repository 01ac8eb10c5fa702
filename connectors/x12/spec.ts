/**
 * The shape of a TR3 as data: loops of segments, each segment a list of elements with usage, data type,
 * length and allowed codes. Each implementation guide the gateway generates has one such table
 * (005010X217/spec.ts, 005010X279A1/spec-270.ts, 005010X215/spec.ts); validator.ts walks a transaction set
 * against it. Only the segments we use are described; anything else is reported as unexpected.
 */

/** R required, S situational, N not used. */
export type Usage = 'R' | 'S' | 'N';
export type DataType = 'ID' | 'AN' | 'DT' | 'TM' | 'N0' | 'R' | 'C';

export interface ElementSpec {
  readonly usage: Usage;
  readonly type: DataType;
  readonly min: number;
  readonly max: number;
  readonly codes?: readonly string[];
  /** Maximum repetitions (ISA11 separator); 1 when absent. */
  readonly repeat?: number;
  /** Components of a composite (type C). */
  readonly components?: readonly ElementSpec[];
}

export interface SegmentSpec {
  readonly tag: string;
  readonly name: string;
  readonly usage: 'R' | 'S';
  readonly max: number;
  /** Tells apart same-tag segments of one loop (NM1*X3 vs NM1*1P, DTP*AAH vs DTP*435). */
  readonly qualifier?: { readonly element: number; readonly values: readonly string[] };
  readonly elements: readonly ElementSpec[];
}

export interface LoopSpec {
  readonly id: string;
  readonly name: string;
  readonly usage: 'R' | 'S';
  readonly max: number;
  /** The first segment starts the loop. */
  readonly segments: readonly SegmentSpec[];
  readonly loops?: readonly LoopSpec[];
}

export interface TransactionSpec {
  /** ST01. */
  readonly id: string;
  /** ST03 and GS08. */
  readonly version: string;
  /** GS01. */
  readonly functionalId: string;
  /** ST and BHT. */
  readonly header: readonly SegmentSpec[];
  readonly loops: readonly LoopSpec[];
}

// ─── constructors, to keep the tables short ────────────────────────────────────────────────────────

export const id = (
  usage: Usage,
  min: number,
  max: number,
  codes?: readonly string[],
  repeat?: number,
): ElementSpec => ({
  usage,
  type: 'ID',
  min,
  max,
  ...(codes ? { codes } : {}),
  ...(repeat ? { repeat } : {}),
});
export const an = (usage: Usage, min: number, max: number): ElementSpec => ({ usage, type: 'AN', min, max });
export const dt = (usage: Usage): ElementSpec => ({ usage, type: 'DT', min: 8, max: 8 });
export const tm = (usage: Usage): ElementSpec => ({ usage, type: 'TM', min: 4, max: 8 });
export const n0 = (usage: Usage, min: number, max: number): ElementSpec => ({ usage, type: 'N0', min, max });
export const r = (usage: Usage, min: number, max: number): ElementSpec => ({ usage, type: 'R', min, max });
export const comp = (usage: Usage, components: readonly ElementSpec[], repeat?: number): ElementSpec => ({
  usage,
  type: 'C',
  min: 1,
  max: 1,
  components,
  ...(repeat ? { repeat } : {}),
});
export const notUsed: ElementSpec = { usage: 'N', type: 'AN', min: 0, max: 0 };
export const seg = (
  tag: string,
  name: string,
  usage: 'R' | 'S',
  max: number,
  elements: readonly ElementSpec[],
  qualifier?: readonly string[],
  qualifierElement = 1,
): SegmentSpec => ({
  tag,
  name,
  usage,
  max,
  elements,
  ...(qualifier ? { qualifier: { element: qualifierElement, values: qualifier } } : {}),
});
export const loop = (
  loopId: string,
  name: string,
  usage: 'R' | 'S',
  max: number,
  segments: readonly SegmentSpec[],
  loops?: readonly LoopSpec[],
): LoopSpec => ({ id: loopId, name, usage, max, segments, ...(loops ? { loops } : {}) });

/** An HL segment whose HL03 names the level; HL02 is required except at the top. */
export const hl = (level: string, name: string, child: readonly string[], top = false): SegmentSpec =>
  seg(
    'HL',
    name,
    'R',
    1,
    [an('R', 1, 12), top ? notUsed : an('R', 1, 12), id('R', 1, 2, [level]), id('R', 1, 1, child)],
    [level],
    3,
  );

// ─── shared code lists ──────────────────────────────────────────────────────────────────────────

/** Element 1365 service type codes (5010). */
export const serviceTypeCodes: readonly string[] = [
  ...Array.from({ length: 99 }, (_, i) => String(i + 1)),
  ...'A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AQ AR B1 B2 B3 BA BB BC BD BE BF BG BH BI BJ BK BL BM BN BP BQ BR BS BT BU BV BW BX BY BZ C1 CA CB CC CD CE CF CG CH CI CJ CK CL CM CN CO CP CQ DG DM DS GF GN GY IC MH NI ON PT PU RN RT TC TN UC'.split(
    ' ',
  ),
];

/** NM1 name segment with the usual element layout; the caller fixes entity codes and id qualifiers. */
export const nm1 = (
  name: string,
  usage: 'R' | 'S',
  max: number,
  entityCodes: readonly string[],
  entityTypes: readonly string[],
  idQualifiers: readonly string[] | null,
  options: { lastName?: Usage; idUsage?: Usage } = {},
): SegmentSpec =>
  seg(
    'NM1',
    name,
    usage,
    max,
    [
      id('R', 2, 3, entityCodes),
      id('R', 1, 1, entityTypes),
      an(options.lastName ?? 'S', 1, 60),
      an('S', 1, 35),
      an('S', 1, 25),
      notUsed,
      an('S', 1, 10),
      idQualifiers ? id(options.idUsage ?? 'R', 1, 2, idQualifiers) : notUsed,
      idQualifiers ? an(options.idUsage ?? 'R', 2, 80) : notUsed,
    ],
    entityCodes,
  );

export const n3 = seg('N3', 'Address', 'S', 1, [an('R', 1, 55), an('S', 1, 55)]);
export const n4 = seg('N4', 'City, State, ZIP Code', 'S', 1, [
  an('R', 2, 30),
  id('S', 2, 2),
  id('S', 3, 15),
  id('S', 2, 3),
  notUsed,
  notUsed,
  an('S', 1, 3),
]);
export const dmg = seg('DMG', 'Demographic Information', 'S', 1, [
  id('R', 2, 3, ['D8']),
  dt('R'),
  id('S', 1, 1, ['F', 'M', 'U']),
]);
export const prv = (codes: readonly string[]) =>
  seg('PRV', 'Provider Information', 'S', 1, [id('R', 1, 3, codes), id('R', 2, 3, ['PXC']), an('R', 1, 50)]);
export const trn = seg('TRN', 'Trace Number', 'S', 2, [
  id('R', 1, 2, ['1']),
  an('R', 1, 50),
  an('R', 10, 10),
  an('S', 1, 50),
]);
export const st = (setId: string, version: string) =>
  seg('ST', 'Transaction Set Header', 'R', 1, [
    id('R', 3, 3, [setId]),
    an('R', 4, 9),
    id('R', 1, 35, [version]),
  ]);
