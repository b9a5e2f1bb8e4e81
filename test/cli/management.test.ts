/**
 * `setpoll destinations` and `setpoll notify` against a stand-in for the management API: a small
 * HTTPS server of this test (real TLS, client certificates required, from a CA made here) that
 * records every request and answers what each test scripts. The CLI is the thing under test: which
 * requests its arguments become, how it authenticates, and what it prints.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectUsageErrors, inProcess, type Run, type UsageCase } from '../support/cli.ts';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../../local/pki.ts';
import { CREDENTIAL_CHANGE, SESSION_REVOKED as CAEP } from '../support/event-types.ts';

const SHIM = resolve(import.meta.dirname, '../../cli/setpoll.mjs');
const TOKEN_PATH = '/oauth/token';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** CN of the client certificate the request came with. */
  readonly clientCn: string | undefined;
}

interface Scripted {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** Runs the CLI in this process: the stand-in server answers on this event loop meanwhile. */
const cli = inProcess;

/** Runs the CLI as a real subprocess, as `npx setpoll` would. */
function subprocess(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [SHIM, ...args], { timeout: 30_000, env: { ...process.env, SETPOLL_STATE_DIR: '/nonexistent-setpoll-state' } }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const destination = (clientId: string, version = 1, eventTypes?: string[]) => ({
  clientId,
  ...(eventTypes ? { eventTypes } : {}),
  version,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:05:00.000Z',
});

const notification = (id: string, overrides: Record<string, unknown> = {}) => ({
  notificationId: id,
  revision: 1,
  jti: '019ab6c0-0000-7000-8000-000000000001',
  claims: { events: { [CAEP]: { initiating_entity: 'policy' } } },
  ttlSeconds: 604800,
  iat: 1795000000,
  expiresAt: '2026-11-30T10:00:00.000Z',
  state: 'issued',
  fanOut: { queued: 2, skipped: 1, withdrawn: 0, pending: false },
  version: 1,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  ...overrides,
});

/** A destination's delivery status as GET /notifications/{id}/status lists it: acknowledged unless overridden. */
const deliveryStatus = (clientId: string, overrides: Record<string, unknown> = {}) => ({
  clientId,
  jti: 'j1',
  revision: 1,
  state: 'acknowledged',
  queuedAt: '2026-11-23T10:00:01.000Z',
  expiresAt: '2026-11-30T10:00:00.000Z',
  ...overrides,
});

/** The status of a destination whose recipient reported the SET in setErrs with `description`. */
const erroredStatus = (clientId: string, description: string) =>
  deliveryStatus(clientId, { state: 'errored', err: 'invalid_key', description, at: '2026-11-23T10:01:00.000Z' });

describe('setpoll destinations and notify (against a stand-in management API)', () => {
  let server: Server;
  let origin: string;
  let scratch: string;
  let configFile: string;
  let files: { caCert: string; demoCert: string; demoKey: string; twoCert: string; twoKey: string };
  let config: string[];
  let tokenRequests: Recorded[];
  let apiRequests: Recorded[];
  let script: Scripted[];
  let tokenAnswer: Scripted | undefined;

  /** The next API request gets this answer (in order); unscripted requests get 200 {}. */
  const answer = (...answers: Scripted[]) => void script.push(...answers);
  const onlyRequest = (): Recorded => {
    expect(apiRequests).toHaveLength(1);
    return apiRequests[0]!;
  };

  beforeAll(async () => {
    const ca = await createCertificateAuthority('setpoll CLI test CA');
    const serverCert = await issueServerCertificate(ca);
    const demo = await issueClientCertificate(ca, 'provider-demo');
    const two = await issueClientCertificate(ca, 'provider-two');
    scratch = mkdtempSync(join(tmpdir(), 'setpoll-cli-api-'));
    const write = (name: string, text: string) => {
      const file = join(scratch, name);
      writeFileSync(file, text);
      return file;
    };
    files = {
      caCert: write('ca.pem', ca.certPem),
      demoCert: write('provider-demo.pem', demo.certPem),
      demoKey: write('provider-demo.key', demo.keyPem),
      twoCert: write('provider-two.pem', two.certPem),
      twoKey: write('provider-two.key', two.keyPem),
    };

    server = createServer({ key: serverCert.keyPem, cert: serverCert.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', origin);
        const peer = (req.socket as TLSSocket).getPeerX509Certificate?.();
        const recorded: Recorded = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          clientCn: peer ? new X509Certificate(peer.raw).subject.match(/CN=(.*)/)?.[1] : undefined,
        };
        let reply: Scripted;
        if (recorded.path === TOKEN_PATH) {
          tokenRequests.push(recorded);
          reply = tokenAnswer ?? { status: 200, body: { access_token: `token-of-${recorded.clientCn}`, token_type: 'Bearer', expires_in: 300 } };
        } else {
          apiRequests.push(recorded);
          reply = script.shift() ?? { status: 200, body: {} };
        }
        const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status, { ...(body ? { 'content-type': 'application/json' } : {}), ...reply.headers });
        res.end(body);
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

    configFile = write(
      'local.json',
      JSON.stringify({
        pollUrl: `${origin}/events`,
        jwksUrl: `${origin}/jwks.json`,
        tokenUrl: `${origin}${TOKEN_PATH}`,
        caCertFile: files.caCert,
        issuer: origin,
        clients: [],
        providers: [
          { clientId: 'provider-demo', certFile: files.demoCert, keyFile: files.demoKey },
          { clientId: 'provider-two', certFile: files.twoCert, keyFile: files.twoKey },
        ],
        dynamodb: { endpoint: 'http://127.0.0.1:9', tableName: 'unused' },
        settings: { leaseSeconds: 30, longPollSeconds: 20, maxEvents: 100, maxDeliveryAttempts: 0 },
      }),
    );
    config = ['--config', configFile];
  });

  beforeEach(() => {
    tokenRequests = [];
    apiRequests = [];
    script = [];
    tokenAnswer = undefined;
  });

  afterAll(async () => {
    await new Promise<void>((closed) => (server ? server.close(() => closed()) : closed()));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  describe('authentication', () => {
    it('gets a notifier token over mTLS as the first provider, then calls the API with it as a Bearer token', async () => {
      // Prepare
      answer({ status: 200, body: { items: [] } });

      // Act
      const run = await cli('destinations', 'list', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: 'No destinations\n', stderr: '' });
      expect(tokenRequests).toHaveLength(1);
      const token = tokenRequests[0]!;
      expect(token).toMatchObject({ method: 'POST', clientCn: 'provider-demo' });
      expect(token.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({
        grant_type: 'client_credentials',
        scope: 'notifications:write notifications:read',
        client_id: 'provider-demo',
      });
      expect(onlyRequest()).toMatchObject({ method: 'GET', path: '/destinations', query: {}, clientCn: 'provider-demo' });
      expect(onlyRequest().headers.authorization).toBe('Bearer token-of-provider-demo');
    });

    it('acts as another provider of local.json with --client', async () => {
      // Prepare
      answer({ status: 200, body: { items: [] } });

      // Act
      const run = await cli('notify', 'list', '--client', 'provider-two', ...config);

      // Assess
      expect(run.code).toBe(0);
      expect(new URLSearchParams(tokenRequests[0]!.body).get('client_id')).toBe('provider-two');
      expect(tokenRequests[0]!.clientCn).toBe('provider-two');
      expect(onlyRequest()).toMatchObject({ clientCn: 'provider-two', headers: expect.objectContaining({ authorization: 'Bearer token-of-provider-two' }) });
    });

    it('calls a deployment given by --url, --cert, --key, --ca and --token-url; client_id from the certificate CN', async () => {
      // Prepare
      answer({ status: 200, body: destination('tpp-alpha') });
      const deployment = ['--url', origin, '--cert', files.twoCert, '--key', files.twoKey, '--ca', files.caCert, '--token-url', `${origin}${TOKEN_PATH}`];

      // Act
      const run = await cli('destinations', 'get', 'tpp-alpha', ...deployment);
      const named = await cli('destinations', 'get', 'tpp-alpha', ...deployment, '--client', 'bank-provider-7');

      // Assess
      expect(run.code).toBe(0);
      expect(named.code).toBe(0);
      expect(tokenRequests.map((t) => new URLSearchParams(t.body).get('client_id'))).toEqual(['provider-two', 'bank-provider-7']);
      expect(apiRequests.map((r) => [r.method, r.path, r.clientCn])).toEqual([
        ['GET', '/destinations/tpp-alpha', 'provider-two'],
        ['GET', '/destinations/tpp-alpha', 'provider-two'],
      ]);
    });

    it('refuses a deployment whose server certificate it cannot verify (no --ca), before sending anything', async () => {
      // Prepare
      const deployment = ['--url', origin, '--cert', files.demoCert, '--key', files.demoKey, '--token-url', `${origin}${TOKEN_PATH}`];

      // Act
      const run = await cli('destinations', 'list', ...deployment);

      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^setpoll: TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*pass --ca FILE\)\n$/);
      expect(tokenRequests).toEqual([]);
      expect(apiRequests).toEqual([]);
    });

    it('reports a refused token request with the OAuth error and calls nothing', async () => {
      // Prepare
      tokenAnswer = { status: 400, body: { error: 'invalid_scope', error_description: 'provider-demo may not ask for notifications:write' } };

      // Act
      const run = await cli('notify', 'get', 'n-1', ...config);

      // Assess
      expect(run).toEqual({
        code: 1,
        stdout: '',
        stderr: `setpoll: The token endpoint ${origin}${TOKEN_PATH} refused provider-demo: invalid_scope: provider-demo may not ask for notifications:write\n`,
      });
      expect(apiRequests).toEqual([]);
    });

    it('runs as a real subprocess too', async () => {
      // Prepare
      answer({ status: 200, body: { items: [destination('tpp-alpha')] } });

      // Act
      const run = await subprocess('destinations', 'list', '--json', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: `${JSON.stringify({ items: [destination('tpp-alpha')] })}\n`, stderr: '' });
    });
  });

  describe('destinations', () => {
    it('add registers a recipient for the given event types', async () => {
      // Prepare
      answer({ status: 201, body: destination('tpp-alpha', 1, [CAEP, CREDENTIAL_CHANGE]), headers: { etag: '"1"' } });

      // Act
      const run = await cli('destinations', 'add', '--recipient', 'tpp-alpha', '--event-type', CAEP, '--event-type', CREDENTIAL_CHANGE, ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: `Registered destination tpp-alpha (version 1): ${CAEP}, ${CREDENTIAL_CHANGE}\n`, stderr: '' });
      const req = onlyRequest();
      expect(req).toMatchObject({ method: 'POST', path: '/destinations' });
      expect(req.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req.body)).toEqual({ clientId: 'tpp-alpha', eventTypes: [CAEP, CREDENTIAL_CHANGE] });
    });

    it('add without --event-type registers for every event type', async () => {
      // Prepare
      answer({ status: 201, body: destination('tpp-beta') });

      // Act
      const run = await cli('destinations', 'add', '-r', 'tpp-beta', ...config);

      // Assess
      expect(run.stdout).toBe('Registered destination tpp-beta (version 1): every event type\n');
      expect(JSON.parse(onlyRequest().body)).toEqual({ clientId: 'tpp-beta' });
    });

    it('list passes --limit and --cursor, prints a table, and says how to get the next page', async () => {
      // Prepare
      answer({ status: 200, body: { items: [destination('tpp-alpha', 3, [CAEP]), destination('tpp-beta')], nextCursor: 'c2' } });

      // Act
      const run = await cli('destinations', 'list', '--limit', '2', '--cursor', 'c1', ...config);

      // Assess
      expect(onlyRequest()).toMatchObject({ method: 'GET', path: '/destinations', query: { limit: '2', cursor: 'c1' } });
      expect(run).toEqual({
        code: 0,
        stdout: [
          'CLIENT ID  VERSION  UPDATED                   EVENT TYPES',
          `tpp-alpha  3        2026-11-23T10:05:00.000Z  ${CAEP}`,
          'tpp-beta   1        2026-11-23T10:05:00.000Z  every event type',
          '',
        ].join('\n'),
        stderr: 'More: setpoll destinations list --cursor c2\n',
      });
    });

    it('get encodes the id into the path and prints the destination', async () => {
      // Prepare
      answer({ status: 200, body: destination('tpp/α 1') });

      // Act
      const run = await cli('destinations', 'get', 'tpp/α 1', ...config);

      // Assess
      expect(onlyRequest()).toMatchObject({ method: 'GET', path: '/destinations/tpp%2F%CE%B1%201' });
      expect(run.stdout).toBe(
        [
          'clientId    tpp/α 1',
          'eventTypes  every event type',
          'version     1',
          'createdAt   2026-11-23T10:00:00.000Z',
          'updatedAt   2026-11-23T10:05:00.000Z',
          '',
        ].join('\n'),
      );
    });

    it('update replaces the event types, with If-Match from --if-match', async () => {
      // Prepare
      answer({ status: 200, body: destination('tpp-alpha', 4, [CREDENTIAL_CHANGE]) });

      // Act
      const run = await cli('destinations', 'update', 'tpp-alpha', '--event-type', CREDENTIAL_CHANGE, '--if-match', '3', ...config);

      // Assess
      const req = onlyRequest();
      expect(req).toMatchObject({ method: 'PUT', path: '/destinations/tpp-alpha' });
      expect(req.headers['if-match']).toBe('"3"');
      expect(JSON.parse(req.body)).toEqual({ eventTypes: [CREDENTIAL_CHANGE] });
      expect(run.stdout).toBe(`Updated destination tpp-alpha (version 4): ${CREDENTIAL_CHANGE}\n`);
    });

    it('update --all-types sends eventTypes null, and no If-Match without --if-match', async () => {
      // Prepare
      answer({ status: 200, body: destination('tpp-alpha', 5) });

      // Act
      const run = await cli('destinations', 'update', '--all-types', 'tpp-alpha', ...config);

      // Assess
      const req = onlyRequest();
      expect(req.headers['if-match']).toBeUndefined();
      expect(JSON.parse(req.body)).toEqual({ eventTypes: null });
      expect(run.stdout).toBe('Updated destination tpp-alpha (version 5): every event type\n');
    });

    it('remove deletes, passing an ETag given as is', async () => {
      // Prepare
      answer({ status: 204 }, { status: 204 });

      // Act
      const run = await cli('destinations', 'remove', 'tpp-alpha', '--if-match', '"7"', ...config);
      const json = await cli('destinations', 'remove', 'tpp-beta', '--json', ...config);

      // Assess
      expect(run).toEqual({ code: 0, stdout: 'Removed destination tpp-alpha\n', stderr: '' });
      expect(json).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(apiRequests.map((r) => [r.method, r.path, r.headers['if-match'], r.body])).toEqual([
        ['DELETE', '/destinations/tpp-alpha', '"7"', ''],
        ['DELETE', '/destinations/tpp-beta', undefined, ''],
      ]);
    });

    it("prints the API's err: description and exits 1 when the API refuses", async () => {
      // Prepare
      answer({ status: 409, body: { err: 'conflict', description: 'The destination tpp-alpha is at version 4, not 3; read it and retry' } });

      // Act
      const run = await cli('destinations', 'remove', 'tpp-alpha', '--if-match', '3', ...config);

      // Assess
      expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: conflict: The destination tpp-alpha is at version 4, not 3; read it and retry\n' });
    });

    it('says which request failed when the answer is not an API error body', async () => {
      // Prepare
      answer({ status: 502, body: { message: 'Internal Server Error' } });

      // Act
      const run = await cli('destinations', 'get', 'tpp-alpha', ...config);

      // Assess
      expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: GET /destinations/tpp-alpha answered HTTP 502: {"message":"Internal Server Error"}\n' });
    });

    it('import sends the file as the operations of one bulk request and reports each', async () => {
      // Prepare
      const operations = [
        { op: 'register', clientId: 'tpp-alpha', eventTypes: [CAEP] },
        { op: 'update', clientId: 'tpp-beta', eventTypes: null, expectedVersion: 2 },
        { op: 'delete', clientId: 'tpp-gamma' },
      ];
      const file = join(scratch, 'ops.json');
      writeFileSync(file, JSON.stringify(operations));
      answer({
        status: 200,
        body: {
          atomic: false,
          applied: true,
          results: [
            { index: 0, clientId: 'tpp-alpha', ok: true, status: 201, destination: destination('tpp-alpha', 1, [CAEP]) },
            { index: 1, clientId: 'tpp-beta', ok: false, status: 409, error: { err: 'conflict', description: 'The destination tpp-beta is at version 3, not 2; read it and retry' } },
            { index: 2, clientId: 'tpp-gamma', ok: true, status: 204 },
          ],
          totals: { succeeded: 2, failed: 1 },
        },
      });

      // Act
      const run = await cli('destinations', 'import', file, ...config);

      // Assess
      expect(onlyRequest()).toMatchObject({ method: 'POST', path: '/destinations/bulk' });
      expect(JSON.parse(onlyRequest().body)).toEqual({ operations, atomic: false });
      expect(run).toEqual({
        code: 1,
        stdout: [
          '#  OP        CLIENT ID  STATUS  RESULT',
          '0  register  tpp-alpha  201     version 1',
          '1  update    tpp-beta   409     conflict: The destination tpp-beta is at version 3, not 2; read it and retry',
          '2  delete    tpp-gamma  204     ok',
          '2 succeeded, 1 failed',
          '',
        ].join('\n'),
        stderr: 'setpoll: 1 of 3 operations failed\n',
      });
    });

    it('import --atomic asks for all or nothing; --json prints the result as is', async () => {
      // Prepare
      const file = join(scratch, 'atomic.json');
      writeFileSync(file, JSON.stringify([{ op: 'register', clientId: 'tpp-delta' }]));
      const result = { atomic: true, applied: true, results: [{ index: 0, clientId: 'tpp-delta', ok: true, status: 201, destination: destination('tpp-delta') }], totals: { succeeded: 1, failed: 0 } };
      answer({ status: 200, body: result });

      // Act
      const run = await cli('destinations', 'import', '--atomic', file, '--json', ...config);

      // Assess
      expect(JSON.parse(onlyRequest().body)).toEqual({ operations: [{ op: 'register', clientId: 'tpp-delta' }], atomic: true });
      expect(run).toEqual({ code: 0, stdout: `${JSON.stringify(result)}\n`, stderr: '' });
    });
  });

