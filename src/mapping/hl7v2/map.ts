/**
 * HL7 v2 orders → canonical requests: picks the mapping by MSH-9 (never by file name), checks MSH-12 and the
 * required segments, splits the message into order groups (ORC + OBR/RXO, one request per item: one ORC with
 * two OBRs is two requests), and runs the engine on each group.
 */
import {
  applyRules,
  type CompiledRule,
  compileRule,
  type Found,
  normalizeRequest,
  overrideRules,
  type SourceLocation,
  type UnitResult,
  type UnitSource,
} from '../engine.ts';
import { formatHl7Position, type Hl7Position, hl7Problem, type MappingProblem } from '../problems.ts';
import type { CodeTables } from '../tables.ts';
import type { Hl7V2FieldRule, Hl7V2Mapping, Hl7V2Scope, SenderProfile } from '../types.generated.ts';
import type { Hl7Components, Hl7Document, Hl7Segment } from './message.ts';
import { type Hl7ReadContext, type Hl7Reader, hl7Reader, part } from './readers.ts';

export interface Hl7Path {
  readonly text: string;
  readonly segment: string;
  readonly field?: number;
  readonly component?: number;
  readonly subcomponent?: number;
}

interface Hl7Rule extends CompiledRule<Hl7Path> {
  readonly scopes: readonly Hl7V2Scope[];
  readonly reader: Hl7Reader;
}

export interface CompiledHl7Mapping {
  readonly id: string;
  readonly messageTypes: readonly string[];
  readonly minVersion?: string;
  readonly control: string;
  readonly items: ReadonlySet<string>;
  readonly acceptedOrderControl: readonly string[];
  readonly noItemMessage: string;
  readonly requiredSegments: readonly { segment: string; message: string }[];
  readonly rules: readonly Hl7Rule[];
  readonly profile?: SenderProfile;
}

export function parseHl7Path(text: string): Hl7Path {
  const match = /^([A-Z][A-Z0-9]{2})(?:-(\d+)(?:\.(\d+)(?:\.(\d+))?)?)?$/.exec(text);
  if (!match) throw new Error(`Bad HL7 path '${text}'`);
  const [, segment, field, component, subcomponent] = match;
  return {
    text,
    segment: segment!,
    ...(field ? { field: Number(field) } : {}),
    ...(component ? { component: Number(component) } : {}),
    ...(subcomponent ? { subcomponent: Number(subcomponent) } : {}),
  };
}

const defaultScopes: readonly Hl7V2Scope[] = ['item', 'order', 'message'];

export function compileHl7Mapping(mapping: Hl7V2Mapping, profile?: SenderProfile): CompiledHl7Mapping {
  const rules = overrideRules<Hl7V2FieldRule>(mapping.fields ?? [], profile?.hl7v2Fields ?? []).map(
    (rule): Hl7Rule => {
      const from = rule.from === undefined ? [] : Array.isArray(rule.from) ? rule.from : [rule.from];
      const scopes =
        rule.scope === undefined ? defaultScopes : Array.isArray(rule.scope) ? rule.scope : [rule.scope];
      return {
        ...compileRule(rule, from.map(parseHl7Path)),
        scopes,
        reader: hl7Reader(rule.read ?? 'ST'),
      };
    },
  );
  return {
    id: mapping.id,
    messageTypes: mapping.select?.messageTypes ?? [],
    minVersion: mapping.select?.minVersion,
    control: mapping.orders!.control,
    items: new Set(mapping.orders!.items),
    acceptedOrderControl: profile?.acceptedOrderControl ?? mapping.orders!.acceptedOrderControl,
    noItemMessage:
      mapping.orders!.noItemMessage ?? `the ${mapping.orders!.control} has no order item after it`,
    requiredSegments: mapping.requiredSegments ?? [],
    rules,
    profile,
  };
}

