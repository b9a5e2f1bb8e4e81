/**
 * What the management API commands (`setpoll destinations`, `setpoll notify`) share: their
 * subcommands' parsing and --help, their paging and version options, and how a list is printed.
 */
import { parseWithPositionals, positiveInteger, type CommandHelp, type OptionsConfig, type ParsedCommandLine } from './args.ts';
import { withManagementApi } from './api-client.ts';
import { printResponse, table } from './format.ts';
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

/** A list the API answers a page at a time, and how the CLI prints it. */
export interface ListView<T> {
  readonly path: string;
  /** The command line that lists the next page, less its --cursor. */
  readonly next: string;
  /** What is printed for an empty first page, and for an empty later one. */
  readonly none: string;
  readonly noMore: string;
  readonly columns: readonly string[];
  readonly row: (item: T) => readonly string[];
}

/** GETs one page (--limit, --cursor) and prints it as a table; the command for the next page goes to stderr. */
export async function printList<T>(command: string, o: Values<typeof PAGE_OPTIONS>, io: Io, view: ListView<T>): Promise<void> {
  const limit = positiveInteger(o.limit, 'limit', command);
  await withManagementApi(o, command, async (api) => {
    const res = await api.send({ method: 'GET', path: view.path, query: { limit, cursor: o.cursor } });
    printResponse(io, o.json, res, (page: { items: readonly T[]; nextCursor?: string }) => {
      if (page.nextCursor) io.err(`More: ${view.next} --cursor ${page.nextCursor}`);
      if (page.items.length === 0) return [o.cursor ? view.noMore : view.none];
      return table(view.columns, page.items.map(view.row));
    });
  });
}
