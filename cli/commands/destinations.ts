/** `setpoll destinations ...`: a Data Provider's notification destinations, over the management API. */
import { entityTag, parseWithPositionals, positiveInteger, type OptionsConfig } from '../args.ts';
import { withManagementApi, type ManagementApi } from '../api-client.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { readTextFile } from '../events.ts';
import { cell, fields, listOf, printResponse, table } from '../format.ts';
import type { Io } from '../io.ts';
import { API_COMMAND_OPTIONS, PROVIDER_API_HELP, helpFooter } from '../target.ts';

const COMMAND = 'destinations';

export const DESTINATIONS_HELP = `Usage: setpoll destinations <subcommand> [options]

A Data Provider's notification destinations: which recipients receive its notifications, and
for which event types. Each provider has its own list.

Subcommands:
  add --recipient ID [--event-type URI ...]     register a destination (default: every event type)
  list [--limit N] [--cursor C]                 list destinations, a page at a time (N: 1-100)
  get ID                                        show one destination
  update ID (--event-type URI ... | --all-types) [--if-match V]
                                                replace its event types
  remove ID [--if-match V]                      remove a destination
  import FILE.json [--atomic]                   apply a JSON array of operations (at most 100):
                                                {"op":"register"|"update"|"delete","clientId":ID,
                                                 "eventTypes":[URI...]|null,"expectedVersion":N}
                                                --atomic: all of them or none

--if-match V applies the change only if the destination is still at version V (as shown by get).
import prints one line per operation and exits 1 when any failed (or, --atomic, when none applied).

Options:
${helpFooter(15, PROVIDER_API_HELP, "print the API's JSON as is")}`;

const BASE = API_COMMAND_OPTIONS;
const EVENT_TYPE = { 'event-type': { type: 'string', multiple: true } } as const satisfies OptionsConfig;
const IF_MATCH = { 'if-match': { type: 'string' } } as const satisfies OptionsConfig;
const PAGE = { limit: { type: 'string' }, cursor: { type: 'string' } } as const satisfies OptionsConfig;

interface Destination {
  readonly clientId: string;
  readonly eventTypes?: readonly string[];
  readonly version: number;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

interface BulkItemResult {
  readonly index: number;
  readonly clientId: string;
  readonly ok: boolean;
  readonly status: number;
  readonly destination?: Destination;
  readonly error?: { readonly err: string; readonly description: string };
}

interface BulkResult {
  readonly atomic: boolean;
  readonly applied: boolean;
  readonly results: readonly BulkItemResult[];
  readonly totals: { readonly succeeded: number; readonly failed: number };
}

type Run = (args: readonly string[], io: Io) => Promise<void>;

/** Prints the help and answers true when --help was given. */
function help(o: { help?: boolean | undefined }, io: Io): boolean {
  if (o.help) io.out(DESTINATIONS_HELP);
  return o.help === true;
}

const SUBCOMMANDS: Record<string, Run> = {
  async add(args, io) {
    const { values: o } = parseWithPositionals(COMMAND, args, { ...BASE, ...EVENT_TYPE, recipient: { type: 'string', short: 'r' } }, []);
    if (help(o, io)) return;
    const clientId = recipientId(o.recipient);
    const eventTypes = eventTypeList(o['event-type']);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'POST', path: '/destinations', body: { clientId, ...(eventTypes ? { eventTypes } : {}) } });
      printResponse(io, o.json, res, (d: Destination) => [`Registered destination ${d.clientId} (version ${d.version}): ${describeTypes(d)}`]);
    });
  },

  async list(args, io) {
    const { values: o } = parseWithPositionals(COMMAND, args, { ...BASE, ...PAGE }, []);
    if (help(o, io)) return;
    const limit = positiveInteger(o.limit, 'limit', COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'GET', path: '/destinations', query: { limit, cursor: o.cursor } });
      printResponse(io, o.json, res, (page: { items: Destination[]; nextCursor?: string }) => {
        if (page.nextCursor) io.err(`More: setpoll destinations list --cursor ${page.nextCursor}`);
        if (page.items.length === 0) return [o.cursor ? 'No more destinations' : 'No destinations'];
        return table(
          ['CLIENT ID', 'VERSION', 'UPDATED', 'EVENT TYPES'],
          page.items.map((d) => [d.clientId, String(d.version), cell(d.updatedAt), describeTypes(d)]),
        );
      });
    });
  },

  async get(args, io) {
    const { values: o, positionals } = parseWithPositionals(COMMAND, args, BASE, ['ID']);
    if (help(o, io)) return;
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'GET', path: destinationPath(positionals[0]!) });
      printResponse(io, o.json, res, (d: Destination) =>
        fields([
          ['clientId', d.clientId],
          ['eventTypes', describeTypes(d)],
          ['version', String(d.version)],
          ['createdAt', d.createdAt],
          ['updatedAt', d.updatedAt],
        ]),
      );
    });
  },

  async update(args, io) {
    const { values: o, positionals } = parseWithPositionals(COMMAND, args, { ...BASE, ...EVENT_TYPE, ...IF_MATCH, 'all-types': { type: 'boolean' } }, ['ID']);
    if (help(o, io)) return;
    const eventTypes = eventTypeList(o['event-type']);
    if ((eventTypes === undefined) === (o['all-types'] !== true)) {
      throw new UsageError('give the new event types with --event-type URI (repeatable), or --all-types for every type', COMMAND);
    }
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'PUT', path: destinationPath(positionals[0]!), body: { eventTypes: eventTypes ?? null }, ifMatch });
      printResponse(io, o.json, res, (d: Destination) => [`Updated destination ${d.clientId} (version ${d.version}): ${describeTypes(d)}`]);
    });
  },

  async remove(args, io) {
    const { values: o, positionals } = parseWithPositionals(COMMAND, args, { ...BASE, ...IF_MATCH }, ['ID']);
    if (help(o, io)) return;
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'DELETE', path: destinationPath(positionals[0]!), ifMatch });
      printResponse(io, o.json, res, () => [`Removed destination ${positionals[0]}`]);
    });
  },

  async import(args, io) {
    const { values: o, positionals } = parseWithPositionals(COMMAND, args, { ...BASE, atomic: { type: 'boolean' } }, ['FILE.json']);
    if (help(o, io)) return;
    const operations = await readOperations(positionals[0]!);
    await withManagementApi(o, COMMAND, (api) => importOperations(api, operations, o.atomic === true, o.json === true, io));
  },
};

