/**
 * RFC 4180 CSV. Cells that a spreadsheet would run as a formula (text starting with =, +, @, tab or CR) get a
 * leading apostrophe (OWASP "CSV injection"); numbers are written as they are; null is an empty cell.
 */

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: ReadonlyArray<object>): string {
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell((row as Record<string, unknown>)[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
