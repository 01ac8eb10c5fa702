/**
 * One transaction set checked against its TR3 table (validator.ts runs it for every set of a generated
 * interchange): the table walk — segment order, usage, repeats and loop repeats (999 IK304 codes) — each
 * segment's elements — usage, repeats, components, lengths, character set, data types and code values (999 IK403
 * codes) — and the HL hierarchy (HL01 sequence, HL02 parents, HL04 child codes). Its own module: the walk of a
 * set through its table (spec.ts) is one concern, the interchange around the sets (validator.ts) another.
 *
 * @see ASC X12C 005010X231A1 Implementation Acknowledgment for Health Care Insurance (999): IK304, IK403
 */
import { diagnostic, type X12Diagnostic } from './diagnostics.ts';
import type { Segment, TransactionSet, X12Document } from './reader.ts';
import type { ElementSpec, LoopSpec, SegmentSpec, TransactionSpec } from './spec.ts';
import { el, x12DateToIso } from './transaction.ts';

interface Frame {
  readonly spec: LoopSpec;
  /** Index of the last own segment matched. */
  pos: number;
  readonly counts: number[];
  /** Index of the last child loop entered, -1 before any. */
  loopPos: number;
  readonly loopCounts: number[];
}

const basicCharacters = /^[\x20-\x7e]*$/;

function matches(spec: SegmentSpec, segment: Segment): boolean {
  return (
    spec.tag === segment.tag &&
    (!spec.qualifier || spec.qualifier.values.includes(el(segment, spec.qualifier.element)))
  );
}

export class SetValidator {
  readonly diagnostics: X12Diagnostic[] = [];
  constructor(
    private readonly doc: X12Document,
    private readonly set: TransactionSet,
  ) {}

  private error(
    code: string,
    message: string,
    segment: Segment,
    element?: number,
    loop?: string,
    component?: number,
  ) {
    this.diagnostics.push(
      diagnostic('error', code, message, this.doc.positionOf(segment, element, loop, component)),
    );
  }

  elements(spec: SegmentSpec, segment: Segment, loop: string): void {
    const d = this.set.interchange.delimiters;
    if (segment.elements.length > spec.elements.length) {
      this.error(
        'IK403_3',
        `${spec.tag} has ${segment.elements.length} elements; the TR3 defines ${spec.elements.length}`,
        segment,
        spec.elements.length + 1,
        loop,
      );
    }
    if (segment.elements.length > 0 && segment.elements[segment.elements.length - 1] === '') {
      this.error(
        'TRAILING_SEPARATOR',
        `${spec.tag} ends with an empty element (trailing separator)`,
        segment,
        segment.elements.length,
        loop,
      );
    }
    spec.elements.forEach((elementSpec, index) => {
      const position = index + 1;
      const value = segment.elements[index] ?? '';
      if (value === '') {
        if (elementSpec.usage === 'R')
          this.error('IK403_1', `${ref(spec.tag, position)} is required`, segment, position, loop);
        return;
      }
      if (elementSpec.usage === 'N') {
        this.error(
          'IK403_I10',
          `${ref(spec.tag, position)} is not used in this implementation`,
          segment,
          position,
          loop,
        );
        return;
      }
      const repetitions = elementSpec.repeat && d.repetition ? value.split(d.repetition) : [value];
      if (repetitions.length > (elementSpec.repeat ?? 1)) {
        this.error(
          'IK403_12',
          `${ref(spec.tag, position)} repeats more than ${elementSpec.repeat ?? 1} times`,
          segment,
          position,
          loop,
        );
      }
      for (const repetition of repetitions) {
        if (elementSpec.type === 'C') {
          const components = repetition.split(d.component);
          const specs = elementSpec.components ?? [];
          if (components.length > specs.length) {
            this.error(
              'IK403_13',
              `${ref(spec.tag, position)} has ${components.length} components; the TR3 defines ${specs.length}`,
              segment,
              position,
              loop,
            );
          }
          if (components[components.length - 1] === '') {
            this.error(
              'TRAILING_SEPARATOR',
              `${ref(spec.tag, position)} ends with an empty component`,
              segment,
              position,
              loop,
            );
          }
          specs.forEach((componentSpec, c) => {
            const componentValue = components[c] ?? '';
            if (componentValue === '') {
              if (componentSpec.usage === 'R') {
                this.error(
                  'IK403_1',
                  `${ref(spec.tag, position)}-${c + 1} is required`,
                  segment,
                  position,
                  loop,
                  c + 1,
                );
              }
              return;
            }
            if (componentSpec.usage === 'N') {
              this.error(
                'IK403_I10',
                `${ref(spec.tag, position)}-${c + 1} is not used`,
                segment,
                position,
                loop,
                c + 1,
              );
              return;
            }
            this.simple(
              componentSpec,
              componentValue,
              `${ref(spec.tag, position)}-${c + 1}`,
              segment,
              position,
              loop,
              c + 1,
            );
          });
        } else {
          this.simple(elementSpec, repetition, ref(spec.tag, position), segment, position, loop);
        }
      }
    });
  }

