import { parseArgs, type ParseArgsConfig } from 'node:util';
import { intendedMember } from '../lambdas/core/member-names.ts';
import { UsageError } from './errors.ts';
import { listOf } from './format.ts';
import type { Io } from './io.ts';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: false };
export type ParsedOptions<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>['values'];

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies OptionsConfig;

/** The first words that ask a command with subcommands for its help, as `setpoll help` does. */
const HELP_WORDS: ReadonlySet<string> = new Set(['help', '--help', '-h']);

/**
 * The subcommand a command line names with its first word, and the words after it; undefined when
 * the first word asks for the command's help. No subcommand, or one not in `names`, is a usage
 * error that lists them.
 */
export function subcommandOf<const N extends string>(command: string, args: readonly string[], names: readonly N[]): { name: N; rest: string[] } | undefined {
  const [word, ...rest] = args;
  if (word === undefined) throw new UsageError(`a subcommand is required: ${listOf(names)}`, command);
  if (HELP_WORDS.has(word)) return undefined;
  if (!names.some((name) => name === word)) throw unknownSubcommand(command, word, names);
  return { name: word as N, rest };
}

/** A command as the parsing of its subcommands needs it: its name (in messages) and its help. */
export interface CommandHelp {
  readonly name: string;
  readonly help: string;
}

/**
 * The command line of a command whose subcommands share its options: the subcommand (see
 * subcommandOf) and the words after it as `parse` reads them. Help asked for, by the first word or
 * by --help after it, is printed, and the answer is undefined.
 */
export function subcommandLine<const N extends string, P extends { readonly values: { readonly help?: boolean | undefined } }>(
  command: CommandHelp,
  args: readonly string[],
  names: readonly N[],
  parse: (rest: readonly string[]) => P,
  io: Io,
): (P & { readonly name: N }) | undefined {
  const chosen = subcommandOf(command.name, args, names);
  const parsed = chosen && parse(chosen.rest);
  if (chosen === undefined || parsed?.values.help) {
    io.out(command.help);
    return undefined;
  }
  return { ...parsed!, name: chosen.name };
}

/** A word that is none of `names`, with the one probably meant (as for commands and options); `otherwise` follows the list. */
export function unknownSubcommand(command: string, word: string, names: readonly string[], otherwise = ''): UsageError {
  const meant = intendedMember(word, names);
  return new UsageError(`unknown subcommand ${JSON.stringify(word)}${meant ? ` (did you mean ${meant}?)` : ''}: use ${listOf(names)}${otherwise}`, command);
}

/** `parseArgs` in strict mode, with its errors turned into usage errors of `command`. */
export function parseOptions<const O extends OptionsConfig>(command: string, args: readonly string[], options: O): ParsedOptions<O> {
  try {
    const config: StrictConfig<O> = { args: [...args], options, strict: true, allowPositionals: false };
    return parseArgs(config).values;
  } catch (error) {
    throw usageError(error, command, options);
  }
}

/**
 * parseArgs' errors as usage errors of `command`; an unknown option names the one probably meant
 * (the near-miss rule of lambdas/core/member-names.ts). Options absent from the help (aliases
 * kept for old scripts) are suggested too: they work.
 */
export function usageError(error: unknown, command: string, options: OptionsConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!code.startsWith('ERR_PARSE_ARGS')) return error;
  const message = (error as Error).message;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const given = /^Unknown option '(-{1,2}[^']*)'/.exec(message)?.[1];
    if (given) {
      const meant = intendedMember(given.replace(/^-+/, '').split('=')[0] ?? '', Object.keys(options));
      return new UsageError(`Unknown option '${given}'${meant ? ` (did you mean --${meant}?)` : ''}`, command);
    }
  }
  return new UsageError(message, command);
}

/** The value of a required string option. */
export function required(value: string | undefined, name: string, command: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

/** `--if-match`: a version as shown by get (3), or the ETag itself ("3"); answered as the ETag to send. */
export function entityTag(value: string | undefined, command: string): string | undefined {
  if (value === undefined) return undefined;
  const version = /^"?([1-9][0-9]{0,15})"?$/.exec(value.trim());
  if (!version) throw new UsageError(`--if-match must be a version number as shown by get, e.g. 3 (got ${JSON.stringify(value)})`, command);
  return `"${version[1]}"`;
}

export function positiveInteger(value: string | undefined, name: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`, command);
  return n;
}

type PositionalConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: true };
export type ParsedCommandLine<O extends OptionsConfig> = {
  readonly values: ReturnType<typeof parseArgs<PositionalConfig<O>>>['values'];
  readonly positionals: string[];
};

/**
 * `parseArgs` in strict mode with exactly `names.length` positional arguments (named in the
 * errors), e.g. `destinations get ID`. Options may come before or after them.
 */
export function parseWithPositionals<const O extends OptionsConfig>(
  command: string,
  args: readonly string[],
  options: O,
  names: readonly string[],
): ParsedCommandLine<O> {
  let parsed: ParsedCommandLine<O>;
  try {
    const config: PositionalConfig<O> = { args: [...args], options, strict: true, allowPositionals: true };
    parsed = parseArgs(config);
  } catch (error) {
    throw usageError(error, command, options);
  }
  // --help needs no positionals: the command prints its help instead.
  if ((parsed.values as { help?: boolean }).help) return parsed;
  if (parsed.positionals.length < names.length) throw new UsageError(`${names[parsed.positionals.length]} is required`, command);
  if (parsed.positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[names.length])}`, command);
  }
  for (const [i, value] of parsed.positionals.entries()) {
    if (value.trim() === '') throw new UsageError(`${names[i]} cannot be empty`, command);
  }
  return parsed;
}
