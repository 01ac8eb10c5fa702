/**
 * Positioned diagnostics of the X12 reader and validator: `{ level, code, message, location }`, where the
 * location names the X12 position (segment ordinal and tag, element, loop) and the line and column in the
 * original bytes. Messages name positions and expectations, never element values that could be PHI.
 */
export type DiagnosticLevel = 'error' | 'warning' | 'info';

export interface X12Position {
  /** 1-based ordinal of the segment in the document, counting from the first ISA. */
  readonly segment: number;
  readonly tag: string;
  /** 1-based element position (`NM1` element 9 is NM109), when the diagnostic is about one element. */
  readonly element?: number;
  readonly component?: number;
  /** Loop id from the TR3 (2000E, 2100C …) when known. */
  readonly loop?: string;
  /** 1-based line and column in the original text (after a byte-order mark, which counts as nothing). */
  readonly line: number;
  readonly column: number;
  /** Character offset in the original text. */
  readonly offset: number;
}

export interface X12Diagnostic {
  readonly level: DiagnosticLevel;
  /** Stable code, e.g. `ISA_WIDTH`, `SE_COUNT`, `NM1_SHIFTED`. */
  readonly code: string;
  readonly message: string;
  /** Human-readable location: `NM108 (segment 12, loop 2010EA, line 20, column 11)`. */
  readonly location: string;
  readonly position?: X12Position;
}

export function elementRef(tag: string, element?: number, component?: number): string {
  if (element === undefined) return tag;
  const ref = `${tag}${String(element).padStart(2, '0')}`;
  return component === undefined ? ref : `${ref}-${component}`;
}

export function describePosition(position: X12Position): string {
  const where = [`segment ${position.segment}`];
  if (position.loop) where.push(`loop ${position.loop}`);
  where.push(`line ${position.line}`, `column ${position.column}`);
  return `${elementRef(position.tag, position.element, position.component)} (${where.join(', ')})`;
}

export function diagnostic(
  level: DiagnosticLevel,
  code: string,
  message: string,
  position?: X12Position,
): X12Diagnostic {
  return {
    level,
    code,
    message,
    location: position ? describePosition(position) : 'document',
    ...(position ? { position } : {}),
  };
}

export function hasErrors(diagnostics: readonly X12Diagnostic[]): boolean {
  return diagnostics.some((d) => d.level === 'error');
}