/** One order group: the item segment (OBR/RXO) with what follows it, under its control segment (ORC). */
interface OrderGroup {
  readonly index: number;
  readonly control: Hl7Segment;
  readonly order: readonly Hl7Segment[];
  readonly item: readonly Hl7Segment[];
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Checks MSH-12 against the mapping: too old is refused, unreadable is a warning (read as best we can). */
export function checkVersion(
  doc: Hl7Document,
  minVersion: string | undefined,
  problems: MappingProblem[],
): void {
  const version = doc.version;
  if (!/^\d+\.\d+(\.\d+)?$/.test(version)) {
    problems.push(
      hl7Problem(
        'PAGW_MAP_INVALID_VALUE',
        { segment: 'MSH', field: 12 },
        version ? 'version id is not of the form 2.x[.y]: read as the current version' : 'version id missing',
        'warning',
      ),
    );
    return;
  }
  if (minVersion && compareVersions(version, minVersion) < 0) {
    problems.push(
      hl7Problem(
        'PAGW_MAP_UNSUPPORTED_VERSION',
        { segment: 'MSH', field: 12 },
        `unsupported version ${version}: orders are read from version ${minVersion} on`,
      ),
    );
  }
}

function groupOrders(doc: Hl7Document, mapping: CompiledHl7Mapping, problems: MappingProblem[]) {
  const message: Hl7Segment[] = [];
  const groups: OrderGroup[] = [];
  let control: Hl7Segment | undefined;
  let order: Hl7Segment[] = [];
  let item: Hl7Segment[] | undefined;
  let itemsUnderControl = 0;
  let orphan: Hl7Segment[] | undefined;
  const closeControl = () => {
    if (control && itemsUnderControl === 0) {
      problems.push(
        hl7Problem(
          'PAGW_MAP_STRUCTURE',
          { segment: control.id, sequence: control.sequence },
          mapping.noItemMessage,
        ),
      );
    }
  };
  for (const segment of doc.segments) {
    if (segment.id === mapping.control) {
      closeControl();
      control = segment;
      order = [segment];
      item = undefined;
      orphan = undefined;
      itemsUnderControl = 0;
      continue;
    }
    if (mapping.items.has(segment.id)) {
      if (!control) {
        problems.push(orphanProblem(doc, segment, mapping.control));
        orphan = [segment];
        item = undefined;
        continue;
      }
      item = [segment];
      itemsUnderControl++;
      groups.push({ index: groups.length, control, order, item });
      continue;
    }
    if (item) item.push(segment);
    else if (orphan) orphan.push(segment);
    else if (control) order.push(segment);
    else message.push(segment);
  }
  closeControl();
  if (groups.length === 0 && !problems.some((p) => p.code === 'PAGW_MAP_STRUCTURE')) {
    problems.push(
      hl7Problem(
        'PAGW_MAP_STRUCTURE',
        { segment: mapping.control },
        `no order: the message has no ${mapping.control} segment followed by ${[...mapping.items].join(' or ')}`,
      ),
    );
  }
  return { message, groups };
}

/** An item with no control segment before it; says where a lost segment terminator probably is. */
function orphanProblem(doc: Hl7Document, segment: Hl7Segment, control: string): MappingProblem {
  const glued = doc.segments
    .slice(0, segment.index)
    .reverse()
    .find((s) => s.raw.slice(3).includes(`${control}${doc.separators.field}`));
  const hint = glued
    ? `; ${glued.id}${glued.sequence > 1 ? `[${glued.sequence}]` : ''} (line ${glued.line}) has '${control}${doc.separators.field}' inside a field, so a segment terminator is probably missing before ${control}`
    : '';
  return hl7Problem(
    'PAGW_MAP_STRUCTURE',
    { segment: segment.id, sequence: segment.sequence },
    `${segment.id} has no ${control} before it (${control} is required in each order group)${hint}`,
  );
}

/** The value of a path in one segment: one node per field repetition (or its component). */
function nodesOf(
  doc: Hl7Document,
  segment: Hl7Segment,
  path: Hl7Path,
): Array<{ value: Hl7Components; rep: number }> {
  if (path.field === undefined) return [{ value: [], rep: 0 }];
  const repetitions = doc.field(segment, path.field);
  const out: Array<{ value: Hl7Components; rep: number }> = [];
  repetitions.forEach((repetition, rep) => {
    let value: Hl7Components = repetition;
    if (path.component !== undefined) {
      const subs = repetition[path.component - 1] ?? [];
      value = path.subcomponent !== undefined ? [[subs[path.subcomponent - 1] ?? '']] : subs.map((s) => [s]);
    }
    if (value.some((c) => c.some((s) => s.trim() !== ''))) out.push({ value, rep });
  });
  return out;
}

interface Hl7UnitOptions {
  readonly doc: Hl7Document;
  readonly mapping: CompiledHl7Mapping;
  readonly scopes: Readonly<Record<Hl7V2Scope, readonly Hl7Segment[]>>;
  readonly tables: CodeTables;
  readonly sender: string;
  readonly missingSegments: ReadonlySet<string>;
}

/**
 * The context a reader gets for one value. One object per unit, re-pointed at each value: mapping thousands of
 * orders a second, allocating a context and a closure per field value shows up in profiles.
 */
class ReadContext implements Hl7ReadContext {
  segment!: Hl7Segment;
  position!: Hl7Position;
  location = '';
  sink: (problem: MappingProblem) => void = () => {};
  constructor(
    readonly doc: Hl7Document,
    readonly tables: CodeTables,
    readonly sender: string,
    readonly codeSystems: Readonly<Record<string, string>>,
    readonly timeZone: string | undefined,
  ) {}

