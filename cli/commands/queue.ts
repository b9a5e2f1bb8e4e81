/** `setpoll queue ...`: one recipient's queue, for operators (backlog, records, drain, purge, replay). */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { QueueAdmin, QueueBusy, RECORD_STATES, type Backlog, type RecordView, type ReplayItem } from '../../lambdas/store/queue-admin.ts';
import { reportMembers } from '../../lambdas/store/queue-items.ts';
import type { RecordState } from '../../lambdas/store/schema.ts';
import { positiveInteger, subcommandLine } from '../args.ts';
import { withTarget } from '../connection.ts';
import { TABLE_COMMAND_OPTIONS, TABLE_HELP, helpFooter } from '../target.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { fields, listOf, table } from '../format.ts';
import type { Io } from '../io.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, requiredRecipient } from '../recipient-flag.ts';

const COMMAND = 'queue';

export const QUEUE_HELP = `Usage: setpoll queue <subcommand> --recipient ID [options]

Operator tools for one recipient's queue. Nothing prints a SET's contents unless asked
(--show-sets): SETs are sensitive.

Subcommands:
  backlog                      how many SETs are queued, how many of them are leased (delivered,
                               not yet acknowledged) and ready, the oldest SET's age, and the
                               errored and failed delivery records
  records [--state S] [--limit N] [--show-sets]
                               list the delivery records: SETs the recipient reported with
                               setErrs (errored) or that ran out of delivery attempts (failed);
                               at most N (default 100)
  drain [--timeout SECONDS] [--interval SECONDS]
                               wait until the recipient has acknowledged every queued SET,
                               checking the backlog every interval (default 5 s) until the timeout
                               (default 300 s; 0: check once); exit 1 on timeout. Changes nothing
  purge (--yes | --dry-run)    delete every queued SET of the recipient; delivery records are kept.
                               --dry-run counts what would be deleted
  replay [--jti JTI ...] [--state S] [--dry-run]
                               move delivery records (the given jtis, else every record of state
                               S, else every record) back into the queue, to be delivered again
                               with fresh delivery attempts; expired SETs stay records

S is errored or failed.

Cost: backlog, and drain at every check, read the recipient's whole queue: DynamoDB bills that like
reading every SET (about 0.5 read unit per 4 KB, ~125 read units per 1,000 SETs of 1 KB, one
query page per MB). backlog prints what it consumed. Raise --interval for big queues.

Options:
  -r, --recipient ID the recipient
${helpFooter(21, TABLE_HELP)}`;

const OPTIONS = {
  ...TABLE_COMMAND_OPTIONS,
  ...RECIPIENT_OPTIONS,
  state: { type: 'string' },
  limit: { type: 'string' },
  'show-sets': { type: 'boolean' },
  timeout: { type: 'string' },
  interval: { type: 'string' },
  yes: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  jti: { type: 'string', multiple: true },
} as const;

type Options = ReturnType<typeof parse>['values'];
const parse = (args: readonly string[]) => parseWithRecipient(COMMAND, args, OPTIONS);

/** Options only some subcommands take. */
const SPECIFIC = ['state', 'limit', 'show-sets', 'timeout', 'interval', 'yes', 'dry-run', 'jti'] as const;
type Specific = (typeof SPECIFIC)[number];

