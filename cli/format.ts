/** Readable output: aligned tables and `name  value` blocks. `--json` output bypasses this. */
import type { ApiResponse } from './api-client.ts';
import { oneLine, type Io } from './io.ts';

/** Prints the API's JSON as is with --json (nothing for an empty body), else the readable lines of the parsed body. */
export function printResponse<T>(io: Io, json: boolean | undefined, res: ApiResponse, readable: (body: T) => readonly string[]): void {
  if (json) {
    if (res.text.trim() !== '') io.out(res.text.trim());
    return;
  }
  for (const line of readable(res.json as T)) io.out(line);
}

/** `a, b or c`. */
export const listOf = (names: readonly string[]): string => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);

/** Rows as lines with columns padded to the widest cell; the last column is not padded. Cells are kept to one line (oneLine). */
export function table(header: readonly string[], unsafeRows: readonly (readonly string[])[]): string[] {
  const rows = unsafeRows.map((r) => r.map(oneLine));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `name  value` lines, names padded; undefined values are left out; values are kept to one line (oneLine). */
export function fields(entries: readonly (readonly [string, string | undefined])[]): string[] {
  const present = entries.filter((e): e is readonly [string, string] => e[1] !== undefined).map(([name, value]) => [name, oneLine(value)] as const);
  const width = Math.max(0, ...present.map(([name]) => name.length));
  return present.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
}

/** A value for a cell: strings as is, anything else as JSON, absent as '-'. */
export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