  describe('notify', () => {
    it('issues a notification from --events @file with the id, sub, txn and ttl given', async () => {
      // Prepare
      const events = { [CAEP]: { initiating_entity: 'policy', reason_admin: { en: 'Compromised' } } };
      const file = join(scratch, 'events.json');
      writeFileSync(file, JSON.stringify(events));
      answer({ status: 201, body: notification('n-1'), headers: { etag: '"1"', location: '/notifications/n-1' } });

      // Act
      const run = await cli('notify', '--events', `@${file}`, '--id', 'n-1', '--sub', 'user-1', '--txn', 'tx-9', '--ttl', '3600', ...config);

      // Assess
      const req = onlyRequest();
      expect(req).toMatchObject({ method: 'POST', path: '/notifications' });
      expect(JSON.parse(req.body)).toEqual({ notificationId: 'n-1', events, sub: 'user-1', txn: 'tx-9', ttlSeconds: 3600 });
      expect(run).toEqual({
        code: 0,
        stdout: 'Issued notification n-1 (revision 1, jti 019ab6c0-0000-7000-8000-000000000001): queued for 2 destination(s), 1 skipped (other event types)\n',
        stderr: '',
      });
    });

    it('says when the fan-out goes on in the background (202) and when an issue was a retry (200)', async () => {
      // Prepare
      const events = JSON.stringify({ [CAEP]: {} });
      answer(
        { status: 202, body: notification('n-2', { state: 'fanning_out', fanOut: { queued: 100, skipped: 0, withdrawn: 0, pending: true } }) },
        { status: 200, body: notification('n-2') },
      );

      // Act
      const pending = await cli('notify', '--events', events, ...config);
      const retry = await cli('notify', '--events', events, '--id', 'n-2', ...config);

      // Assess
      expect(JSON.parse(apiRequests[0]!.body)).toEqual({ events: { [CAEP]: {} } });
      expect(pending.stdout).toBe(
        'Issued notification n-2 (revision 1, jti 019ab6c0-0000-7000-8000-000000000001): queued for 100 destination(s), 0 skipped (other event types); continuing in the background (setpoll notify get n-2)\n',
      );
      expect(retry.stdout).toMatch(/^Notification n-2 was already issued with these claims \(revision 1/);
    });

    it('list, get and status read with --limit and --cursor', async () => {
      // Prepare
      answer(
        { status: 200, body: { items: [notification('n-1'), notification('n-2', { state: 'withdrawn', revision: 2, version: 3 })] } },
        { status: 200, body: notification('n:1') },
        {
          status: 200,
          body: {
            items: [deliveryStatus('tpp-alpha'), erroredStatus('tpp-beta', 'unknown kid')],
            nextCursor: 'next',
          },
        },
      );

      // Act
      const list = await cli('notify', 'list', '--limit', '50', ...config);
      const get = await cli('notify', 'get', 'n:1', ...config);
      const status = await cli('notify', 'status', 'n-1', '--limit', '2', '--cursor', 'abc', ...config);

      // Assess
      expect(apiRequests.map((r) => [r.method, r.path, r.query])).toEqual([
        ['GET', '/notifications', { limit: '50' }],
        ['GET', '/notifications/n%3A1', {}],
        ['GET', '/notifications/n-1/status', { limit: '2', cursor: 'abc' }],
      ]);
      expect(list.stdout.split('\n')).toEqual([
        'NOTIFICATION ID  STATE      REVISION  VERSION  QUEUED  SKIPPED  CREATED',
        'n-1              issued     1         1        2       1        2026-11-23T10:00:00.000Z',
        'n-2              withdrawn  2         3        2       1        2026-11-23T10:00:00.000Z',
        '',
      ]);
      expect(get.stdout).toContain('state           issued\n');
      expect(get.stdout).toContain('fanOut          queued for 2 destination(s), 1 skipped (other event types)\n');
      expect(get.stdout).toContain(`claims          ${JSON.stringify({ events: { [CAEP]: { initiating_entity: 'policy' } } })}\n`);
      expect(status).toEqual({
        code: 0,
        stdout: [
          'CLIENT ID  STATE         REVISION  QUEUED AT                 DETAIL',
          'tpp-alpha  acknowledged  1         2026-11-23T10:00:01.000Z  -',
          'tpp-beta   errored       1         2026-11-23T10:00:01.000Z  invalid_key: unknown kid, at 2026-11-23T10:01:00.000Z',
          '',
        ].join('\n'),
        stderr: 'More: setpoll notify status n-1 --cursor next\n',
      });
    });

    it('says what an empty page means: nothing at all, or nothing more after --cursor', async () => {
      // Prepare
      const empty = { status: 200, body: { items: [] } };
      answer(empty, empty, empty, empty, empty);

      // Act
      const runs = [
        await cli('notify', 'list', ...config),
        await cli('notify', 'list', '--cursor', 'c9', ...config),
        await cli('notify', 'status', 'n-1', ...config),
        await cli('notify', 'status', 'n-1', '--cursor', 'c9', ...config),
        await cli('destinations', 'list', '--cursor', 'c9', ...config),
      ];

      // Assess
      expect(runs.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
        [0, 'No notifications\n', ''],
        [0, 'No more notifications\n', ''],
        [0, 'No destination has received this notification\n', ''],
        [0, 'No more destinations\n', ''],
        [0, 'No more destinations\n', ''],
      ]);
    });

    it('status prints provider- and recipient-supplied strings with terminal controls escaped', async () => {
      // Prepare: a recipient's setErrs description that would clear the operator's screen and forge a row.
      answer({
        status: 200,
        body: {
          items: [erroredStatus('tpp-\u001b[8mbeta', '\u001b[2J\rtpp-gamma  acknowledged\n\u009b0m')],
        },
      });

      // Act
      const status = await cli('notify', 'status', 'n-1', ...config);

      // Assess
      expect(status).toEqual({
        code: 0,
        stdout: [
          'CLIENT ID          STATE    REVISION  QUEUED AT                 DETAIL',
          'tpp-\\u001b[8mbeta  errored  1         2026-11-23T10:00:01.000Z  invalid_key: \\u001b[2J\\u000dtpp-gamma  acknowledged\\u000a\\u009b0m, at 2026-11-23T10:01:00.000Z',
          '',
        ].join('\n'),
        stderr: '',
      });
    });

    it('withdraw deletes with If-Match; replace puts the new claims with If-Match', async () => {
      // Prepare
      answer(
        { status: 200, body: notification('n-1', { state: 'withdrawn', version: 2, fanOut: { queued: 2, skipped: 1, withdrawn: 1, pending: false } }) },
        { status: 200, body: notification('n-3', { revision: 2, jti: 'j-rev2', version: 2 }) },
      );
      const events = { [CREDENTIAL_CHANGE]: { change_type: 'revoke' } };

      // Act
      const withdraw = await cli('notify', 'withdraw', 'n-1', '--if-match', '1', ...config);
      const replace = await cli('notify', 'replace', 'n-3', '--events', JSON.stringify(events), '--sub', 'user-2', '--if-match', '1', ...config);

      // Assess
      expect(apiRequests.map((r) => [r.method, r.path, r.headers['if-match'], r.body === '' ? '' : JSON.parse(r.body)])).toEqual([
        ['DELETE', '/notifications/n-1', '"1"', ''],
        ['PUT', '/notifications/n-3', '"1"', { events, sub: 'user-2' }],
      ]);
      expect(withdraw.stdout).toBe('Withdrew notification n-1: 1 undelivered SET(s) taken back; delivered ones stay with their recipients\n');
      expect(replace.stdout).toBe('Replaced notification n-3 with revision 2 (jti j-rev2): queued for 2 destination(s), 1 skipped (other event types)\n');
    });

    it("prints the API's JSON as is with --json, and its error as JSON on failure", async () => {
      // Prepare
      answer({ status: 200, body: notification('n-1') }, { status: 404, body: { err: 'not_found', description: 'No notification n-9' } });

      // Act
      const json = await cli('notify', 'get', 'n-1', '--json', ...config);
      const missing = await cli('notify', 'get', 'n-9', '--json', ...config);

      // Assess
      expect(json).toEqual({ code: 0, stdout: `${JSON.stringify(notification('n-1'))}\n`, stderr: '' });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: '{"error":{"kind":"failure","message":"not_found: No notification n-9","command":"notify","exitCode":1}}\n' });
    });
  });

  describe('usage', () => {
    it('answers each usage error with exit code 2, a message, and no request', async () => {
      // Prepare
      const deployment = ['--url', origin, '--cert', files.demoCert, '--key', files.demoKey, '--token-url', `${origin}${TOKEN_PATH}`];
      const cases: UsageCase[] = [
        [['destinations'], 'setpoll: a subcommand is required: add, list, get, update, remove or import'],
        [['destinations', 'drop'], 'setpoll: unknown subcommand "drop": use add, list, get, update, remove or import'],
        [['destinations', 'add', ...config], 'setpoll: --recipient is required'],
        [['destinations', 'add', '-r', 'tpp alpha', ...config], 'setpoll: --recipient cannot contain whitespace'],
        [['destinations', 'add', '-r', 'x', '--event-type', 'not a uri', ...config], 'setpoll: --event-type must be an absolute URI, got "not a uri"'],
        [['destinations', 'add', '-r', 'x', '--all-types', ...config], "setpoll: Unknown option '--all-types'"],
        [['destinations', 'list', '--limit', '0', ...config], 'setpoll: --limit must be a positive whole number, got "0"'],
        [['destinations', 'list', 'extra', ...config], 'setpoll: unexpected argument "extra"'],
        [['destinations', 'get', ...config], 'setpoll: ID is required'],
        [['destinations', 'get', 'a', 'b', ...config], 'setpoll: unexpected argument "b"'],
        [['destinations', 'update', 'x', ...config], 'setpoll: give the new event types with --event-type URI (repeatable), or --all-types for every type'],
        [['destinations', 'update', 'x', '--all-types', '--event-type', CAEP, ...config], 'setpoll: give the new event types with --event-type URI (repeatable), or --all-types'],
        [['destinations', 'remove', 'x', '--if-match', 'W/"3"', ...config], 'setpoll: --if-match must be a version number as shown by get, e.g. 3 (got "W/\\"3\\"")'],
        [['destinations', 'import', ...config], 'setpoll: FILE.json is required'],
        [['destinations', 'list', '--cert', files.demoCert, ...config], "setpoll: --cert goes with --url (a deployment); the local stack's come from local.json"],
        [['destinations', 'list', '--url', origin, '--cert', files.demoCert, '--key', files.demoKey], 'setpoll: --url needs --token-url'],
        [['destinations', 'list', ...deployment, ...config], 'setpoll: --config and --url cannot be used together'],
        [['destinations', 'list', '--url', 'http://events.bank.example', '--cert', 'c', '--key', 'k', '--token-url', `${origin}/t`], 'setpoll: --url must use https, got "http://events.bank.example"'],
        [['destinations', 'list', '--client', 'provider-nobody', ...config], 'setpoll: --client "provider-nobody" is not a provider of the local stack: use provider-demo, provider-two'],
        [['notify', ...config], 'setpoll: --events is required'],
        [['notify', 'send', ...config], 'setpoll: unknown subcommand "send": use list, get, status, withdraw or replace, or options only to issue a notification'],
        [['notify', '--events', '[]', ...config], 'setpoll: --events must be a JSON object mapping at least one event type URI to a payload object'],
        [['notify', '--events', '{', ...config], 'setpoll: --events must be a JSON object (event type URI -> event payload object)'],
        [['notify', '--events', `{"${CAEP}":{}}`, '--id', 'a b', ...config], 'setpoll: --id must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ : -'],
        [['notify', '--events', `{"${CAEP}":{}}`, '--ttl', '-5', ...config], "setpoll: Option '--ttl' argument is ambiguous"],
        [['notify', '--events', `{"${CAEP}":{}}`, '--ttl', '1.5', ...config], 'setpoll: --ttl must be a positive whole number, got "1.5"'],
        [['notify', '--events', `{"${CAEP}":{}}`, '--if-match', '1', ...config], "setpoll: Unknown option '--if-match'"],
        [['notify', 'get', ...config], 'setpoll: ID is required'],
        [['notify', 'status', 'n-1', '--limit', 'ten', ...config], 'setpoll: --limit must be a positive whole number, got "ten"'],
        [['notify', 'withdraw', 'n-1', '--if-match', 'latest', ...config], 'setpoll: --if-match must be a version number as shown by get, e.g. 3 (got "latest")'],
        [['notify', 'replace', 'n-1', ...config], 'setpoll: --events is required'],
        [['notify', 'replace', '--events', `{"${CAEP}":{}}`, ...config], 'setpoll: ID is required'],
        [['notify', 'replace', 'n-1', '--events', `{"${CAEP}":{}}`, '--id', 'n-2', ...config], "setpoll: Unknown option '--id'"],
      ];

      // Act
      const runs = [];
      for (const [args] of cases) runs.push(await cli(...args));

      // Assess
      expectUsageErrors(cases, runs, /Run 'setpoll (destinations|notify) --help' for usage\.\n$/);
      expect(tokenRequests).toEqual([]);
      expect(apiRequests).toEqual([]);
    });

    it('exits 1 when local.json is missing, has no providers, or a file cannot be read', async () => {
      // Prepare
      const missing = join(scratch, 'missing', 'local.json');
      const noProviders = join(scratch, 'no-providers.json');
      // As written by a local stack from before the management API: no providers member.
      writeFileSync(
        noProviders,
        JSON.stringify({ pollUrl: `${origin}/events`, issuer: origin, tokenUrl: `${origin}${TOKEN_PATH}`, caCertFile: files.caCert, clients: [], dynamodb: { endpoint: 'http://x', tableName: 't' } }),
      );

      // Act
      const runs = await Promise.all([
        cli('destinations', 'list', '--config', missing),
        cli('notify', 'list', '--config', noProviders),
        cli('destinations', 'import', join(scratch, 'nope.json'), ...config),
        cli('destinations', 'list', '--url', origin, '--cert', join(scratch, 'nope.pem'), '--key', files.demoKey, '--token-url', `${origin}${TOKEN_PATH}`),
      ]);

      // Assess
      expect(runs.map((r) => r.code)).toEqual([1, 1, 1, 1]);
      expect(runs[0]!.stderr).toBe(
        `setpoll: No local stack configuration at ${missing}: start the local stack with \`npm start\` (or pass --config FILE, or --url URL --cert FILE --key FILE --token-url URL for a deployment)\n`,
      );
      expect(runs[1]!.stderr).toBe(`setpoll: ${noProviders} lists no providers: restart the local stack (npm start) to register provider-demo\n`);
      expect(runs[2]!.stderr).toBe(`setpoll: Cannot read the import file ${join(scratch, 'nope.json')}: no such file\n`);
      expect(runs[3]!.stderr).toBe(`setpoll: Cannot read the client certificate ${join(scratch, 'nope.pem')}: no such file\n`);
      expect(apiRequests).toEqual([]);
    });

    it('prints help and exits 0', async () => {
      // Act
      const runs = await Promise.all([
        cli('destinations', '--help'),
        cli('destinations', 'update', '--help'),
        cli('notify', '--help'),
        cli('notify', 'status', '-h'),
        cli('--help'),
      ]);

      // Assess
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
      expect(runs[0]!.stdout).toMatch(/^Usage: setpoll destinations <subcommand>/);
      expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
      expect(runs[2]!.stdout).toMatch(/^Usage: setpoll notify --events JSON\|@FILE/);
      expect(runs[3]!.stdout).toBe(runs[2]!.stdout);
      expect(runs[4]!.stdout).toMatch(/\n {2}destinations {3}a Data Provider's notification destinations/);
      expect(runs[4]!.stdout).toMatch(/\n {2}notify {9}issue a notification/);
    });
  });
});
