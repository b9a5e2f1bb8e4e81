/** `setpoll notify ...`: issue a notification to a Data Provider's destinations, and manage it. */
import { entityTag, positiveInteger, unknownSubcommand } from '../args.ts';
import { withManagementApi, type ApiResponse } from '../api-client.ts';
import { UsageError } from '../errors.ts';
import { CLAIM_OPTIONS, parseEvents } from '../events.ts';
import { cell, fields, listOf, printResponse } from '../format.ts';
import type { Io } from '../io.ts';
import { IF_MATCH_OPTIONS, getSubcommand, listSubcommand, subcommand, type Run } from '../management-command.ts';
import { PROVIDER_API_HELP, helpFooter } from '../target.ts';

const COMMAND = 'notify';

export const NOTIFY_HELP = `Usage: setpoll notify --events JSON|@FILE [--id ID] [--sub S] [--txn T] [--ttl SECONDS]
       setpoll notify <subcommand> [options]

Issues a notification: one signed SET, queued for each of the provider's destinations whose event
types match. Issuing the same --id again with the same claims is a safe retry.

Subcommands:
  list [--limit N] [--cursor C]            list notifications, a page at a time (N: 1-100)
  get ID                                   show one notification and its fan-out progress
  status ID [--limit N] [--cursor C]       each destination's delivery state
  withdraw ID [--if-match V]               take back the SETs not delivered yet (final)
  replace ID --events JSON|@FILE [--sub S] [--txn T] [--ttl SECONDS] [--if-match V]
                                           issue a new revision in its place

Options:
  --events JSON   the events claim: event-type URI -> event object; @FILE reads it from a file
  --id ID         the notification id (1-128 of A-Z a-z 0-9 . _ ~ : -; default: a new UUIDv7)
  --sub S         the sub claim
  --txn T         the txn claim
  --ttl SECONDS   how long each SET stays queued (default: 7 days)
  --if-match V    apply only if the notification is still at version V (as shown by get)
${helpFooter(18, PROVIDER_API_HELP, "print the API's JSON as is")}`;

const THIS = { name: COMMAND, help: NOTIFY_HELP };

interface Notification {
  readonly notificationId: string;
  readonly revision: number;
  readonly jti: string;
  readonly claims: Record<string, unknown>;
  readonly ttlSeconds: number;
  readonly iat: number;
  readonly expiresAt: string;
  readonly state: string;
  readonly fanOut: { readonly queued: number; readonly skipped: number; readonly withdrawn: number; readonly pending: boolean };
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

interface DestinationStatus {
  readonly clientId: string;
  readonly jti: string;
  readonly revision: number;
  readonly state: string;
  readonly queuedAt: string;
  readonly attempts?: number;
  readonly err?: string;
  readonly description?: string;
  readonly at?: string;
}

const SUBCOMMANDS: Record<string, Run> = {
  list: listSubcommand(THIS, 'list', [], () => ({
    path: '/notifications',
    items: 'notifications',
    columns: ['NOTIFICATION ID', 'STATE', 'REVISION', 'VERSION', 'QUEUED', 'SKIPPED', 'CREATED'],
    row: (n: Notification) => [n.notificationId, n.state, String(n.revision), String(n.version), String(n.fanOut.queued), String(n.fanOut.skipped), n.createdAt],
  })),

  get: getSubcommand(THIS, notificationPath, (n: Notification) => [
    ['notificationId', n.notificationId],
    ['state', n.state],
    ['revision', String(n.revision)],
    ['version', String(n.version)],
    ['jti', n.jti],
    ['fanOut', describeFanOut(n)],
    ['expiresAt', n.expiresAt],
    ['createdAt', n.createdAt],
    ['updatedAt', n.updatedAt],
    ['claims', JSON.stringify(n.claims)],
  ]),

  status: listSubcommand(THIS, 'status', ['ID'], ([id]) => ({
    path: `${notificationPath(id!)}/status`,
    items: 'destinations',
    none: 'No destination has received this notification',
    columns: ['CLIENT ID', 'STATE', 'REVISION', 'QUEUED AT', 'DETAIL'],
    row: (s: DestinationStatus) => [s.clientId, s.state, String(s.revision), s.queuedAt, statusDetail(s)],
  })),

  withdraw: subcommand(THIS, IF_MATCH_OPTIONS, ['ID'], async (o, positionals, io) => {
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'DELETE', path: notificationPath(positionals[0]!), ifMatch });
      printResponse(io, o.json, res, (n: Notification) => [
        `Withdrew notification ${n.notificationId}: ${n.fanOut.withdrawn} undelivered SET(s) taken back; delivered ones stay with their recipients${continuing(n)}`,
      ]);
    });
  }),

  replace: subcommand(THIS, { ...CLAIM_OPTIONS, ...IF_MATCH_OPTIONS }, ['ID'], async (o, positionals, io) => {
    const body = await notificationBody(o);
    const ifMatch = entityTag(o['if-match'], COMMAND);
    await withManagementApi(o, COMMAND, async (api) => {
      const res = await api.send({ method: 'PUT', path: notificationPath(positionals[0]!), body, ifMatch });
      printResponse(io, o.json, res, (n: Notification) => [
        `Replaced notification ${n.notificationId} with revision ${n.revision} (jti ${n.jti}): ${describeFanOut(n)}${continuing(n)}`,
      ]);
    });
  }),
};

