/**
 * `setpoll queue ...` against real DynamoDB Local (the run's shared one, a table of this file's own)
 * with real signed SETs (Publisher + a PS256 JwkSigner) and the real poll algorithm (PollService).
 * Every test uses recipients of its own, so tests cannot see each other's SETs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { configForTable, inProcess, type Run } from '../support/cli.ts';
import { parsePollRequest } from '../../lambdas/core/poll-request.ts';
import { PollService } from '../../lambdas/core/poll-service.ts';
import { DEFAULT_SETTINGS, type PollSettings } from '../../lambdas/core/settings.ts';
import { Publisher, type PublishResult } from '../../lambdas/producer/publish.ts';
import { jtiCreatedAt } from '../../lambdas/store/set-age.ts';
import { JwkSigner, loadOrCreateSigningJwk } from '../../lambdas/producer/signer.ts';
import { LeaseConflict } from '../../lambdas/store/queue-store.ts';
import { QueueAdmin } from '../../lambdas/store/queue-admin.ts';
import { RECORD_PREFIX, SET_PREFIX, queuePk } from '../../lambdas/store/schema.ts';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTestTable } from '../support/dynamo.ts';

const SHIM = resolve(import.meta.dirname, '../../cli/setpoll.mjs');
const EVENTS = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { initiating_entity: 'policy' } };



/** Runs the CLI as a real subprocess, as `npx setpoll` would. */
function setpoll(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // No profile of the machine running the tests: the environment alone is the credential chain.
  const { AWS_PROFILE: _profile, AWS_DEFAULT_PROFILE: _default, ...inherited } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, [SHIM, ...args], { timeout: 30_000, env: { ...inherited, SETPOLL_STATE_DIR: '/nonexistent-setpoll-state', ...env } }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

type Table = Awaited<ReturnType<typeof createTestTable>>;

describe('setpoll queue', () => {
  let table: Table;
  let scratch: string;
  let config: string[];
  let signer: JwkSigner;
  let publisher: Publisher;
  const settings: PollSettings = { ...DEFAULT_SETTINGS, longPollSeconds: 1 };
  let service: PollService;

  /** Publishes one real signed SET to `recipient` (made `agoMs` ago: its UUIDv7 jti says so). */
  const publish = async (recipient: string, options: { agoMs?: number; jti?: string } = {}) => {
    const at = Date.now() - (options.agoMs ?? 0);
    const p = options.agoMs ? new Publisher({ store: table.store, signer, issuer: 'https://bank.example', now: () => at }) : publisher;
    return p.publish({ recipients: [recipient], events: EVENTS, ...(options.jti ? { jti: options.jti } : {}) });
  };
  const poll = (clientId: string, body: unknown, on: PollService = service) => on.poll(clientId, parsePollRequest(body));
  /** The sort keys stored in a recipient's queue partition (queued SETs and delivery records), strongly consistent. */
  const storedKeys = async (clientId: string): Promise<string[]> => {
    const out = await table.client.send(
      new QueryCommand({ TableName: table.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': queuePk(clientId) }, ConsistentRead: true }),
    );
    return (out.Items ?? []).map((i) => String(i.sk)).filter((sk) => sk.startsWith(SET_PREFIX) || sk.startsWith(RECORD_PREFIX));
  };

  beforeAll(async () => {
    table = await createTestTable();
    scratch = mkdtempSync(join(tmpdir(), 'setpoll-queue-'));
    config = await configForTable(scratch, table);
    signer = await JwkSigner.fromJwk(await loadOrCreateSigningJwk(join(scratch, 'signing-key.json')));
    publisher = new Publisher({ store: table.store, signer, issuer: 'https://bank.example' });
    service = new PollService({ store: table.store, settings });
  });

  afterAll(() => {
    table?.client.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  describe('backlog', () => {
    it('counts queued, leased and ready SETs, the oldest one and the delivery records exactly, after enqueue, poll, ack and setErr', async () => {
      // Prepare: five SETs, the first made 90 minutes ago; one SET of another recipient.
      const oldest = await publish('bk-alpha', { agoMs: 90 * 60_000 + 10_000 });
      const others: PublishResult[] = [];
      for (let i = 0; i < 4; i++) others.push(await publish('bk-alpha'));
      await publish('bk-other');
      const [b, c] = others as [PublishResult, PublishResult];
      const first = await poll('bk-alpha', { returnImmediately: true, maxEvents: 3 });
      await poll('bk-alpha', { returnImmediately: true, maxEvents: 0, ack: [b.jti], setErrs: { [c.jti]: { err: 'invalid_issuer', description: 'unknown issuer' } } });

      // Act
      const text = await inProcess('queue', 'backlog', '--client-id', 'bk-alpha', ...config);
      const json = await inProcess('queue', 'backlog', '--client', 'bk-alpha', '--json', ...config);

      // Assess: A is still leased; B was acked; C is an errored record; D and E are ready.
      expect(Object.keys(first.sets)).toEqual([oldest.jti, b.jti, c.jti]);
      const createdAt = new Date(jtiCreatedAt(oldest.jti)!).toISOString();
      expect(text.code).toBe(0);
      expect(text.stderr).toBe('');
      const lines = text.stdout.split('\n');
      expect(lines.slice(0, 6)).toEqual([
        'recipient  bk-alpha',
        'queued     3 SET(s): 1 leased (delivered, not yet acknowledged), 2 ready',
        `oldest     ${oldest.jti}, queued 1 h 30 min ago (${createdAt})`,
        'errored    1 delivery record(s)',
        'failed     0 delivery record(s)',
        'expired    0 queued SET(s) and 0 delivery record(s) past their expiry, awaiting removal',
      ]);
      expect(lines.slice(6)).toEqual([expect.stringMatching(/^read cost  \d+(\.\d+)? read capacity units in 2 query page\(s\)$/), '']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({
        clientId: 'bk-alpha',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        queued: 3,
        leased: 1,
        ready: 2,
        expired: 0,
        oldest: { jti: oldest.jti, createdAt, ageSeconds: expect.any(Number) },
        records: { errored: 1, failed: 0, expired: 0 },
        readUnits: expect.any(Number),
        pages: 2,
      });
      expect(JSON.parse(json.stdout).oldest.ageSeconds).toBeGreaterThanOrEqual(5410);
    });

    it('counts a SET that ran out of delivery attempts as a failed record, and no longer as leased', async () => {
      // Prepare: one delivery attempt allowed; the second poll, after the lease ran out, fails the SET.
      const clock = { now: Date.now() };
      const limited = new PollService({ store: table.store, settings: { ...settings, maxDeliveryAttempts: 1, leaseSeconds: 1 }, now: () => clock.now });
      const { jti } = await publish('bk-failing');
      const delivered = await poll('bk-failing', { returnImmediately: true }, limited);
      clock.now += 2_000;
      const second = await poll('bk-failing', { returnImmediately: true }, limited);

      // Act
      const run = await inProcess('queue', 'backlog', '--client-id', 'bk-failing', '--json', ...config);

      // Assess
      expect(Object.keys(delivered.sets)).toEqual([jti]);
      expect(second.sets).toEqual({});
      expect(JSON.parse(run.stdout)).toMatchObject({ queued: 0, leased: 0, ready: 0, expired: 0, oldest: null, records: { errored: 0, failed: 1, expired: 0 } });
    });

    it('says when the oldest jti is not a UUIDv7, and reports an empty queue', async () => {
      // Prepare
      await publish('bk-named', { jti: 'order-42' });

      // Act
      const named = await inProcess('queue', 'backlog', '--client-id', 'bk-named', ...config);
      const empty = await inProcess('queue', 'backlog', '--client-id', 'bk-nobody', ...config);

      // Assess
      expect(named.stdout.split('\n')[2]).toBe('oldest     order-42 (age unknown: the jti is not a UUIDv7)');
      expect(empty.stdout.split('\n').slice(0, 3)).toEqual(['recipient  bk-nobody', 'queued     0 SET(s): 0 leased (delivered, not yet acknowledged), 0 ready', 'oldest     none']);
    });

    it('pages through the whole queue, reports the read units the count consumed, and counts expired SETs apart', async () => {
      // Prepare: 11 SETs of 100 KB, 2 of which expire within 100 s; a leased one on the last page.
      const nowSeconds = Math.floor(Date.now() / 1000);
      const big = 'x'.repeat(100_000);
      for (let i = 0; i < 11; i++) {
        await table.store.enqueue('bk-big', { jti: `big-${String(i).padStart(2, '0')}`, set: big, ttl: nowSeconds + (i < 2 ? 100 : 3600) });
      }
      await table.store.writeLease('bk-big', 0, new Map([['big-10', Date.now() + 600_000], ['big-gone', Date.now() + 600_000]]));
      // Pages of 4 items, two minutes from now.
      const admin = new QueueAdmin({ client: table.client, tableName: table.tableName, queue: table.store, now: () => Date.now() + 120_000, pageSize: 4 });

      // Act
      const run = await inProcess('queue', 'backlog', '--client-id', 'bk-big', '--json', ...config);
      const later = await admin.backlog('bk-big');

      // Assess: ~1.1 MB read, eventually consistent: ~0.5 unit per 4 KB.
      const backlog = JSON.parse(run.stdout);
      expect(backlog).toMatchObject({ queued: 11, leased: 1, ready: 10, expired: 0, oldest: { jti: 'big-00', createdAt: null, ageSeconds: null } });
      expect(backlog.readUnits).toBeGreaterThan(130);
      expect(backlog.readUnits).toBeLessThan(150);
      // 3 queue pages (4 + 4 + 3 items) and 1 records page.
      expect(later).toMatchObject({ queued: 9, leased: 1, ready: 8, expired: 2, oldest: { jti: 'big-02' }, pages: 4 });
    });
  });

  describe('records', () => {
    it('lists delivery records without SET contents unless --show-sets, filtered by state and limited', async () => {
      // Prepare: two errored SETs, one with a description and a language.
      const a = await publish('rc-alpha');
      const b = await publish('rc-alpha');
      await service.poll('rc-alpha', parsePollRequest({ returnImmediately: true, maxEvents: 0, setErrs: { [a.jti]: { err: 'invalid_key', description: 'kid not found' } } }), { lang: 'en' });
      await poll('rc-alpha', { returnImmediately: true, maxEvents: 0, setErrs: { [b.jti]: { err: 'jwtAud' } } });

      // Act
      const listed = await inProcess('queue', 'records', '--client-id', 'rc-alpha', ...config);
      const limited = await inProcess('queue', 'records', '--client-id', 'rc-alpha', '--limit', '1', '--json', ...config);
      const withSets = await inProcess('queue', 'records', '--client-id', 'rc-alpha', '--show-sets', '--json', ...config);
      const failed = await inProcess('queue', 'records', '--client-id', 'rc-alpha', '--state', 'failed', ...config);

      // Assess
      expect(listed.code).toBe(0);
      const rows = listed.stdout.split('\n');
      expect(rows[0]).toMatch(/^JTI +STATE +ERR +ATTEMPTS +RECORDED +EXPIRES +DESCRIPTION$/);
      expect(rows[1]).toMatch(new RegExp(`^${a.jti}  errored  invalid_key  0 +\\S+Z  \\S+Z +kid not found$`));
      expect(rows[2]).toMatch(new RegExp(`^${b.jti}  errored  jwtAud +0 +\\S+Z  \\S+Z +-$`));
      expect(rows.slice(3)).toEqual(['']);
      expect(listed.stdout).not.toContain(a.set);
      expect(listed.stderr).toBe('');
      expect(limited.stderr).toBe('More delivery records follow: the first 1 are shown (--limit N)\n');
      expect(JSON.parse(limited.stdout)).toEqual({
        clientId: 'rc-alpha',
        records: [
          {
            jti: a.jti,
            state: 'errored',
            err: 'invalid_key',
            description: 'kid not found',
            lang: 'en',
            attempts: 0,
            recordedAt: expect.stringMatching(/Z$/),
            expiresAt: expect.stringMatching(/Z$/),
            expired: false,
          },
        ],
        more: true,
      });
      expect(JSON.parse(withSets.stdout).records.map((r: { set: string }) => r.set)).toEqual([a.set, b.set]);
      expect(decodeJwt(JSON.parse(withSets.stdout).records[0].set)).toMatchObject({ jti: a.jti, aud: 'rc-alpha' });
      expect(failed).toEqual({ code: 0, stdout: 'No failed delivery records of rc-alpha\n', stderr: '' });
    });
    it('prints a recipient-supplied err and description with every terminal control escaped, and keeps --json exact', async () => {
      // Prepare: a description that would retitle, clear and rewrite the operator's terminal, and forge a line.
      const description = '\u001b]0;pwned\u0007\u001b[2J\rall good\nFAKE LINE\u009b31m\u202e';
      const { jti } = await publish('rc-escape');
      await poll('rc-escape', { returnImmediately: true, maxEvents: 0, setErrs: { [jti]: { err: 'bad\u001b[1m', description } } });

      // Act
      const listed = await inProcess('queue', 'records', '--client-id', 'rc-escape', ...config);
      const json = await inProcess('queue', 'records', '--client-id', 'rc-escape', '--json', ...config);

      // Assess
      const rows = listed.stdout.split('\n');
      expect(rows).toHaveLength(3);
      expect(rows[1]).toMatch(
        new RegExp(`^${jti}  errored  bad\\\\u001b\\\[1m  0 +\\S+Z  \\S+Z +\\\\u001b\\]0;pwned\\\\u0007\\\\u001b\\\[2J\\\\u000dall good\\\\u000aFAKE LINE\\\\u009b31m\\\\u202e$`),
      );
      expect(listed.stdout + listed.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(JSON.parse(json.stdout).records[0]).toMatchObject({ jti, err: 'bad\u001b[1m', description });
    });
  });

  describe('purge', () => {
    it('deletes exactly that recipient queue, keeps its delivery records and every other recipient, and invalidates stale leases', async () => {
      // Prepare: 3 SETs (one leased, one errored into a record) and 2 SETs of another recipient.
      const jtis = [];
      for (let i = 0; i < 3; i++) jtis.push((await publish('pg-alpha')).jti);
      const other = [(await publish('pg-beta')).jti, (await publish('pg-beta')).jti];
      await poll('pg-alpha', { returnImmediately: true, maxEvents: 1 });
      await poll('pg-alpha', { returnImmediately: true, maxEvents: 0, setErrs: { [jtis[1]!]: { err: 'jwtIss' } } });
      const staleLease = await table.store.readLease('pg-alpha', true);

      // Act
      const refused = await inProcess('queue', 'purge', '--client-id', 'pg-alpha', ...config);
      const dryRun = await inProcess('queue', 'purge', '--client-id', 'pg-alpha', '--dry-run', ...config);
      const afterDryRun = await storedKeys('pg-alpha');
      const purged = await inProcess('queue', 'purge', '--client-id', 'pg-alpha', '--yes', ...config);
      const again = await inProcess('queue', 'purge', '--client-id', 'pg-alpha', '--yes', '--json', ...config);

      // Assess
      expect(refused).toEqual({
        code: 2,
        stdout: '',
        stderr: "setpoll: queue purge deletes every queued SET of pg-alpha: add --yes to confirm, or --dry-run to count them\nRun 'setpoll queue --help' for usage.\n",
      });
      expect(dryRun).toEqual({ code: 0, stdout: 'Dry run: would delete 2 queued SET(s) of pg-alpha; nothing was changed\n', stderr: '' });
      expect(afterDryRun).toEqual([`R#${jtis[1]}`, `S#${jtis[0]}`, `S#${jtis[2]}`]);
      expect(purged).toEqual({ code: 0, stdout: 'Deleted 2 queued SET(s) of pg-alpha\n', stderr: '' });
      expect(JSON.parse(again.stdout)).toEqual({ clientId: 'pg-alpha', dryRun: false, found: 0, deleted: 0 });
      expect(await storedKeys('pg-alpha')).toEqual([`R#${jtis[1]}`]);
      expect(await storedKeys('pg-beta')).toEqual(other.map((j) => `S#${j}`));
      // A poll that read the lease record before the purge cannot write it any more: it selects again.
      await expect(table.store.writeLease('pg-alpha', staleLease.version, new Map([[jtis[2]!, Date.now() + 30_000]]))).rejects.toBeInstanceOf(LeaseConflict);
      expect((await table.store.readLease('pg-alpha', true)).version).toBeGreaterThan(staleLease.version);
    });

    it('leaves the queue working: a SET published after a purge is delivered, and a purge of an empty queue creates a usable lease record', async () => {
      // Prepare
      await publish('pg-gamma');
      const emptied = await inProcess('queue', 'purge', '--client-id', 'pg-gamma', '--yes', ...config);
      const fresh = await publish('pg-gamma');
      const never = await inProcess('queue', 'purge', '--client-id', 'pg-never', '--yes', ...config);
      const forNever = await publish('pg-never');

      // Act
      const polled = await poll('pg-gamma', { returnImmediately: true });
      const polledNever = await poll('pg-never', { returnImmediately: true });

      // Assess
      expect(emptied.stdout).toBe('Deleted 1 queued SET(s) of pg-gamma\n');
      expect(never.stdout).toBe('Deleted 0 queued SET(s) of pg-never\n');
      expect(polled.sets).toEqual({ [fresh.jti]: fresh.set });
      expect(polledNever.sets).toEqual({ [forNever.jti]: forNever.set });
    });
  });

  describe('replay', () => {
    it('moves an errored SET back into the queue, where the next poll delivers the same signed SET; --dry-run changes nothing', async () => {
      // Prepare
      const sent = await publish('rp-alpha');
      await poll('rp-alpha', { returnImmediately: true });
      await poll('rp-alpha', { returnImmediately: true, maxEvents: 0, setErrs: { [sent.jti]: { err: 'invalid_key' } } });
      const before = await storedKeys('rp-alpha');

      // Act
      const dryRun = await inProcess('queue', 'replay', '--client-id', 'rp-alpha', '--jti', sent.jti, '--dry-run', ...config);
      const afterDryRun = await storedKeys('rp-alpha');
      const replayed = await inProcess('queue', 'replay', '--client-id', 'rp-alpha', '--jti', sent.jti, ...config);
      const afterReplay = await storedKeys('rp-alpha');
      const polled = await poll('rp-alpha', { returnImmediately: true });

      // Assess
      expect(before).toEqual([`R#${sent.jti}`]);
      expect(dryRun).toEqual({
        code: 0,
        stdout: `JTI${' '.repeat(sent.jti.length - 1)}STATE    OUTCOME\n${sent.jti}  errored  would replay\nDry run: would replay 1 of 1 delivery record(s) of rp-alpha; nothing was changed\n`,
        stderr: '',
      });
      expect(afterDryRun).toEqual(before);
      expect(replayed).toEqual({
        code: 0,
        stdout: `JTI${' '.repeat(sent.jti.length - 1)}STATE    OUTCOME\n${sent.jti}  errored  replayed\nReplayed 1 of 1 delivery record(s) of rp-alpha\n`,
        stderr: '',
      });
      expect(afterReplay).toEqual([`S#${sent.jti}`]);
      expect(polled.sets).toEqual({ [sent.jti]: sent.set });
    });

    it('replays failed SETs by state with fresh delivery attempts, and leaves the other records', async () => {
      // Prepare: one failed SET (out of attempts) and one errored SET.
      const clock = { now: Date.now() };
      const limited = new PollService({ store: table.store, settings: { ...settings, maxDeliveryAttempts: 1, leaseSeconds: 1 }, now: () => clock.now });
      const failing = await publish('rp-beta');
      await poll('rp-beta', { returnImmediately: true }, limited);
      clock.now += 2_000;
      await poll('rp-beta', { returnImmediately: true }, limited);
      const erroring = await publish('rp-beta');
      await poll('rp-beta', { returnImmediately: true, maxEvents: 0, setErrs: { [erroring.jti]: { err: 'jwtAud' } } }, limited);
      clock.now += 2_000;

      // Act
      const run = await inProcess('queue', 'replay', '--client-id', 'rp-beta', '--state', 'failed', '--json', ...config);
      const polled = await poll('rp-beta', { returnImmediately: true }, limited);

      // Assess
      expect(JSON.parse(run.stdout)).toEqual({ clientId: 'rp-beta', dryRun: false, replayed: 1, items: [{ jti: failing.jti, state: 'failed', outcome: 'replayed' }] });
      expect(polled.sets).toEqual({ [failing.jti]: failing.set });
      expect(await storedKeys('rp-beta')).toEqual([`R#${erroring.jti}`, `S#${failing.jti}`]);
    });

    it('keeps the record when a SET with the jti is queued again, and exits 1 naming a jti with no record', async () => {
      // Prepare: the SET is reported, then published again under the same jti.
      const sent = await publish('rp-gamma', { jti: 'rp-gamma-1' });
      await poll('rp-gamma', { returnImmediately: true, maxEvents: 0, setErrs: { [sent.jti]: { err: 'jwtAud' } } });
      const republished = await publish('rp-gamma', { jti: 'rp-gamma-1' });

      // Act
      const run = await inProcess('queue', 'replay', '--client-id', 'rp-gamma', '--jti', 'rp-gamma-1', '--jti', 'no-such-jti', ...config);

      // Assess: nothing lost, nothing duplicated.
      expect(run).toEqual({
        code: 1,
        stdout:
          'JTI          STATE    OUTCOME\n' +
          'rp-gamma-1   errored  kept: a SET with this jti is queued\n' +
          'no-such-jti  -        no such record\n' +
          'Replayed 0 of 2 delivery record(s) of rp-gamma\n',
        stderr: 'setpoll: No delivery record of rp-gamma for "no-such-jti"\n',
      });
      expect(republished.outcomes.get('rp-gamma')).toBe('queued');
      expect(await storedKeys('rp-gamma')).toEqual(['R#rp-gamma-1', 'S#rp-gamma-1']);
    });

    it('says when there is nothing to replay', async () => {
      // Act
      const run = await inProcess('queue', 'replay', '--client-id', 'rp-nobody', '--state', 'errored', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: 'No errored delivery records of rp-nobody to replay\n', stderr: '' });
    });
  });

  describe('drain', () => {
    it('waits until the recipient has acknowledged every queued SET', async () => {
      // Prepare
      const sent = await publish('dr-alpha');
      let stderr = '';
      let stdout = '';
      const draining = main(['queue', 'drain', '--client-id', 'dr-alpha', '--interval', '1', '--timeout', '30', ...config], {
        out: (line) => void (stdout += `${line}\n`),
        err: (line) => void (stderr += `${line}\n`),
      });
      while (stderr === '') await new Promise((r) => setTimeout(r, 20));

      // Act: the recipient acknowledges.
      await poll('dr-alpha', { returnImmediately: true, maxEvents: 0, ack: [sent.jti] });
      const code = await draining;

      // Assess
      expect({ code, stdout, stderr }).toEqual({
        code: 0,
        stdout: 'Drained dr-alpha: no SETs queued (0 errored and 0 failed delivery record(s) kept)\n',
        stderr: 'Waiting for dr-alpha to acknowledge: 1 SET(s) queued (0 leased, 1 ready)\n',
      });
    });

    it('exits 1 when SETs remain at the timeout, and changes nothing', async () => {
      // Prepare
      const sent = await publish('dr-beta');

      // Act
      const run = await inProcess('queue', 'drain', '--client-id', 'dr-beta', '--timeout', '0', ...config);
      const json = await inProcess('queue', 'drain', '--client-id', 'dr-beta', '--timeout', '0', '--json', ...config);

      // Assess
      expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: dr-beta still has 1 SET(s) queued (0 leased, 1 ready) after 0 s\n' });
      expect(JSON.parse(json.stdout)).toMatchObject({ clientId: 'dr-beta', queued: 1, drained: false });
      expect(await storedKeys('dr-beta')).toEqual([`S#${sent.jti}`]);
    });
  });

  describe('the recipient flag', () => {
    it('takes --recipient (-r), and the hidden aliases --client-id, --client and a bare ID, to the same effect', async () => {
      // Prepare
      const names = [['--recipient', 'rf-alpha'], ['-r', 'rf-alpha'], ['--client-id', 'rf-alpha'], ['--client', 'rf-alpha'], ['rf-alpha']];

      // Act
      const runs = await Promise.all(names.map((name) => inProcess('queue', 'records', ...name, ...config)));
      const helps = await Promise.all(['publish', 'recipients', 'queue', 'poll', 'doctor'].map((command) => inProcess(command, '--help')));

      // Assess
      for (const run of runs) expect(run).toEqual({ code: 0, stdout: 'No delivery records of rf-alpha\n', stderr: '' });
      for (const help of helps) {
        expect(help.stdout).toContain('--recipient ID');
        expect(help.stdout).not.toContain('--client-id');
        expect(help.stdout).not.toMatch(/--client\b/);
      }
    });
  });

  describe('targets', () => {
    it('acts on a deployed table with --table and --region through the default AWS credential chain', async () => {
      // Prepare: the SDK's standard endpoint override points the "deployed" table at DynamoDB Local.
      await publish('tg-alpha');
      const aws = { AWS_ENDPOINT_URL_DYNAMODB: table.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

      // Act
      const run = await setpoll(['queue', 'backlog', '--client-id', 'tg-alpha', '--table', table.tableName, '--region', 'eu-west-2', '--json'], aws);
      const missing = await setpoll(['queue', 'backlog', '--client-id', 'tg-alpha', '--table', 'no-such-table', '--region', 'eu-west-2'], aws);

      // Assess
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ clientId: 'tg-alpha', queued: 1, ready: 1 });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The table no-such-table in eu-west-2 does not exist\n' });
    });

    it('takes the deployed table from SETPOLL_TABLE and SETPOLL_REGION, a flag winning over its variable and --config over both', async () => {
      // Prepare
      await publish('tg-env');
      const aws = { AWS_ENDPOINT_URL_DYNAMODB: table.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
      const backlog = ['queue', 'backlog', '--client-id', 'tg-env'];
      const absent = join(scratch, 'absent', 'local.json');

      // Act
      const fromEnv = await setpoll([...backlog, '--json'], { ...aws, SETPOLL_TABLE: table.tableName, SETPOLL_REGION: 'eu-west-2' });
      const tableFlag = await setpoll([...backlog, '--table', table.tableName, '--json'], { ...aws, SETPOLL_TABLE: 'no-such-table', SETPOLL_REGION: 'eu-west-2' });
      const regionEnv = await setpoll(backlog, { ...aws, SETPOLL_TABLE: 'no-such-table', SETPOLL_REGION: 'eu-west-2' });
      const regionFlag = await setpoll([...backlog, '--region', 'eu-west-1'], { ...aws, SETPOLL_TABLE: 'no-such-table', SETPOLL_REGION: 'eu-west-2' });
      const awsRegion = await setpoll(backlog, { ...aws, SETPOLL_TABLE: 'no-such-table', AWS_REGION: 'eu-central-1' });
      const configFlag = await setpoll([...backlog, '--config', absent], { ...aws, SETPOLL_TABLE: table.tableName });
      const badName = await setpoll(backlog, { ...aws, SETPOLL_TABLE: 'x' });

      // Assess
      expect(fromEnv.code).toBe(0);
      expect(JSON.parse(fromEnv.stdout)).toMatchObject({ clientId: 'tg-env', queued: 1, ready: 1 });
      expect(tableFlag.code).toBe(0);
      expect(JSON.parse(tableFlag.stdout)).toMatchObject({ clientId: 'tg-env', queued: 1 });
      expect(regionEnv).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The table no-such-table in eu-west-2 does not exist\n' });
      expect(regionFlag).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The table no-such-table in eu-west-1 does not exist\n' });
      // AWS_REGION is the SDK's own: the table is reached in it, and no region is named.
      expect(awsRegion).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The table no-such-table does not exist\n' });
      expect(configFlag.code).toBe(1);
      expect(configFlag.stderr).toBe(`setpoll: No local stack configuration at ${absent}: start the local stack with \`npm start\` (or pass --config FILE, or --table/--region for a deployed table)\n`);
      expect(badName).toEqual({ code: 2, stdout: '', stderr: `setpoll: SETPOLL_TABLE "x" is not a DynamoDB table name\nRun 'setpoll queue --help' for usage.\n` });
    });

    it('reads credentials and region from the --profile (or AWS_PROFILE) of the shared config file', async () => {
      // Prepare: no credentials and no region in the environment; only the profile has them. (The
      // endpoint override stays in the environment: the SDK reads a profile's endpoint_url from
      // AWS_PROFILE only, not from a client's profile.)
      await publish('tg-profile');
      const configFile = join(scratch, 'aws-config');
      writeFileSync(configFile, '[profile setpoll-test]\nregion = eu-west-3\naws_access_key_id = local\naws_secret_access_key = local\n');
      const aws = {
        AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
        AWS_CONFIG_FILE: configFile,
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
        SETPOLL_TABLE: table.tableName,
      };
      const backlog = ['queue', 'backlog', '--client-id', 'tg-profile', '--json'];

      // Act
      const profileFlag = await setpoll([...backlog, '--profile', 'setpoll-test'], aws);
      const profileEnv = await setpoll(backlog, { ...aws, AWS_PROFILE: 'setpoll-test' });
      const missing = await setpoll(['queue', 'backlog', '--client-id', 'tg-profile', '--table', 'no-such-table', '--profile', 'setpoll-test'], aws);
      const noProfile = await setpoll(backlog, aws);

      // Assess
      expect(profileFlag.code).toBe(0);
      expect(JSON.parse(profileFlag.stdout)).toMatchObject({ clientId: 'tg-profile', queued: 1, ready: 1 });
      expect(profileEnv.code).toBe(0);
      expect(JSON.parse(profileEnv.stdout)).toMatchObject({ clientId: 'tg-profile', queued: 1 });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: 'setpoll: The table no-such-table (profile setpoll-test) does not exist\n' });
      expect(noProfile.code).toBe(1);
      expect(noProfile.stdout).toBe('');
      expect(noProfile.stderr).toMatch(/^\{"error":\{"kind":"failure","message":"No AWS region: pass --region, or set SETPOLL_REGION or AWS_REGION"/);
    });

    it('exits 1 when there is no local stack configuration', async () => {
      // Prepare
      const absent = join(scratch, 'absent', 'local.json');

      // Act
      const run = await inProcess('queue', 'backlog', '--client-id', 'x', '--config', absent);

      // Assess
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `setpoll: No local stack configuration at ${absent}: start the local stack with \`npm start\` (or pass --config FILE, or --table/--region for a deployed table)\n`,
      });
    });
  });

  describe('usage', () => {
    it('answers each usage error with exit code 2, the exact message and a pointer to --help', async () => {
      // Prepare
      const cases: Array<[string[], string]> = [
        [['queue'], 'a subcommand is required: backlog, records, drain, purge or replay'],
        [['queue', 'flush'], 'unknown subcommand "flush": use backlog, records, drain, purge or replay'],
        [['queue', 'backlog', ...config], '--recipient is required'],
        [['queue', 'backlog', '--recipient', 'a b', ...config], '--recipient "a b" is not valid: a client id is 1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."'],
        [['queue', 'backlog', '--client-id', 'a', '--client', 'b', ...config], 'give one recipient, with --recipient ID (got "a", "b")'],
        [['queue', 'backlog', 'a', 'b', ...config], 'give one recipient, with --recipient ID (got "a", "b")'],
        [['queue', 'backlog', '--client-id', 'a', '--yes', ...config], 'queue backlog does not take --yes'],
        [['queue', 'drain', '--client-id', 'a', '--jti', 'j', ...config], 'queue drain does not take --jti'],
        [['queue', 'records', '--client-id', 'a', '--state', 'lost', ...config], '--state must be errored or failed, got "lost"'],
        [['queue', 'records', '--client-id', 'a', '--limit', '0', ...config], '--limit must be a positive whole number, got "0"'],
        [['queue', 'drain', '--client-id', 'a', '--timeout', 'soon', ...config], '--timeout must be a whole number of seconds, got "soon"'],
        [['queue', 'drain', '--client-id', 'a', '--interval', '0', ...config], '--interval must be a positive whole number, got "0"'],
        [['queue', 'replay', '--client-id', 'a', '--jti', 'x'.repeat(129), ...config], `--jti must be 1 to 128 characters, got "${'x'.repeat(129)}"`],
        [['queue', 'purge', '--client-id', 'a', ...config], 'queue purge deletes every queued SET of a: add --yes to confirm, or --dry-run to count them'],
        [['queue', 'backlog', '--client-id', 'a', '--bogus', ...config], "Unknown option '--bogus'"],
        [['queue', 'backlog', '--client-id', 'a', '--region', 'eu-west-2', ...config], '--region needs --table (or SETPOLL_TABLE): the local stack has neither'],
        [['queue', 'backlog', '--client-id', 'a', '--profile', 'prod', ...config], '--profile needs --table (or SETPOLL_TABLE): the local stack has neither'],
        [['queue', 'backlog', '--client-id', 'a', '--table', 'x'], '--table "x" is not a DynamoDB table name'],
      ];

      // Act
      const runs = await Promise.all(cases.map(([args]) => inProcess(...args)));

      // Assess
      runs.forEach((run, i) => {
        expect({ args: cases[i]![0], ...run }).toEqual({ args: cases[i]![0], code: 2, stdout: '', stderr: `setpoll: ${cases[i]![1]}\nRun 'setpoll queue --help' for usage.\n` });
      });
    });

    it('prints help with --help and exits 0', async () => {
      // Act
      const runs = await Promise.all([inProcess('queue', '--help'), inProcess('queue', 'purge', '--help'), inProcess('--help')]);

      // Assess
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
      expect(runs[0]!.stdout).toMatch(/^Usage: setpoll queue <subcommand> --recipient ID \[options\]\n/);
      expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
      expect(runs[2]!.stdout).toContain("\n  queue          a recipient's queue: backlog, records, drain, purge or replay\n");
    });
  });
});
