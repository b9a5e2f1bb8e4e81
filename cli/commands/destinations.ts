/** `setpoll destinations ...`: a Data Provider's notification destinations, over the management API. */
import { entityTag, subcommandOf, type OptionsConfig } from '../args.ts';
import { withManagementApi, type ManagementApi } from '../api-client.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { readTextFile } from '../files.ts';
import { cell, fields, listOf, printResponse, table } from '../format.ts';
import type { Io } from '../io.ts';
import { IF_MATCH_OPTIONS, getSubcommand, listSubcommand, subcommand, type Run } from '../management-command.ts';
import { PROVIDER_API_HELP, helpFooter } from '../target.ts';

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

const THIS = { name: COMMAND, help: DESTINATIONS_HELP };
const EVENT_TYPE = { 'event-type': { type: 'string', multiple: true } } as const satisfies OptionsConfig;

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

const SUBCOMMANDS: Record<string, Run> = {
  add: subcommand(THIS, { ...EVENT_TYPE, recipient: { type: 'string', short: 'r' } }, [], async (o, _, io) => {
    const clientId = recipientId(o.recipient);
    const eventTypes = eventTypeList(o['event-type']);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'POST', path: '/destinations', body: { clientId, ...(eventTypes ? { eventTypes } : {}) } });
      printResponse(io, o.json, res, (d: Destination) => [`Registered destination ${d.clientId} (version ${d.version}): ${describeTypes(d)}`]);
    });
  }),

  list: listSubcommand(THIS, 'list', [], () => ({
    path: '/destinations',
    items: 'destinations',
    columns: ['CLIENT ID', 'VERSION', 'UPDATED', 'EVENT TYPES'],
    row: (d: Destination) => [d.clientId, String(d.version), cell(d.updatedAt), describeTypes(d)],
  })),

  get: getSubcommand(THIS, destinationPath, (d: Destination) => [
    ['clientId', d.clientId],
    ['eventTypes', describeTypes(d)],
    ['version', String(d.version)],
    ['createdAt', d.createdAt],
    ['updatedAt', d.updatedAt],
  ]),

  update: subcommand(THIS, { ...EVENT_TYPE, ...IF_MATCH_OPTIONS, 'all-types': { type: 'boolean' } }, ['ID'], async (o, positionals, io) => {
    const eventTypes = eventTypeList(o['event-type']);
    if ((eventTypes === undefined) === (o['all-types'] !== true)) {
      throw new UsageError('give the new event types with --event-type URI (repeatable), or --all-types for every type', COMMAND);
    }
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'PUT', path: destinationPath(positionals[0]!), body: { eventTypes: eventTypes ?? null }, ifMatch });
      printResponse(io, o.json, res, (d: Destination) => [`Updated destination ${d.clientId} (version ${d.version}): ${describeTypes(d)}`]);
    });
  }),

  remove: subcommand(THIS, IF_MATCH_OPTIONS, ['ID'], async (o, positionals, io) => {
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'DELETE', path: destinationPath(positionals[0]!), ifMatch });
      printResponse(io, o.json, res, () => [`Removed destination ${positionals[0]}`]);
    });
  }),

  import: subcommand(THIS, { atomic: { type: 'boolean' } }, ['FILE.json'], async (o, positionals, io) => {
    const operations = await readOperations(positionals[0]!);
    await withManagementApi(o, COMMAND, (api) => importOperations(api, operations, o.atomic === true, o.json === true, io));
  }),
};

export async function destinationsCommand(args: readonly string[], io: Io): Promise<void> {
  const chosen = subcommandOf(COMMAND, args, Object.keys(SUBCOMMANDS));
  if (chosen === undefined) {
    io.out(DESTINATIONS_HELP);
    return;
  }
  await SUBCOMMANDS[chosen.name]!(chosen.rest, io);
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

function destinationPath(clientId: string): string {
  return `/destinations/${encodeURIComponent(clientId)}`;
}

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
