import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };
export type ParsedOptions<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies OptionsConfig;

/** `parseArgs` in strict mode, with its errors turned into usage errors of `command`. */
export function parseOptions<const O extends OptionsConfig>(command: string, args: readonly string[], options: O): ParsedOptions<O> {
  try {
    const config: StrictConfig<O> = { args: [...args], options, strict: true, allowPositionals: false };
    return parseArgs(config).values;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message, command);
    throw error;
  }
}

/** The value of a required string option. */
export function required(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

export function positiveInteger(value: string | undefined, name: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`, command);
  return n;
}
