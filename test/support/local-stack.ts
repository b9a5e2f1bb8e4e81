/**
 * The local stack for tests: the run's shared DynamoDB Local (from the global setup), a unique
 * table, a temporary state folder, a free port, and helpers to poll as a recipient over real mTLS.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoEndpoint } from './dynamo-endpoint.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_SETTINGS, validateSettings, type PollSettings } from '../../lambdas/core/settings.ts';
import { issueClientCertificate } from '../../local/pki.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack.ts';
import { httpsRequest, type HttpsResponse } from './https-client.ts';

/** PEM material for httpsRequest: the client's certificate and key, and the dev CA. */
export interface ClientMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface MintedClient extends ClientMaterial {
  readonly clientId: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  readonly fingerprint: string;
}

export interface TestStack extends LocalStack {
  /** Material of a demo recipient (tpp-alpha, tpp-beta) or of a client minted with mintClient. */
  client(clientId: string): ClientMaterial;
  /**
   * Issues a new client certificate from the dev CA with CN = clientId, and registers it to
   * clientId unless `register: false`. Afterwards client(clientId) and poll(clientId) use it.
   */
  mintClient(clientId: string, options?: { register?: boolean }): Promise<MintedClient>;
  /** A client-credentials access token from the local authorization server, over mTLS as clientId. */
  token(clientId: string, scope?: string): Promise<string>;
  /**
   * POSTs to the poll URL as clientId with a fresh-enough access token of its own. The body
   * defaults to {"returnImmediately":true}; an object is sent as JSON, a string as is; content-type
   * is application/json unless headers say otherwise. An `authorization` header replaces the token
   * (an empty one sends none).
   */
  poll(clientId: string, body?: unknown, headers?: Record<string, string>): Promise<HttpsResponse>;
  /**
   * Calls the Notifier management API as clientId (a Data Provider such as provider-demo) with a
   * `notifications:write notifications:read` token of its own. `path` is relative to the origin and
   * may carry a query. A body object is sent as JSON, a string or Buffer as is; with a body,
   * content-type is application/json unless headers say otherwise; without one, none is sent. An
   * `authorization` header replaces the token (an empty one sends none).
   */
  manage(clientId: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpsResponse>;
  /** A folder for the test's own files (certificates, keys, configs), removed when the stack stops. */
  readonly scratch: string;
  /** Closes `thing` (a client or recipient of the stack) when the stack stops, before the stack itself. */
  closeOnStop<T extends { close(): void }>(thing: T): T;
  /** Stops the stack (not the shared DynamoDB Local) and removes the temporary state and scratch folders. */
  stop(): Promise<void>;
}

/** The scope manage() asks for: both notifier scopes. */
export const MANAGEMENT_SCOPE = 'notifications:write notifications:read';

/** Test defaults: DEFAULT_SETTINGS with a 1 s long poll, so a poll that waits does not slow the run. */
export const TEST_SETTINGS: PollSettings = validateSettings({ ...DEFAULT_SETTINGS, longPollSeconds: 1 });

export async function startTestStack(overrides: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const ownDir = overrides.dir === undefined;
  const dir = overrides.dir ?? mkdtempSync(join(tmpdir(), 'setpoll-test-'));
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dir,
      port: 0,
      dynamoEndpoint: dynamoEndpoint(),
      tableName: `t-${randomUUID()}`,
      settings: TEST_SETTINGS,
      // Quiet unless asked for (POWERTOOLS_LOG_LEVEL=INFO); tests that read logs pass their own logger.
      logger: new Logger({ serviceName: 'setpoll', logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as 'SILENT' }),
      ...overrides,
    });
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const scratch = mkdtempSync(join(tmpdir(), 'setpoll-test-scratch-'));
  const toClose: { close(): void }[] = [];

  const materials = new Map<string, ClientMaterial>();
  for (const c of stack.pki.clients) materials.set(c.clientId, { cert: c.certPem, key: c.keyPem, ca: stack.pki.caCertPem });

  const client = (clientId: string): ClientMaterial => {
    const material = materials.get(clientId);
    if (!material) throw new TypeError(`No client material for ${clientId}: use a demo recipient or mintClient() first`);
    return material;
  };

  const tokens = new Map<string, Promise<string>>();
  const token = (clientId: string, scope = 'accounts'): Promise<string> => {
    const key = `${clientId} ${scope}`;
    let pending = tokens.get(key);
    if (!pending) {
      pending = httpsRequest(stack.config.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_id: clientId }).toString(),
        ...client(clientId),
      }).then((res) => {
        if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.body}`);
        return res.json<{ access_token: string }>().access_token;
      });
      pending.catch(() => tokens.delete(key));
      tokens.set(key, pending);
    }
    return pending;
  };

  return {
    ...stack,
    client,
    token,
    scratch,
    closeOnStop<T extends { close(): void }>(thing: T): T {
      toClose.push(thing);
      return thing;
    },
    async mintClient(clientId: string, options: { register?: boolean } = {}): Promise<MintedClient> {
      const issued = await issueClientCertificate(stack.pki.ca, clientId);
      if (options.register !== false) await stack.registry.register(clientId, issued.fingerprint);
      const material = { cert: issued.certPem, key: issued.keyPem, ca: stack.pki.caCertPem };
      materials.set(clientId, material);
      // Tokens are bound to a certificate: the old ones do not fit the new one.
      for (const key of tokens.keys()) if (key.startsWith(`${clientId} `)) tokens.delete(key);
      return { clientId, fingerprint: issued.fingerprint, ...material };
    },
    async poll(clientId: string, body: unknown = { returnImmediately: true }, headers: Record<string, string> = {}): Promise<HttpsResponse> {
      const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
      const auth: Record<string, string> = has('authorization') ? {} : { authorization: `Bearer ${await token(clientId)}` };
      const given = Object.fromEntries(Object.entries(headers).filter(([name, value]) => !(name.toLowerCase() === 'authorization' && value === '')));
      return httpsRequest(stack.config.pollUrl, {
        method: 'POST',
        headers: { ...(has('content-type') ? {} : { 'content-type': 'application/json' }), ...auth, ...given } as Record<string, string>,
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
        ...client(clientId),
      });
    },
    async manage(clientId: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpsResponse> {
      const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
      const auth: Record<string, string> = has('authorization') ? {} : { authorization: `Bearer ${await token(clientId, MANAGEMENT_SCOPE)}` };
      const given = Object.fromEntries(Object.entries(headers).filter(([name, value]) => !(name.toLowerCase() === 'authorization' && value === '')));
      const raw = typeof body === 'string' || Buffer.isBuffer(body);
      return httpsRequest(new URL(path, stack.server.origin), {
        method,
        headers: { ...(body === undefined || has('content-type') ? {} : { 'content-type': 'application/json' }), ...auth, ...given },
        ...(body === undefined ? {} : { body: raw ? (body as string | Buffer) : JSON.stringify(body) }),
        ...client(clientId),
      });
    },
    async stop(): Promise<void> {
      for (const thing of toClose.splice(0)) thing.close();
      await stack.stop();
      rmSync(scratch, { recursive: true, force: true });
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