const NAMES = Object.keys(SUBCOMMANDS);

export async function destinationsCommand(args: readonly string[], io: Io): Promise<void> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(DESTINATIONS_HELP);
    return;
  }
  if (name === undefined) throw new UsageError(`a subcommand is required: ${listOf(NAMES)}`, COMMAND);
  if (!Object.hasOwn(SUBCOMMANDS, name)) throw new UsageError(`unknown subcommand ${JSON.stringify(name)}: use ${listOf(NAMES)}`, COMMAND);
  await SUBCOMMANDS[name]!(rest, io);
}

async function importOperations(api: ManagementApi, operations: unknown[], atomic: boolean, json: boolean, io: Io): Promise<void> {
  const res = await api.send({ method: 'POST', path: '/destinations/bulk', body: { operations, atomic } });
  const result = res.json as BulkResult;
  if (json) io.out(res.text);
  else {
    const opOf = (i: number) => cell((operations[i] as { op?: unknown } | undefined)?.op);
    io.out(
      table(
        ['#', 'OP', 'CLIENT ID', 'STATUS', 'RESULT'],
        result.results.map((r) => [
          String(r.index),
          opOf(r.index),
          r.clientId || '-',
          String(r.status),
          r.ok ? (r.destination ? `version ${r.destination.version}` : 'ok') : `${r.error?.err ?? 'failed'}: ${r.error?.description ?? ''}`,
        ]),
      ).join('\n'),
    );
    io.out(
      atomic
        ? result.applied
          ? `Applied all ${result.results.length} operations atomically`
          : `Applied none of the ${result.results.length} operations (atomic)`
        : `${result.totals.succeeded} succeeded, ${result.totals.failed} failed`,
    );
  }
  if (result.totals.failed > 0) {
    throw new CliFailure(
      atomic ? `the import was not applied: ${result.totals.failed} of ${result.results.length} operations failed or were not applied` : `${result.totals.failed} of ${result.results.length} operations failed`,
    );
  }
}

async function readOperations(file: string): Promise<unknown[]> {
  const text = await readTextFile(file, 'the import file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new UsageError(`${file} must hold a non-empty JSON array of operations, e.g. [{"op":"register","clientId":"tpp-alpha"}]`, COMMAND);
  }
  return parsed;
}

const destinationPath = (clientId: string) => `/destinations/${encodeURIComponent(clientId)}`;

function recipientId(value: string | undefined): string {
  if (value === undefined || value.trim() === '') throw new UsageError('--recipient is required', COMMAND);
  if (/\s/.test(value)) throw new UsageError('--recipient cannot contain whitespace', COMMAND);
  return value;
}

function eventTypeList(values: string[] | undefined): string[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  for (const v of values) {
    if (!URL.canParse(v)) throw new UsageError(`--event-type must be an absolute URI, got ${JSON.stringify(v)}`, COMMAND);
  }
  return values;
}

const describeTypes = (d: Pick<Destination, 'eventTypes'>): string => (d.eventTypes === undefined ? 'every event type' : d.eventTypes.join(', '));
