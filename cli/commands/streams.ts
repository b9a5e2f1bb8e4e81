/**
 * `setpoll streams ...`: SSF streams, for operators (on the table: every receiver's stream; their
 * status changes are announced to the receiver) and for receivers (over the API, their own stream).
 */
import { DEFAULT_POLL_PATH } from '../../lambdas/contract.ts';
import type { StreamStatus } from '../../lambdas/store/stream-store.ts';
import { StreamQueueStore } from '../../lambdas/ssf/stream-queue-store.ts';
import { StreamService } from '../../lambdas/ssf/stream-service.ts';
import { SSF_MANAGE_SCOPE, SSF_PATHS } from '../../lambdas/ssf/vocabulary.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { DynamoStreamStore } from '../../lambdas/store/dynamo-stream-store.ts';
import { ManagementApi } from '../api-client.ts';
import { withTarget, type Target } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { fields, listOf, table } from '../format.ts';
import type { Io } from '../io.ts';
import { subcommandLine } from '../args.ts';
import { API_ENV_HELP, API_OPTIONS, TABLE_COMMAND_OPTIONS, TABLE_HELP, helpFooter } from '../target.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, recipientOf, requiredRecipient } from '../recipient-flag.ts';
import { SIGNING_HELP, SIGNING_OPTIONS, signingFor } from '../signing.ts';

const COMMAND = 'streams';

export const STREAMS_HELP = `Usage: setpoll streams <subcommand> --recipient ID [options]
       setpoll streams <subcommand> --receiver [--recipient ID] [options]

SSF receivers' streams (docs/ssf.md).

Subcommands:
  list                   the receiver's streams (none or one) in a table
  show                   one stream: events requested and delivered, status, reason, dates
  pause [--reason R]     deliver nothing and hold new SETs until enabled
  enable [--reason R]    deliver again, held SETs first
  disable [--reason R]   deliver nothing, hold nothing (queued SETs are discarded)
  delete --yes           delete the stream (its queued SETs are discarded)

As an operator (the default), on the table: --recipient ID names the receiver (setpoll keeps no
index of the receivers with streams, and operators' policies never allow a table Scan).
pause, enable and disable are the transmitter's own changes: the receiver is sent a stream-updated
SET first (SSF 1.0 §7.1.2), so it learns of the pause before delivery stops. Announcements are
signed like setpoll publish's SETs:
${SIGNING_HELP}

As the receiver (--receiver), over the API with its own certificate and an ssf.manage token:
its own stream, through the SSF endpoints; its changes are not announced.
  -r, --recipient ID act as this recipient: one of local.json's clients (default: the first);
                     with --url, the client_id sent to the token endpoint
  --url URL          the deployment's mTLS origin, e.g. https://events.bank.example; with
  --cert FILE, --key FILE, --token-url URL, --ca FILE as for setpoll poll
${API_ENV_HELP}

Options:
  -r, --recipient ID the receiver
  --receiver         act as the receiver over the API
  --reason TEXT      the reason sent with the status
  --yes              confirm delete
${helpFooter(21, TABLE_HELP)}`;

const OPTIONS = {
  ...TABLE_COMMAND_OPTIONS,
  ...API_OPTIONS,
  ...SIGNING_OPTIONS,
  ...RECIPIENT_OPTIONS,
  receiver: { type: 'boolean' },
  reason: { type: 'string' },
  yes: { type: 'boolean' },
} as const;

type Options = ReturnType<typeof parse>['values'];
const parse = (args: readonly string[]) => parseWithRecipient(COMMAND, args, OPTIONS);

const STATUS_OF: Record<string, StreamStatus> = { pause: 'paused', enable: 'enabled', disable: 'disabled' };
const NAMES = ['list', 'show', 'pause', 'enable', 'disable', 'delete'];