interface Subcommand {
  readonly takes: readonly Specific[];
  run(admin: QueueAdmin, o: Options, io: Io, clientId: string): Promise<void>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  backlog: {
    takes: [],
    async run(admin, o, io, clientId) {
      const backlog = await admin.backlog(clientId);
      if (o.json) io.out(JSON.stringify(backlogJson(backlog)));
      else for (const line of backlogLines(backlog)) io.out(line);
    },
  },
  records: {
    takes: ['state', 'limit', 'show-sets'],
    async run(admin, o, io, clientId) {
      const state = stateOf(o.state);
      const limit = positiveInteger(o.limit, 'limit', COMMAND) ?? 100;
      const { records, more } = await admin.listRecords(clientId, { ...(state ? { state } : {}), limit, withSets: o['show-sets'] === true });
      const now = Date.now();
      if (o.json) io.out(JSON.stringify({ clientId, records: records.map((r) => recordJson(r, now)), more }));
      else if (records.length === 0) io.out(`No ${state ? `${state} ` : ''}delivery records of ${clientId}`);
      else {
        const header = ['JTI', 'STATE', 'ERR', 'ATTEMPTS', 'RECORDED', 'EXPIRES', 'DESCRIPTION', ...(o['show-sets'] ? ['SET'] : [])];
        const rows = records.map((r) => [
          r.jti,
          r.state,
          r.err ?? '-',
          String(r.attempts),
          new Date(r.at).toISOString(),
          `${new Date(r.ttl * 1000).toISOString()}${r.ttl * 1000 <= now ? ' (expired)' : ''}`,
          r.description ?? '-',
          ...(o['show-sets'] ? [r.set ?? '-'] : []),
        ]);
        for (const line of table(header, rows)) io.out(line);
      }
      if (more) io.err(`More delivery records follow: the first ${limit} are shown (--limit N)`);
    },
  },
  drain: {
    takes: ['timeout', 'interval'],
    async run(admin, o, io, clientId) {
      const timeout = nonNegativeInteger(o.timeout, 'timeout') ?? 300;
      const interval = positiveInteger(o.interval, 'interval', COMMAND) ?? 5;
      const started = Date.now();
      const deadline = started + timeout * 1000;
      let last = '';
      for (;;) {
        const backlog = await admin.backlog(clientId);
        const waited = Math.round((Date.now() - started) / 1000);
        if (backlog.queued === 0) {
          const { errored, failed } = backlog.records;
          if (o.json) io.out(JSON.stringify({ ...backlogJson(backlog), drained: true, waitedSeconds: waited }));
          else io.out(`Drained ${clientId}: no SETs queued (${errored} errored and ${failed} failed delivery record(s) kept)`);
          return;
        }
        const summary = `${backlog.queued} SET(s) queued (${backlog.leased} leased, ${backlog.ready} ready)`;
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          if (o.json) io.out(JSON.stringify({ ...backlogJson(backlog), drained: false, waitedSeconds: waited }));
          throw new CliFailure(`${clientId} still has ${summary} after ${timeout} s`);
        }
        if (summary !== last) io.err(`Waiting for ${clientId} to acknowledge: ${summary}`);
        last = summary;
        await sleep(Math.min(interval * 1000, remaining));
      }
    },
  },
  purge: {
    takes: ['yes', 'dry-run'],
    async run(admin, o, io, clientId) {
      const dryRun = o['dry-run'] === true;
      let result;
      try {
        result = await admin.purge(clientId, { dryRun });
      } catch (error) {
        if (error instanceof QueueBusy) throw new CliFailure(error.message);
        throw error;
      }
      if (o.json) io.out(JSON.stringify({ clientId, dryRun, found: result.found, deleted: result.deleted }));
      else if (dryRun) io.out(`Dry run: would delete ${result.found} queued SET(s) of ${clientId}; nothing was changed`);
      else io.out(`Deleted ${result.deleted} queued SET(s) of ${clientId}`);
    },
  },
  replay: {
    takes: ['jti', 'state', 'dry-run'],
    async run(admin, o, io, clientId) {
      const state = stateOf(o.state);
      const dryRun = o['dry-run'] === true;
      const { items } = await admin.replay(clientId, { ...(o.jti ? { jtis: o.jti } : {}), ...(state ? { state } : {}), dryRun });
      const replayed = items.filter((i) => i.outcome === 'replayed').length;
      const missing = items.filter((i) => i.outcome === 'missing').map((i) => i.jti);
      if (o.json) io.out(JSON.stringify({ clientId, dryRun, replayed, items }));
      else if (items.length === 0) io.out(`No ${state ? `${state} ` : ''}delivery records of ${clientId} to replay`);
      else {
        for (const line of table(['JTI', 'STATE', 'OUTCOME'], items.map((i) => [i.jti, i.state ?? '-', outcomeText(i, dryRun)]))) io.out(line);
        io.out(
          dryRun
            ? `Dry run: would replay ${replayed} of ${items.length} delivery record(s) of ${clientId}; nothing was changed`
            : `Replayed ${replayed} of ${items.length} delivery record(s) of ${clientId}`,
        );
      }
      if (missing.length > 0) {
        throw new CliFailure(`No ${state ? `${state} ` : ''}delivery record of ${clientId} for ${missing.map((j) => JSON.stringify(j)).join(', ')}`);
      }
    },
  },
};