  report(p: Omit<MappingProblem, 'location' | 'hl7'> & { position?: Hl7Position }): void {
    const { position, ...rest } = p;
    this.sink({
      ...rest,
      location: position ? formatHl7Position(position) : this.location,
      hl7: position ?? this.position,
    });
  }
}

function positionOf(segment: Hl7Segment, path: Hl7Path, rep: number): Hl7Position {
  if (path.field === undefined) return { segment: segment.id, sequence: segment.sequence };
  const position: { -readonly [K in keyof Hl7Position]: Hl7Position[K] } = {
    segment: segment.id,
    sequence: segment.sequence,
    field: path.field,
    repetition: rep + 1,
  };
  if (path.component !== undefined) position.component = path.component;
  if (path.subcomponent !== undefined) position.subcomponent = path.subcomponent;
  return position;
}

function unitSource(options: Hl7UnitOptions): UnitSource<Hl7Path> {
  const { doc, scopes, tables, mapping } = options;
  const ctx = new ReadContext(
    doc,
    tables,
    options.sender,
    mapping.profile?.codeSystems ?? {},
    mapping.profile?.timeZone,
  );
  return {
    find(rule, report) {
      const hl7Rule = rule as Hl7Rule;
      const found: Found[] = [];
      ctx.sink = report;
      for (const path of rule.paths) {
        for (const scope of hl7Rule.scopes) {
          const before = found.length;
          for (const segment of scopes[scope]) {
            if (segment.id !== path.segment) continue;
            for (const node of nodesOf(doc, segment, path)) {
              const position = positionOf(segment, path, node.rep);
              const location = formatHl7Position(position);
              ctx.segment = segment;
              ctx.position = position;
              ctx.location = location;
              const value = hl7Rule.reader(node.value, ctx);
              if (value === undefined) continue;
              found.push({ value, location, hl7: position });
              if (!rule.all) return found;
            }
          }
          if (found.length > before) break;
        }
      }
      return found;
    },
    missing(rule): SourceLocation | undefined {
      const path = rule.paths[0];
      if (!path) return { location: rule.targetText };
      if (options.missingSegments.has(path.segment)) return undefined;
      const scopeList = (rule as Hl7Rule).scopes;
      const segment = scopeList.flatMap((s) => scopes[s]).find((s) => s.id === path.segment);
      const position: Hl7Position = {
        segment: path.segment,
        ...(segment ? { sequence: segment.sequence } : {}),
        ...(path.field !== undefined ? { field: path.field } : {}),
        ...(path.component !== undefined ? { component: path.component } : {}),
      };
      return { location: formatHl7Position(position), hl7: position };
    },
  };
}

export interface Hl7MapResult {
  /**
   * `control: cancel` for an order group whose ORC-1 cancels the order (CA, OC, DC), `change` for one that changes it
   * (XO, XX): not a new order, read anyway.
   */
  readonly units: Array<UnitResult & { readonly group: number; readonly control?: 'cancel' | 'change' }>;
}

/** ORC-1 codes that withdraw an order: cancel order request, order canceled, discontinue (HL7 table 0119). */
const cancelOrderControls: ReadonlySet<string> = new Set(['CA', 'OC', 'DC']);
/** ORC-1 codes that change an order: change order request, order changed (HL7 table 0119). */
const changeOrderControls: ReadonlySet<string> = new Set(['XO', 'XX']);

/** Maps every order group of a message; problems (errors and warnings) are appended to `problems`. */
export function mapHl7Document(
  doc: Hl7Document,
  mapping: CompiledHl7Mapping,
  tables: CodeTables,
  sender: string,
  problems: MappingProblem[],
): Hl7MapResult {
  checkVersion(doc, mapping.minVersion, problems);
  const present = new Set(doc.segments.map((s) => s.id));
  const missingSegments = new Set<string>();
  for (const required of mapping.requiredSegments) {
    if (present.has(required.segment)) continue;
    missingSegments.add(required.segment);
    problems.push(hl7Problem('PAGW_MAP_MISSING_FIELD', { segment: required.segment }, required.message));
  }
  const { message, groups } = groupOrders(doc, mapping, problems);
  const localSender = mapping.profile?.id ?? sender;
  const units: Hl7MapResult['units'] = [];
  for (const group of groups) {
    const orderControl = part(doc.field(group.control, 1)[0] ?? [], 1);
    const position = { segment: group.control.id, sequence: group.control.sequence, field: 1 };
    if (!orderControl) {
      problems.push(hl7Problem('PAGW_MAP_MISSING_FIELD', position, 'order control missing'));
    } else if (!mapping.acceptedOrderControl.includes(orderControl)) {
      problems.push(
        hl7Problem(
          'PAGW_MAP_NOT_NEW_ORDER',
          position,
          `order control '${orderControl}' is not a new order (accepted: ${mapping.acceptedOrderControl.join(', ')})`,
        ),
      );
    }
    const source = unitSource({
      doc,
      mapping,
      scopes: { message, order: group.order, item: group.item },
      tables,
      sender: localSender,
      missingSegments,
    });
    const control =
      orderControl === undefined
        ? undefined
        : cancelOrderControls.has(orderControl)
          ? ('cancel' as const)
          : changeOrderControls.has(orderControl)
            ? ('change' as const)
            : undefined;
    units.push({
      ...applyRules(mapping.rules, source, tables, problems),
      group: group.index,
      ...(control ? { control } : {}),
    });
  }
  for (const unit of units) normalizeRequest(unit.request);
  return { units };
}

/** `EPIC@HOSPITAL`: MSH-3 and MSH-4 namespace ids, the sending system a duplicate is recognised by. */
export function hl7Sender(doc: Hl7Document, fallback: string): string {
  const parts = [doc.sendingApplication, doc.sendingFacility].filter(Boolean);
  return parts.length > 0 ? parts.join('@') : fallback;
}