/** One stream as both modes print it (SSF member names, as the API answers them). */
interface StreamView {
  readonly stream_id: string;
  readonly aud: string;
  readonly status?: string;
  readonly reason?: string;
  readonly events_requested: readonly string[];
  readonly events_delivered: readonly string[];
  readonly description?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export async function streamsCommand(args: readonly string[], io: Io): Promise<void> {
  const line = subcommandLine({ name: COMMAND, help: STREAMS_HELP }, args, NAMES, parse, io);
  if (line === undefined) return;
  const { name, values: o, positionals } = line;
  if (o.reason !== undefined && !(name in STATUS_OF)) throw new UsageError(`streams ${name} does not take --reason`, COMMAND);
  if (name === 'delete' && !o.yes) throw new UsageError('streams delete discards the stream and its queued SETs: add --yes to confirm', COMMAND);
  if (o.receiver) {
    for (const option of ['table', 'region', 'profile', 'kms-key-arn', 'stack-outputs', 'alg', 'issuer'] as const) {
      if (o[option] !== undefined) throw new UsageError(`--${option} is for an operator; a receiver (--receiver) acts on its own stream over the API`, COMMAND);
    }
    const client = recipientOf(o, positionals, COMMAND);
    await asReceiver(name, { ...o, ...(client === undefined ? {} : { client }) }, io);
    return;
  }
  for (const option of ['url', 'cert', 'ca', 'token-url'] as const) {
    if (o[option] !== undefined) throw new UsageError(`--${option} is for a receiver (--receiver)`, COMMAND);
  }
  const clientId = requiredRecipient(o, positionals, COMMAND);
  await withTarget(o, COMMAND, (target) => asOperator(name, o, io, target, clientId));
}

// --- Operators: the table ---

async function asOperator(name: string, o: Options, io: Io, target: Target, clientId: string): Promise<void> {
  const { documentClient: client, tableName } = target;
  const store = new DynamoStreamStore({ client, tableName });
  const stream = await store.read(clientId, true);
  if (name === 'list') {
    printList(io, o, typeof stream === 'object' ? [recordView(stream)] : []);
    return;
  }
  if (typeof stream !== 'object') throw new CliFailure(`${clientId} has no SSF stream`);
  if (name === 'show') {
    printOne(io, o, recordView(stream));
    return;
  }
  const { signer, issuer, close } = await signingFor(target, o, COMMAND);
  try {
    const queue = new StreamQueueStore({ queue: new DynamoQueueStore({ client, tableName }), streams: store, issuer });
    // pollUrl only shapes the stream configuration, which no operator change answers.
    const service = new StreamService({ streams: store, queue, signer, issuer, pollUrl: new URL(DEFAULT_POLL_PATH, issuer).href });
    if (name === 'delete') {
      await service.delete(stream.clientId, stream.streamId);
      report(io, o, { stream_id: stream.streamId, deleted: true }, `Deleted the stream of ${stream.clientId}`);
      return;
    }
    const status = STATUS_OF[name]!;
    const answer = await service.changeStatus(stream.clientId, { streamId: stream.streamId, status, ...(o.reason === undefined ? {} : { reason: o.reason }) }, { announce: true });
    report(io, o, answer, `The stream of ${stream.clientId} is ${answer.status}${answer.status === stream.status ? ' (unchanged, nothing announced)' : ' (announced with a stream-updated SET)'}`);
  } finally {
    close?.();
  }
}

function recordView(r: { clientId: string; streamId: string; status: string; reason?: string; eventsRequested: readonly string[]; eventsDelivered: readonly string[]; description?: string; createdAt: string; updatedAt: string }): StreamView {
  return {
    stream_id: r.streamId,
    aud: r.clientId,
    status: r.status,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    events_requested: r.eventsRequested,
    events_delivered: r.eventsDelivered,
    ...(r.description === undefined ? {} : { description: r.description }),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

// --- Receivers: the API ---

async function asReceiver(name: string, o: Options, io: Io): Promise<void> {
  const api = await ManagementApi.open(o, COMMAND, { role: 'recipient', scope: SSF_MANAGE_SCOPE });
  try {
    const streams = (await api.send({ method: 'GET', path: SSF_PATHS.configuration })).json as StreamView[];
    if (name === 'list') {
      const withStatus = await Promise.all(streams.map(async (s) => ({ ...s, ...(await statusOf(api, s.stream_id)) })));
      printList(io, o, withStatus);
      return;
    }
    const stream = streams[0];
    if (!stream) throw new CliFailure(`${api.clientId} has no SSF stream`);
    if (name === 'show') {
      printOne(io, o, { ...stream, ...(await statusOf(api, stream.stream_id)) });
      return;
    }
    if (name === 'delete') {
      await api.send({ method: 'DELETE', path: SSF_PATHS.configuration, query: { stream_id: stream.stream_id } });
      report(io, o, { stream_id: stream.stream_id, deleted: true }, `Deleted the stream of ${api.clientId}`);
      return;
    }
    const body = { stream_id: stream.stream_id, status: STATUS_OF[name]!, ...(o.reason === undefined ? {} : { reason: o.reason }) };
    const answer = (await api.send({ method: 'POST', path: SSF_PATHS.status, body })).json as { status: string };
    report(io, o, answer, `The stream of ${api.clientId} is ${answer.status}`);
  } finally {
    api.close();
  }
}

async function statusOf(api: ManagementApi, streamId: string): Promise<{ status: string; reason?: string }> {
  const { status, reason } = (await api.send({ method: 'GET', path: SSF_PATHS.status, query: { stream_id: streamId } })).json as { status: string; reason?: string };
  return { status, ...(reason === undefined ? {} : { reason }) };
}

// --- Output ---

function printList(io: Io, o: Options, streams: readonly StreamView[]): void {
  if (o.json) io.out(JSON.stringify({ streams }));
  else if (streams.length === 0) io.out('No SSF streams');
  else for (const line of table(['RECEIVER', 'STREAM', 'STATUS', 'EVENTS DELIVERED'], streams.map((s) => [s.aud, s.stream_id, s.status ?? '-', String(s.events_delivered.length)]))) io.out(line);
}

function printOne(io: Io, o: Options, s: StreamView): void {
  if (o.json) {
    io.out(JSON.stringify(s));
    return;
  }
  const lines = fields([
    ['receiver', s.aud],
    ['stream', s.stream_id],
    ['status', s.status],
    ['reason', s.reason],
    ['description', s.description],
    ['created', s.createdAt],
    ['updated', s.updatedAt],
    ['requested', s.events_requested.join(' ') || '-'],
    ['delivered', s.events_delivered.join(' ') || '-'],
  ]);
  for (const line of lines) io.out(line);
}

function report(io: Io, o: Options, answer: object, text: string): void {
  io.out(o.json ? JSON.stringify(answer) : text);
}
