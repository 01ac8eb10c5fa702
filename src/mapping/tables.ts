/** Code tables (mappings/tables/*.json) as lookups: the data says how codes translate, not if-chains. */
import type { CodeTable } from './types.generated.ts';

export type TableValue = string | number | boolean;

export class CodeTables {
  private readonly tables = new Map<string, { table: CodeTable; folded?: Map<string, TableValue> }>();

  constructor(tables: readonly CodeTable[]) {
    for (const table of tables) {
      const folded = table.caseInsensitive
        ? new Map(Object.entries(table.entries).map(([k, v]) => [k.toUpperCase(), v]))
        : undefined;
      this.tables.set(table.id, { table, folded });
    }
  }

  has(id: string): boolean {
    return this.tables.has(id);
  }

  /** The table's value for `code`, its default when the code is not listed, or undefined (a problem to report). */
  lookup(id: string, code: string): TableValue | undefined {
    const entry = this.tables.get(id);
    if (!entry) throw new Error(`Unknown code table '${id}'`);
    const value = entry.folded
      ? entry.folded.get(code.toUpperCase())
      : Object.hasOwn(entry.table.entries, code)
        ? entry.table.entries[code]
        : undefined;
    return value ?? entry.table.default;
  }

  /** The listed value only (no default): for alias tables where an unlisted code is kept as written. */
  exact(id: string, code: string): TableValue | undefined {
    const entry = this.tables.get(id);
    if (!entry) throw new Error(`Unknown code table '${id}'`);
    if (entry.folded) return entry.folded.get(code.toUpperCase());
    return Object.hasOwn(entry.table.entries, code) ? entry.table.entries[code] : undefined;
  }
}