const NAMES = Object.keys(SUBCOMMANDS);

export async function notifyCommand(args: readonly string[], io: Io): Promise<void> {
  const [first, ...rest] = args;
  if (first === '--help' || first === '-h' || first === 'help') {
    io.out(NOTIFY_HELP);
    return;
  }
  if (first !== undefined && Object.hasOwn(SUBCOMMANDS, first)) return SUBCOMMANDS[first]!(rest, io);
  // No subcommand: issue. A leading word that is not an option is a mistyped subcommand.
  if (first !== undefined && !first.startsWith('-')) {
    throw unknownSubcommand(COMMAND, first, NAMES, ', or options only to issue a notification');
  }
  await issue(args, io);
}

const issue = subcommand(THIS, { ...CLAIM_OPTIONS, id: { type: 'string' } }, [], async (o, _, io) => {
  if (o.id !== undefined && !/^[A-Za-z0-9._~:-]{1,128}$/.test(o.id)) {
    throw new UsageError('--id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ : -', COMMAND);
  }
  const body = { ...(o.id === undefined ? {} : { notificationId: o.id }), ...(await notificationBody(o)) };
  await withManagementApi(o, COMMAND, async (api) => {
    const res = await api.send({ method: 'POST', path: '/notifications', body });
    printResponse(io, o.json, res, (n: Notification) => [issued(res, n)]);
  });
});

/** The claims of issue and replace, from --events, --sub, --txn, --ttl. */
async function notificationBody(o: { events?: string; sub?: string; txn?: string; ttl?: string }): Promise<Record<string, unknown>> {
  if (o.events === undefined) throw new UsageError('--events is required', COMMAND);
  const ttlSeconds = positiveInteger(o.ttl, 'ttl', COMMAND);
  const events = await parseEvents(o.events, COMMAND);
  for (const [name, value] of [['sub', o.sub], ['txn', o.txn]] as const) {
    if (value !== undefined && value === '') throw new UsageError(`--${name} cannot be empty`, COMMAND);
  }
  return {
    events,
    ...(o.sub === undefined ? {} : { sub: o.sub }),
    ...(o.txn === undefined ? {} : { txn: o.txn }),
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
  };
}

/** 201 issued, 202 issued and still fanning out, 200 a retry of an existing notification. */
function issued(res: ApiResponse, n: Notification): string {
  const what = res.status === 200 ? `Notification ${n.notificationId} was already issued with these claims` : `Issued notification ${n.notificationId}`;
  return `${what} (revision ${n.revision}, jti ${n.jti}): ${describeFanOut(n)}${continuing(n)}`;
}

function notificationPath(id: string): string {
  return `/notifications/${encodeURIComponent(id)}`;
}

function describeFanOut(n: Notification): string {
  const { queued, skipped, withdrawn } = n.fanOut;
  return `queued for ${queued} destination(s), ${skipped} skipped (other event types)${withdrawn > 0 ? `, ${withdrawn} undelivered SET(s) of earlier revisions withdrawn` : ''}`;
}

const continuing = (n: Notification): string =>
  n.fanOut.pending ? `; continuing in the background (setpoll notify get ${n.notificationId})` : '';

function statusDetail(s: DestinationStatus): string {
  const parts: string[] = [];
  if (s.err !== undefined) parts.push(`${s.err}${s.description ? `: ${s.description}` : ''}`);
  if (s.attempts !== undefined) parts.push(`attempts ${s.attempts}`);
  if (s.at !== undefined) parts.push(`at ${s.at}`);
  return parts.length > 0 ? parts.join(', ') : cell(undefined);
}
