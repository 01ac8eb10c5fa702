/**
 * Offsets in the text read to the line/column and element positions of diagnostics (diagnostics.ts): the line
 * starts are found once, on the first position asked for, and element offsets are summed once per segment.
 * Its own module because positions are asked for long after reading (X12Document.positionOf), by every reader.
 */
import type { Segment } from './x12-document.ts';

export class LineIndex {
  private starts: number[] | undefined;
  constructor(private readonly text: string) {}
  lineAndColumn(offset: number): { line: number; column: number } {
    if (!this.starts) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.starts = starts;
    }
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    // A byte-order mark is not a column: the first visible character of the file is column 1.
    const bom = lo === 0 && this.text.charCodeAt(0) === 0xfeff ? 1 : 0;
    return { line: lo + 1, column: offset - starts[lo]! + 1 - (offset > 0 ? bom : 0) };
  }
}

/**
 * Offset of element `n` (1-based) of a segment: every element before it plus one separator each. The sums are
 * kept per segment, so a segment with thousands of elements and a diagnostic on each stays linear.
 */
export function elementOffsets(): (text: string, segment: Segment, element: number) => number {
  const sums = new WeakMap<Segment, number[]>();
  return (text, segment, element) => {
    let before = sums.get(segment);
    if (!before) {
      before = [0];
      for (const value of segment.elements) before.push(before[before.length - 1]! + 1 + value.length);
      sums.set(segment, before);
    }
    const known = Math.min(element - 1, segment.elements.length);
    // Elements past the last one present count one separator each.
    const offset = segment.offset + segment.tag.length + before[known]! + (element - 1 - known);
    return Math.min(offset + 1, text.length);
  };
}