  private simple(
    spec: ElementSpec,
    value: string,
    name: string,
    segment: Segment,
    element: number,
    loop: string,
    component?: number,
  ) {
    const d = this.set.interchange.delimiters;
    const significant =
      spec.type === 'R' || spec.type === 'N0' ? value.replace(/[-.]/g, '').length : value.length;
    if (significant < spec.min)
      this.error('IK403_4', `${name} is shorter than ${spec.min}`, segment, element, loop, component);
    if (significant > spec.max)
      this.error('IK403_5', `${name} is longer than ${spec.max}`, segment, element, loop, component);
    if (
      !basicCharacters.test(value) ||
      value.includes(d.element) ||
      value.includes(d.segment) ||
      value.includes(d.component) ||
      (d.repetition !== undefined && value.includes(d.repetition))
    ) {
      this.error(
        'IK403_6',
        `${name} holds a delimiter or a character outside the X12 character set`,
        segment,
        element,
        loop,
        component,
      );
      return;
    }
    switch (spec.type) {
      case 'ID':
        if (spec.codes && !spec.codes.includes(value)) {
          this.error(
            'IK403_7',
            `${name} is not one of the codes the TR3 allows here`,
            segment,
            element,
            loop,
            component,
          );
        }
        break;
      case 'DT':
        if (x12DateToIso(value) === undefined)
          this.error('IK403_8', `${name} is not a CCYYMMDD date`, segment, element, loop, component);
        break;
      case 'TM':
        if (!/^([01]\d|2[0-3])[0-5]\d([0-5]\d(\d{1,2})?)?$/.test(value)) {
          this.error('IK403_9', `${name} is not an HHMM[SS[dd]] time`, segment, element, loop, component);
        }
        break;
      case 'N0':
        if (!/^-?\d+$/.test(value))
          this.error('IK403_6', `${name} is not an integer`, segment, element, loop, component);
        break;
      case 'R':
        if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(value))
          this.error('IK403_6', `${name} is not a decimal number`, segment, element, loop, component);
        break;
    }
  }

  private closeFrame(frame: Frame, at: Segment): void {
    if (frame.loopPos === -1) this.missingOwn(frame, frame.spec.segments.length, at);
    this.missingLoops(frame, (frame.spec.loops ?? []).length, at);
  }

  /** Required child loops between the last one entered and `upTo` that never occurred. */
  private missingLoops(frame: Frame, upTo: number, at: Segment): void {
    const loops = frame.spec.loops ?? [];
    for (let k = frame.loopPos + 1; k < upTo; k++) {
      const child = loops[k]!;
      if (child.usage === 'R' && frame.loopCounts[k] === 0) {
        this.error(
          'IK304_I7',
          `Loop ${child.id} (${child.name}) is required in loop ${frame.spec.id} but absent`,
          at,
          undefined,
          frame.spec.id,
        );
      }
    }
  }

  private missingOwn(frame: Frame, upTo: number, at: Segment): void {
    for (let i = frame.pos + 1; i < upTo; i++) {
      const spec = frame.spec.segments[i]!;
      if (spec.usage === 'R' && frame.counts[i] === 0) {
        this.error(
          'IK304_3',
          `Required segment ${spec.tag} (${spec.name}) is missing from loop ${frame.spec.id}`,
          at,
          undefined,
          frame.spec.id,
        );
      }
    }
  }

  walk(spec: TransactionSpec): void {
    const root: LoopSpec = {
      id: 'header',
      name: 'Header',
      usage: 'R',
      max: 1,
      segments: spec.header.slice(1),
      loops: spec.loops,
    };
    const newFrame = (loop: LoopSpec): Frame => ({
      spec: loop,
      pos: -1,
      counts: loop.segments.map(() => 0),
      loopPos: -1,
      loopCounts: (loop.loops ?? []).map(() => 0),
    });
    const stack: Frame[] = [newFrame(root)];
    this.elements(spec.header[0]!, this.set.header, 'header');

    /** Matches a segment in a frame: true for one of its own segments, a new frame for a child loop. Mutates only on a match. */
    const tryFrame = (frame: Frame, segment: Segment): true | Frame | undefined => {
      if (frame.loopPos === -1) {
        for (let i = Math.max(frame.pos, 0); i < frame.spec.segments.length; i++) {
          const segSpec = frame.spec.segments[i]!;
          if (!matches(segSpec, segment)) continue;
          if (i === 0 && frame.pos >= 0 && frame.spec !== root) continue; // the trigger starts a new loop, not a repeat
          this.missingOwn(frame, i, segment);
          frame.pos = i;
          frame.counts[i]!++;
          if (frame.counts[i]! > segSpec.max) {
            this.error(
              'IK304_5',
              `${segSpec.tag} (${segSpec.name}) occurs more than ${segSpec.max} times in loop ${frame.spec.id}`,
              segment,
              undefined,
              frame.spec.id,
            );
          }
          this.elements(segSpec, segment, frame.spec.id);
          return true;
        }
      }
      const loops = frame.spec.loops ?? [];
      for (let j = Math.max(frame.loopPos, 0); j < loops.length; j++) {
        const child = loops[j]!;
        if (!matches(child.segments[0]!, segment)) continue;
        if (frame.loopPos === -1) this.missingOwn(frame, frame.spec.segments.length, segment);
        this.missingLoops(frame, j, segment);
        frame.loopPos = j;
        frame.loopCounts[j]!++;
        if (frame.loopCounts[j]! > child.max) {
          this.error(
            'IK304_4',
            `Loop ${child.id} (${child.name}) occurs more than ${child.max} times`,
            segment,
            undefined,
            child.id,
          );
        }
        const next = newFrame(child);
        next.pos = 0;
        next.counts[0] = 1;
        this.elements(child.segments[0]!, segment, child.id);
        return next;
      }
      return undefined;
    };

    for (const segment of this.set.segments) {
      let accepted = false;
      for (let depth = stack.length - 1; depth >= 0; depth--) {
        const result = tryFrame(stack[depth]!, segment);
        if (!result) continue;
        // The segment belongs to this frame: the frames above it are finished.
        for (const closed of stack.splice(depth + 1).reverse()) this.closeFrame(closed, segment);
        if (result !== true) stack.push(result);
        accepted = true;
        break;
      }
      if (!accepted) {
        const where = stack[stack.length - 1]!.spec.id;
        this.error(
          'IK304_2',
          `${segment.tag} is not expected here (loop ${where}) by the TR3`,
          segment,
          undefined,
          where,
        );
      }
    }
    const end = this.set.trailer ?? this.set.header;
    for (const frame of stack.reverse()) this.closeFrame(frame, end);
  }

  hierarchy(): void {
    const ids = new Set<string>();
    const hls = this.set.segments.filter((s) => s.tag === 'HL');
    hls.forEach((segment, index) => {
      if (el(segment, 1) !== String(index + 1))
        this.error('HL_SEQUENCE', `HL01 should be ${index + 1}`, segment, 1);
      const parent = el(segment, 2);
      if (parent !== '' && !ids.has(parent)) this.error('HL_PARENT', 'HL02 names no earlier HL', segment, 2);
      ids.add(el(segment, 1));
      const hasChildren = hls.some((other) => el(other, 2) === el(segment, 1));
      if (el(segment, 4) !== (hasChildren ? '1' : '0')) {
        this.error(
          'HL_CHILD_CODE',
          `HL04 should be ${hasChildren ? '1' : '0'} (the level ${hasChildren ? 'has' : 'has no'} children)`,
          segment,
          4,
        );
      }
    });
  }
}

function ref(tag: string, position: number): string {
  return `${tag}${String(position).padStart(2, '0')}`;
}
