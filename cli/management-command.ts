/**
 * What the management API commands (`setpoll destinations`, `setpoll notify`) share: their
 * subcommands' parsing and --help, their paging and version options, and how a list is printed.
 */
import { parseWithPositionals, positiveInteger, type CommandHelp, type OptionsConfig, type ParsedCommandLine } from './args.ts';
import { withManagementApi } from './api-client.ts';
import { fields, printResponse, table } from './format.ts';
import type { Io } from './io.ts';
import { API_COMMAND_OPTIONS } from './target.ts';

/** A list's page size and the cursor its previous page answered. */
export const PAGE_OPTIONS = { limit: { type: 'string' }, cursor: { type: 'string' } } as const satisfies OptionsConfig;

/** `--if-match V`: change only what is still at version V (args.ts' entityTag reads it). */
export const IF_MATCH_OPTIONS = { 'if-match': { type: 'string' } } as const satisfies OptionsConfig;

export type Run = (args: readonly string[], io: Io) => Promise<void>;

type Values<O extends OptionsConfig> = ParsedCommandLine<typeof API_COMMAND_OPTIONS & O>['values'];

/**
 * One subcommand: the common and API target options besides `options`, exactly the `positionals`
 * named; --help prints the command's help instead of running.
 */
export function subcommand<const O extends OptionsConfig>(
  command: CommandHelp,
  options: O,
  positionals: readonly string[],
  run: (o: Values<O>, positionals: readonly string[], io: Io) => Promise<void>,
): Run {
  return async (args, io) => {
    const parsed = parseWithPositionals(command.name, args, { ...API_COMMAND_OPTIONS, ...options }, positionals);
    if ((parsed.values as { help?: boolean }).help) {
      io.out(command.help);
      return;
    }
    await run(parsed.values, parsed.positionals, io);
  };
}

/** A subcommand that GETs one item by its ID (`path` of it) and prints it as `name  value` lines. */
export function getSubcommand<T>(command: CommandHelp, path: (id: string) => string, fieldsOf: (item: T) => Parameters<typeof fields>[0]): Run {
  return subcommand(command, {}, ['ID'], async (o, [id], io) => {
    await withManagementApi(o, command.name, async (api) => {
      const res = await api.send({ method: 'GET', path: path(id!) });
      printResponse(io, o.json, res, (item: T) => fields(fieldsOf(item)));
    });
  });
}

/** A list the API answers a page at a time, and how the CLI prints it. */
export interface ListView<T> {
  readonly path: string;
  /** What the items are, in the plural: an empty page prints "No <items>" (the first) or "No more <items>". */
  readonly items: string;
  /** What an empty first page prints instead of "No <items>". */
  readonly none?: string;
  readonly columns: readonly string[];
  readonly row: (item: T) => readonly string[];
}

/**
 * A subcommand that lists one page (--limit, --cursor) as a table, from the view of its
 * positionals; the command line of the next page goes to stderr.
 */
export function listSubcommand<T>(command: CommandHelp, name: string, positionals: readonly string[], view: (positionals: readonly string[]) => ListView<T>): Run {
  return subcommand(command, PAGE_OPTIONS, positionals, async (o, given, io) => {
    const { path, items, none, columns, row } = view(given);
    const limit = positiveInteger(o.limit, 'limit', command.name);
    await withManagementApi(o, command.name, async (api) => {
      const res = await api.send({ method: 'GET', path, query: { limit, cursor: o.cursor } });
      printResponse(io, o.json, res, (page: { items: readonly T[]; nextCursor?: string }) => {
        if (page.nextCursor) io.err(`More: setpoll ${[command.name, name, ...given].join(' ')} --cursor ${page.nextCursor}`);
        if (page.items.length === 0) return [o.cursor ? `No more ${items}` : (none ?? `No ${items}`)];
        return table(columns, page.items.map(row));
      });
    });
  });
}