export async function queueCommand(args: readonly string[], io: Io): Promise<void> {
  const line = subcommandLine({ name: COMMAND, help: QUEUE_HELP }, args, Object.keys(SUBCOMMANDS), parse, io);
  if (line === undefined) return;
  const { name, values: o, positionals } = line;
  const sub = SUBCOMMANDS[name]!;
  const clientId = requiredRecipient(o, positionals, COMMAND);
  for (const option of SPECIFIC) {
    if (o[option] !== undefined && !sub.takes.includes(option)) throw new UsageError(`queue ${name} does not take --${option}`, COMMAND);
  }
  // Checked before anything is read, so a usage error never waits on DynamoDB.
  stateOf(o.state);
  positiveInteger(o.limit, 'limit', COMMAND);
  nonNegativeInteger(o.timeout, 'timeout');
  positiveInteger(o.interval, 'interval', COMMAND);
  for (const jti of o.jti ?? []) {
    if (jti.length < 1 || jti.length > 128) throw new UsageError(`--jti must be 1 to 128 characters, got ${JSON.stringify(jti)}`, COMMAND);
  }
  if (name === 'purge' && !o.yes && !o['dry-run']) {
    throw new UsageError(`queue purge deletes every queued SET of ${clientId}: add --yes to confirm, or --dry-run to count them`, COMMAND);
  }

  await withTarget(o, COMMAND, (target) => {
    const queue = new DynamoQueueStore({ client: target.documentClient, tableName: target.tableName });
    const admin = new QueueAdmin({ client: target.documentClient, tableName: target.tableName, queue });
    return sub.run(admin, o, io, clientId);
  });
}

function stateOf(value: string | undefined): RecordState | undefined {
  if (value === undefined) return undefined;
  if (!(RECORD_STATES as readonly string[]).includes(value)) throw new UsageError(`--state must be errored or failed, got ${JSON.stringify(value)}`, COMMAND);
  return value as RecordState;
}

function nonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a whole number of seconds, got ${JSON.stringify(value)}`, COMMAND);
  return n;
}

function backlogJson(b: Backlog) {
  return {
    clientId: b.clientId,
    at: new Date(b.at).toISOString(),
    queued: b.queued,
    leased: b.leased,
    ready: b.ready,
    expired: b.expired,
    oldest:
      b.oldest === undefined
        ? null
        : {
            jti: b.oldest.jti,
            createdAt: b.oldest.createdAt === undefined ? null : new Date(b.oldest.createdAt).toISOString(),
            ageSeconds: b.oldest.createdAt === undefined ? null : Math.max(0, Math.floor((b.at - b.oldest.createdAt) / 1000)),
          },
    records: b.records,
    readUnits: b.readUnits,
    pages: b.pages,
  };
}

function backlogLines(b: Backlog): string[] {
  let oldest = 'none';
  if (b.oldest?.createdAt !== undefined) {
    oldest = `${b.oldest.jti}, queued ${age(b.at - b.oldest.createdAt)} ago (${new Date(b.oldest.createdAt).toISOString()})`;
  } else if (b.oldest) {
    oldest = `${b.oldest.jti} (age unknown: the jti is not a UUIDv7)`;
  }
  return fields([
    ['recipient', b.clientId],
    ['queued', `${b.queued} SET(s): ${b.leased} leased (delivered, not yet acknowledged), ${b.ready} ready`],
    ['oldest', oldest],
    ['errored', `${b.records.errored} delivery record(s)`],
    ['failed', `${b.records.failed} delivery record(s)`],
    ['expired', `${b.expired} queued SET(s) and ${b.records.expired} delivery record(s) past their expiry, awaiting removal`],
    ['read cost', `${Math.round(b.readUnits * 100) / 100} read capacity units in ${b.pages} query page(s)`],
  ]);
}

/** `45 s`, `3 min 5 s`, `1 h 30 min`, `2 d 4 h`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function recordJson(r: RecordView, now: number) {
  return {
    jti: r.jti,
    state: r.state,
    ...reportMembers(r),
    attempts: r.attempts,
    recordedAt: new Date(r.at).toISOString(),
    expiresAt: new Date(r.ttl * 1000).toISOString(),
    expired: r.ttl * 1000 <= now,
    ...(r.set === undefined ? {} : { set: r.set }),
  };
}

function outcomeText(item: ReplayItem, dryRun: boolean): string {
  switch (item.outcome) {
    case 'replayed':
      return dryRun ? 'would replay' : 'replayed';
    case 'expired':
      return 'kept: the SET expired';
    case 'already_queued':
      return 'kept: a SET with this jti is queued';
    case 'changed':
      return 'kept: the record changed meanwhile';
    case 'missing':
      return 'no such record';
  }
}
