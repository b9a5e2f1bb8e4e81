/**
 * Helpers for the generated-request and fault tests:
 *
 * - a keep-alive HTTPS client (a rejected request costs ~2 ms over a kept connection, ~13 ms with a
 *   new TLS handshake), which can send duplicate, missing or odd headers and any bytes as the body;
 * - a watch on a DynamoDB client: every command the handler issues, the partitions it names, its
 *   outcome, and the lease records it wrote;
 * - whole-partition snapshots and restores, through a client of the test's own;
 * - a reference model of the poll endpoint (docs/poll-api.md, "The poll endpoint" and "Errors"): what a
 *   request must be answered with, and what an accepted request does to a known queue;
 * - fast-check arbitraries for near-valid and hostile requests.
 */
import { Agent, request } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { distance } from 'fastest-levenshtein';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClientMaterial } from './local-stack.ts';
import { LEASE_SK } from '../../lambdas/store/schema.ts';

// ─── A keep-alive HTTPS client ──────────────────────────────────────────────────────────────────

export interface RawRequest {
  /** @default 'POST' */
  readonly method?: string;
  /** Each value is sent as its own header line: [] sends none, two values send the header twice. */
  readonly headers?: Readonly<Record<string, readonly string[]>>;
  readonly body?: Buffer;
  readonly signal?: AbortSignal;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** Date.now() when the request was sent and when the response had fully arrived. */
  readonly sentAt: number;
  readonly receivedAt: number;
}

export interface KeepAliveClient {
  send(req?: RawRequest): Promise<RawResponse>;
  /** TLS connections opened so far: far fewer than requests when keep-alive works. */
  connections(): number;
  close(): void;
}

/** How long a kept-alive socket may idle: under the local server's (Node's) 5 s keep-alive timeout. */
const IDLE_SOCKET_MS = 3000;

/** HTTPS with a client certificate over kept-alive connections. Rejects when a connection drops. */
export function keepAliveClient(url: string, material: ClientMaterial, options: { maxSockets?: number; timeoutMs?: number } = {}): KeepAliveClient {
  const target = new URL(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 1, cert: material.cert, key: material.key, ca: material.ca });
  // An idle socket is closed before the server's keep-alive timeout (5 s) could close it under a
  // request being sent: Node 20's agent ignores the server's `Keep-Alive: timeout=5` unless given a
  // timeout of its own, which would then also cut requests on reused sockets. A reused socket
  // gets the request timeout back.
  const keepSocketAlive = agent.keepSocketAlive.bind(agent) as unknown as (socket: Socket) => boolean;
  (agent as unknown as { keepSocketAlive: (socket: Socket) => boolean }).keepSocketAlive = (socket) => {
    const keep = keepSocketAlive(socket);
    socket.setTimeout(IDLE_SOCKET_MS);
    return keep;
  };
  const reuseSocket = agent.reuseSocket.bind(agent);
  agent.reuseSocket = (socket, request) => {
    (socket as Socket).setTimeout(timeoutMs);
    reuseSocket(socket, request);
  };
  const sockets = new WeakSet<Socket>();
  let opened = 0;
  return {
    send(req: RawRequest = {}): Promise<RawResponse> {
      const body = req.body ?? Buffer.alloc(0);
      return new Promise<RawResponse>((resolve, reject) => {
        const sentAt = Date.now();
        const out = request(target, { method: req.method ?? 'POST', agent, timeout: timeoutMs, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), sentAt, receivedAt: Date.now() }),
          );
        });
        for (const [name, values] of Object.entries(req.headers ?? {})) {
          if (values.length > 0) out.setHeader(name, values.length === 1 ? values[0]! : [...values]);
        }
        out.setHeader('content-length', body.length);
        out.on('socket', (socket: Socket) => {
          if (!sockets.has(socket)) {
            sockets.add(socket);
            opened++;
          }
        });
        out.on('timeout', () => out.destroy(new Error(`No response within ${timeoutMs} ms`)));
        out.on('error', reject);
        out.end(body);
      });
    },
    connections: () => opened,
    close: () => agent.destroy(),
  };
}

// ─── Watching the handler's DynamoDB commands ──────────────────────────────────────────────────

export interface DynamoCall {
  /** The SDK command, e.g. 'QueryCommand', 'PutItemCommand'. */
  readonly command: string;
  /** Every partition key the command names (`pk` of keys, items and key conditions). */
  readonly partitions: readonly string[];
  /** The request as sent, in DynamoDB JSON. */
  readonly input: Record<string, unknown>;
  readonly startedAt: number;
  /** Set when the command settled, after the SDK's retries. */
  endedAt?: number;
  ok?: boolean;
  errorName?: string;
}

/** A write of a recipient's lease record, decoded. */
export interface LeaseWrite {
  readonly version: number;
  readonly entries: readonly (readonly [jti: string, until: number])[];
  readonly ok: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface DynamoWatch {
  readonly calls: readonly DynamoCall[];
  /** Commands that named this partition. */
  touching(pk: string): DynamoCall[];
  count(pk: string): number;
  /** Settled writes of the lease record of partition `pk`, in the order they were issued. */
  leaseWrites(pk: string): LeaseWrite[];
  stop(): void;
}

let watchSerial = 0;

/**
 * Records every command sent through `client`, whoever sends it (the poll handler, the registry,
 * the store). Sits in the build step, outside the SDK's retries: one record per command, with its
 * final outcome.
 */
export function watchDynamo(client: DynamoDBDocumentClient): DynamoWatch {
  const calls: DynamoCall[] = [];
  const counts = new Map<string, number>();
  const name = `setpollWatch${++watchSerial}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // By the build step the document client has marshalled the input to DynamoDB JSON.
      const input = (args as { input?: Record<string, unknown> }).input ?? {};
      const call: DynamoCall = { command: String(context.commandName ?? ''), partitions: partitionsOf(input), input, startedAt: Date.now() };
      calls.push(call);
      for (const pk of call.partitions) counts.set(pk, (counts.get(pk) ?? 0) + 1);
      try {
        const out = await next(args);
        call.ok = true;
        return out;
      } catch (error) {
        call.ok = false;
        call.errorName = (error as Error)?.name;
        throw error;
      } finally {
        call.endedAt = Date.now();
      }
    },
    { step: 'build', name, priority: 'low' },
  );
  return {
    calls,
    touching: (pk) => calls.filter((c) => c.partitions.includes(pk)),
    count: (pk) => counts.get(pk) ?? 0,
    leaseWrites: (pk) =>
      calls.flatMap((c): LeaseWrite[] => {
        if (c.endedAt === undefined || !/^Put(Item)?Command$/.test(c.command)) return [];
        const item = fromDynamoItem(c.input.Item) as { pk?: unknown; sk?: unknown; v?: unknown; l?: unknown };
        if (item?.pk !== pk || item.sk !== LEASE_SK) return [];
        const entries = (item.l as [string, number][]).map(([jti, until]) => [jti, until] as const);
        return [{ version: Number(item.v), entries, ok: c.ok === true, startedAt: c.startedAt, endedAt: c.endedAt }];
      }),
    stop: () => void client.middlewareStack.remove(name),
  };
}

function partitionsOf(input: unknown): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        const s = (inner as { S?: unknown } | null)?.S;
        if ((key === 'pk' || key === ':pk') && typeof s === 'string') found.add(s);
        else walk(inner);
      }
    }
  };
  walk(input);
  return [...found];
}

// ─── The tests' own table client ───────────────────────────────────────────────────────────────

export type Item = Record<string, unknown>;

/**
 * The tests' own client for one table in DynamoDB Local: plain DynamoDB JSON over a kept-alive
 * HTTP connection, unseen by watches and faults on the stack's client. The SDK spends ~3 ms of CPU
 * on each call, which would dominate checks made after every request; DynamoDB Local does not
 * verify signatures, so a fixed Authorization header does.
 */
export interface TableClient {
  /** Every item of a partition, strongly consistent, in sort-key order. */
  query(pk: string): Promise<Item[]>;
  put(item: Item): Promise<void>;
  delete(pk: string, sk: string): Promise<void>;
  /** Puts in batches of 25. */
  putAll(items: readonly Item[]): Promise<void>;
  close(): void;
}

export function localTable(endpoint: string, tableName: string): TableClient {
  const url = new URL(endpoint);
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const call = (operation: string, body: object): Promise<Record<string, unknown>> => {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': payload.length,
            'x-amz-target': `DynamoDB_20120810.${operation}`,
            'x-amz-date': '20260101T000000Z',
            authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) resolve(JSON.parse(text) as Record<string, unknown>);
            else reject(new Error(`DynamoDB Local ${operation} answered ${res.statusCode}: ${text}`));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
  return {
    async query(pk) {
      const items: Item[] = [];
      let start: unknown;
      do {
        const out = await call('Query', {
          TableName: tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': { S: pk } },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        });
        items.push(...(out.Items as unknown[]).map(fromDynamoItem));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async put(item) {
      await call('PutItem', { TableName: tableName, Item: toDynamoItem(item) });
    },
    async delete(pk, sk) {
      await call('DeleteItem', { TableName: tableName, Key: { pk: { S: pk }, sk: { S: sk } } });
    },
    async putAll(items) {
      const batches: Item[][] = [];
      for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
      await Promise.all(
        batches.map(async (batch) => {
          let requests: unknown = batch.map((item) => ({ PutRequest: { Item: toDynamoItem(item) } }));
          while (Array.isArray(requests) && requests.length > 0) {
            const out = await call('BatchWriteItem', { RequestItems: { [tableName]: requests } });
            requests = (out.UnprocessedItems as Record<string, unknown> | undefined)?.[tableName];
          }
        }),
      );
    },
    close: () => agent.destroy(),
  };
}

/** Puts a partition back to `wanted`: deletes every other item, puts every missing or changed one. */
export async function restorePartition(table: TableClient, pk: string, wanted: readonly Item[], current?: readonly Item[]): Promise<number> {
  const now = current ?? (await table.query(pk));
  const want = new Map(wanted.map((item) => [String(item.sk), item]));
  const have = new Map(now.map((item) => [String(item.sk), item]));
  const writes: Promise<unknown>[] = [];
  for (const sk of have.keys()) if (!want.has(sk)) writes.push(table.delete(pk, sk));
  for (const [sk, item] of want) if (!have.has(sk) || !sameItem(have.get(sk)!, item)) writes.push(table.put(item));
  await Promise.all(writes);
  return writes.length;
}

function sameItem(a: Item, b: Item): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

/** A plain value as a DynamoDB attribute value. */
function toAttribute(value: unknown): unknown {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null || value === undefined) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  return { M: toDynamoItem(value as Item) };
}

export function toDynamoItem(item: Item): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toAttribute(v)]));
}

/** A DynamoDB attribute value (`{S: …}`, `{N: …}`, `{L: […]}`, `{M: {…}}`) as a plain value. */
function fromAttribute(value: unknown): unknown {
  const v = value as Record<string, unknown>;
  if ('S' in v) return v.S;
  if ('N' in v) return Number(v.N);
  if ('BOOL' in v) return v.BOOL;
  if ('NULL' in v) return null;
  if ('L' in v) return (v.L as unknown[]).map(fromAttribute);
  if ('M' in v) return fromDynamoItem(v.M);
  throw new TypeError(`Unexpected attribute value ${JSON.stringify(value)}`);
}

/** An item in DynamoDB JSON (attribute name → attribute value) as plain values. */
export function fromDynamoItem(item: unknown): Item {
  return Object.fromEntries(Object.entries((item ?? {}) as Record<string, unknown>).map(([k, v]) => [k, fromAttribute(v)]));
}

/** DynamoDB's sort-key order: by the UTF-8 bytes. */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ─── The request model ──────────────────────────────────────────────────────────────────────────

/**
 * Authorization header variants. `ok` is what RFC 6750 and docs/poll-api.md promise: any case of the
 * scheme, one space, the recipient's own certificate-bound token; surrounding whitespace is not
 * part of a field value (RFC 9110 §5.5). Everything else is 401 invalid_token.
 */
export const AUTH_VARIANTS = {
  'Bearer': { ok: true, make: (own: string) => [`Bearer ${own}`] },
  'lower-case scheme': { ok: true, make: (own: string) => [`bearer ${own}`] },
  'upper-case scheme': { ok: true, make: (own: string) => [`BEARER ${own}`] },
  'surrounding whitespace': { ok: true, make: (own: string) => [` \tBearer ${own} \t`] },
  'missing': { ok: false, make: () => [] },
  'empty': { ok: false, make: () => [''] },
  'scheme only': { ok: false, make: () => ['Bearer'] },
  'Basic': { ok: false, make: () => ['Basic dHBwLWFscGhhOnNlY3JldA=='] },
  'twice': { ok: false, make: (own: string) => [`Bearer ${own}`, `Bearer ${own}`] },
  'a list': { ok: false, make: (own: string) => [`Bearer ${own}, Basic dDpz`] },
  'tab after scheme': { ok: false, make: (own: string) => [`Bearer\t${own}`] },
  'another client\'s token': { ok: false, make: (_own: string, other: string) => [`Bearer ${other}`] },
  'tampered signature': { ok: false, make: (own: string) => [`Bearer ${tamper(own, own.length - 12)}`] },
  'tampered claims': { ok: false, make: (own: string) => [`Bearer ${tamper(own, own.indexOf('.') + 12)}`] },
  'padded token': { ok: false, make: (own: string) => [`Bearer ${own}=`] },
  'three dots': { ok: false, make: () => ['Bearer a.b.c'] },
  'long junk': { ok: false, make: () => [`Bearer ${'x'.repeat(6000)}`] },
} as const satisfies Record<string, { ok: boolean; make: (own: string, other: string) => string[] }>;
export type AuthVariantName = keyof typeof AUTH_VARIANTS;

function tamper(token: string, at: number): string {
  const c = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + c + token.slice(at + 1);
}

/** A random Authorization value (any bytes a header may carry): never a valid credential. */
export interface JunkAuth {
  readonly junk: string;
}
export type AuthVariant = AuthVariantName | JunkAuth;

export function authorizationValues(variant: AuthVariant, own: string, other: string): string[] {
  return typeof variant === 'string' ? AUTH_VARIANTS[variant].make(own, other) : [variant.junk];
}

/**
 * The poll API docs' 401 challenge: with no bearer token at all (no Authorization header, or one that
 * does not start with the Bearer scheme name, RFC 6750 §3.1) it carries no error code.
 */
export function expectedChallenge(values: readonly string[]): string {
  const seen = headerAsSeen(values);
  return seen !== undefined && /^bearer(\s|$)/i.test(seen) ? 'Bearer realm="setpoll", error="invalid_token"' : 'Bearer realm="setpoll"';
}

const TYPE_415 = 'Content-Type must be application/json';
const CHARSET_415 = 'The only supported charset is UTF-8';

/** Content-Type header variants (values as sent), with the documented answer: accepted, or the 415 description. */
export const CONTENT_TYPES: readonly (readonly [values: readonly string[], answer: 'ok' | typeof TYPE_415 | typeof CHARSET_415])[] = [
  [['application/json'], 'ok'],
  [['Application/JSON'], 'ok'],
  [['application/json; charset=utf-8'], 'ok'],
  [['application/json;charset=UTF-8'], 'ok'],
  [['application/json; charset="utf-8"'], 'ok'],
  [['application/json; charset=utf8'], 'ok'],
  [['application/json ; charset=utf-8'], 'ok'],
  [['application/json; foo=bar'], 'ok'],
  [['application/json;'], 'ok'],
  [['  application/json\t'], 'ok'],
  [[], TYPE_415],
  [[''], TYPE_415],
  [['text/plain'], TYPE_415],
  [['text/json'], TYPE_415],
  [['application/jsonp'], TYPE_415],
  [['application/x-www-form-urlencoded'], TYPE_415],
  [['application/merge-patch+json'], TYPE_415],
  [['*/*'], TYPE_415],
  [['application/*'], TYPE_415],
  [['application /json'], TYPE_415],
  [['application/json, text/plain'], TYPE_415],
  [['application/json', 'application/json'], TYPE_415],
  [['application/json; charset=iso-8859-1'], CHARSET_415],
  [['application/json; charset=utf-16'], CHARSET_415],
  [['application/json; charset=latin1'], CHARSET_415],
  [["application/json; charset='utf-8'"], CHARSET_415],
  [['application/json; charset=utf-8; charset=us-ascii'], CHARSET_415],
];

/** One generated request. Header values are as sent; the body is bytes. */
export interface FuzzRequest {
  readonly method: string;
  readonly auth: AuthVariant;
  /** Index into CONTENT_TYPES. */
  readonly contentType: number;
  readonly interactionId: readonly string[];
  readonly contentLanguage: readonly string[];
  readonly body: Buffer;
}

export interface PollLimits {
  readonly maxRequestBytes: number;
  readonly maxAnswers: number;
  readonly maxEvents: number;
}

/** A request the endpoint accepts, as the model reads it. */
export interface AcceptedPoll {
  readonly maxEvents: number | undefined;
  /** Distinct, in order of first appearance. */
  readonly ack: readonly string[];
  readonly setErrs: readonly (readonly [jti: string, error: { err: string; description?: string }])[];
  /** The Content-Language the handler sees, if any. */
  readonly lang: string | undefined;
}

export type Verdict =
  | {
      readonly kind: 'reject';
      readonly status: number;
      readonly err: string;
      /** The poll API docs' descriptions for what is wrong; the answer names one of them. */
      readonly descriptions: readonly string[];
      /** Names a jti with a lone surrogate, which the docs do not mention: a 400 may describe that in its own words. */
      readonly anyDescription: boolean;
    }
  | {
      readonly kind: 'accept';
      readonly poll: AcceptedPoll;
      /**
       * Names a jti that is not well-formed UTF-16 (a lone surrogate). No SET can carry such a jti,
       * so a 400 is as right as a 200; a 200 must act on no other SET.
       */
      readonly mayReject: boolean;
    };

export const INVALID_TOKEN_DESCRIPTION = 'The access token is missing, malformed, expired or not valid here';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A header as the handler sees it: each line's value without surrounding whitespace, repeats joined by commas. */
export function headerAsSeen(values: readonly string[]): string | undefined {
  return values.length === 0 ? undefined : values.map((v) => v.replace(/^[ \t]+|[ \t]+$/g, '')).join(',');
}

/** The poll API docs' answer to a request: method, token, media type, size, UTF-8, JSON, then the members. */
export function judge(req: FuzzRequest, limits: PollLimits): Verdict {
  const reject = (status: number, err: string, ...descriptions: string[]): Verdict => ({ kind: 'reject', status, err, descriptions, anyDescription: false });
  if (req.method !== 'POST') return reject(405, 'method_not_allowed', 'Only POST is allowed on this resource');
  if (typeof req.auth !== 'string' || !AUTH_VARIANTS[req.auth].ok) return reject(401, 'invalid_token', INVALID_TOKEN_DESCRIPTION);
  const [, contentType] = CONTENT_TYPES[req.contentType]!;
  if (contentType !== 'ok') return reject(415, 'unsupported_media_type', contentType);
  if (req.body.length > limits.maxRequestBytes) return reject(413, 'payload_too_large', `The request body must be at most ${limits.maxRequestBytes} bytes`);
  if (req.body.length === 0) return reject(400, 'invalid_request', 'The request body must be a JSON object');
  let text: string;
  try {
    text = utf8.decode(req.body);
  } catch {
    return reject(400, 'invalid_request', 'The request body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return reject(400, 'invalid_request', 'The request body is not valid JSON');
  }
  const violations = pollBodyViolations(parsed, limits.maxAnswers);
  const lone = namesLoneSurrogate(parsed);
  if (violations.length > 0) return { kind: 'reject', status: 400, err: 'invalid_request', descriptions: violations, anyDescription: lone };

  const body = parsed as { maxEvents?: number | null; ack?: string[] | null; setErrs?: Record<string, { err: string; description?: string | null }> | null };
  const ack = [...new Set(body.ack ?? [])];
  const setErrs = Object.entries(body.setErrs ?? {}).map(
    ([jti, e]) => [jti, e.description === undefined || e.description === null ? { err: e.err } : { err: e.err, description: cutDescription(e.description) }] as const,
  );
  return { kind: 'accept', poll: { maxEvents: body.maxEvents ?? undefined, ack, setErrs, lang: headerAsSeen(req.contentLanguage) }, mayReject: lone };
}

/** docs/poll-api.md: "a longer description is stored cut to 256 characters" (UTF-16 code units; a surrogate pair is kept whole or dropped). */
function cutDescription(text: string): string {
  if (text.length <= 256) return text;
  const cut = text.slice(0, 256);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, 255) : cut;
}

/** docs/poll-api.md: the near-miss rule. The members a name is a near-miss of (empty: a member, or ignored). */
function nearMisses(name: string, defined: readonly string[]): string[] {
  const norm = (n: string) => n.toLowerCase().replace(/[\s_.-]/g, '');
  if (defined.includes(name)) return [];
  return defined.filter((d) => distance(norm(name), norm(d)) <= (norm(d).length <= 5 ? 1 : 2));
}

/** Whether an ack entry or a setErrs key is a string with a lone surrogate. */
function namesLoneSurrogate(body: unknown): boolean {
  if (!isObject(body)) return false;
  const acks = Array.isArray(body.ack) ? body.ack : [];
  const keys = isObject(body.setErrs) ? Object.keys(body.setErrs) : [];
  return [...acks, ...keys].some((jti) => typeof jti === 'string' && !isWellFormed(jti));
}

const MEMBERS = ['maxEvents', 'returnImmediately', 'ack', 'setErrs'];
const SET_ERR_MEMBERS = ['err', 'description'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isJti = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 128;

/**
 * Every rule of docs/poll-api.md that a parsed body breaks, as the 400 description the
 * docs name. Empty when the body is a valid poll request.
 */
export function pollBodyViolations(body: unknown, maxAnswers: number): string[] {
  if (!isObject(body)) return ['The request body must be a JSON object'];
  const out: string[] = [];
  for (const key of Object.keys(body)) for (const meant of nearMisses(key, MEMBERS)) out.push(`Unknown member ${JSON.stringify(key.slice(0, 64))}: did you mean ${JSON.stringify(meant)}?`);
  // null is omitted.
  const [maxEvents, returnImmediately, ack, setErrs] = MEMBERS.map((m) => body[m] ?? undefined);
  if (maxEvents !== undefined && !(typeof maxEvents === 'number' && Number.isInteger(maxEvents) && maxEvents >= 0)) out.push('maxEvents must be a non-negative integer');
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean') out.push('returnImmediately must be a boolean');
  let acks: string[] = [];
  if (ack !== undefined) {
    if (!Array.isArray(ack)) out.push('ack must be an array of jti strings');
    else if (!ack.every(isJti)) out.push('ack entries must be strings of 1 to 128 characters');
    else acks = [...new Set(ack)];
  }
  const reported = new Set<string>();
  if (setErrs !== undefined) {
    if (!isObject(setErrs)) out.push('setErrs must be an object keyed by jti');
    else {
      for (const [jti, value] of Object.entries(setErrs)) {
        reported.add(jti);
        if (!isJti(jti)) out.push('setErrs keys must be jti strings of 1 to 128 characters');
        if (!isObject(value)) {
          out.push('Each setErrs entry must be an object with err and description');
          continue;
        }
        for (const key of Object.keys(value)) {
          for (const meant of nearMisses(key, SET_ERR_MEMBERS)) out.push(`Unknown setErrs member ${JSON.stringify(key.slice(0, 64))}: did you mean ${JSON.stringify(meant)}?`);
        }
        const [err, description] = SET_ERR_MEMBERS.map((m) => value[m] ?? undefined);
        if (typeof err !== 'string' || err.length < 1 || err.length > 40) out.push('setErrs err must be a string of 1 to 40 characters');
        if (description !== undefined && typeof description !== 'string') out.push('setErrs description must be a string');
      }
    }
  }
  if (acks.length + reported.size > maxAnswers) out.push(`ack and setErrs may name at most ${maxAnswers} SETs in one request`);
  if (acks.some((jti) => reported.has(jti))) out.push('A jti cannot be both acknowledged and reported in setErrs');
  return out;
}

/** No lone surrogates (String.prototype.isWellFormed, which ES2023 typings do not declare). */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** `x-fapi-interaction-id` of the response: the request's own value when it is 1–128 printable ASCII, else a new UUID. */
export function expectedInteractionId(values: readonly string[]): string | RegExp {
  const seen = headerAsSeen(values);
  return seen !== undefined && /^[\x21-\x7e]{1,128}$/.test(seen) ? seen : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
}

// ─── What an accepted poll does to a known queue ────────────────────────────────────────────────

export interface SeededSet {
  readonly jti: string;
  readonly set: string;
  /** The queued item as stored. */
  readonly item: Item;
}

export interface PollEffect {
  /** The response body. */
  readonly body: { sets: Record<string, string>; moreAvailable: boolean };
  /** The jtis it leases, in delivery order. */
  readonly leased: readonly string[];
  /** The partition afterwards, lease record and error records aside. */
  readonly queued: readonly Item[];
  /** Error records it writes (their `at` is the server's clock). */
  readonly records: readonly Item[];
}

/**
 * An accepted poll of a queue holding exactly `seeds` (no leases, none expired): acks and setErrs
 * first, then the oldest deliverable SETs up to maxEvents (capped by the server), with
 * moreAvailable telling whether deliverable SETs remain.
 */
export function expectedEffect(seeds: readonly SeededSet[], poll: AcceptedPoll, limits: PollLimits): PollEffect {
  const acked = new Set(poll.ack);
  const reported = new Map(poll.setErrs);
  const ordered = [...seeds].sort((a, b) => byUtf8(a.jti, b.jti));
  const deliverable = ordered.filter((s) => !acked.has(s.jti) && !reported.has(s.jti));
  const limit = Math.min(poll.maxEvents ?? limits.maxEvents, limits.maxEvents);
  const picked = deliverable.slice(0, limit);
  const lang = poll.lang ? poll.lang.slice(0, 64) : undefined;
  return {
    body: { sets: Object.fromEntries(picked.map((s) => [s.jti, s.set])), moreAvailable: deliverable.length > picked.length },
    leased: picked.map((s) => s.jti),
    queued: deliverable.map((s) => s.item),
    records: ordered.flatMap((s) => {
      const error = reported.get(s.jti);
      if (!error) return [];
      return [
        {
          pk: s.item.pk,
          sk: `R#${s.jti}`,
          jti: s.jti,
          state: 'errored',
          err: error.err,
          ...(error.description === undefined ? {} : { description: error.description }),
          ...(lang ? { lang } : {}),
          att: 0,
          set: s.set,
          ttl: s.item.ttl,
        },
      ];
    }),
  };
}

// ─── Arbitraries ────────────────────────────────────────────────────────────────────────────────

const char = (from: number, to: number): fc.Arbitrary<string> => fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
/** Characters Node lets a header value carry: HTAB, visible ASCII, space, obs-text. */
const headerChar = fc.oneof(char(0x20, 0x7e), fc.constant('\t'), char(0x80, 0xff));
const printable = char(0x21, 0x7e);
/**
 * Any code point but a lone surrogate: ASCII, control characters, the rest of the BMP, astral
 * planes. (fast-check's 'binary' unit does the same, but maps all of Unicode each time a string
 * arbitrary is built: about a second per test file.)
 */
const anyChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: char(0x20, 0x7e) },
  { weight: 1, arbitrary: char(0, 0x1f) },
  { weight: 3, arbitrary: char(0x80, 0xd7ff) },
  { weight: 1, arbitrary: char(0xe000, 0xffff) },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
);
const json = (value: unknown): string => JSON.stringify(value);

/** jtis with a lone surrogate: no SET can carry one (its key cannot be UTF-8). DynamoDB Local stores `?` for the surrogate. */
export const LONE_SURROGATES = ['\ud800', '\udfff', '\ud83d', '\udc00', 'x\ud800', 'x\udfff'] as const;

/** Strings a jti slot may hold: the seeded jtis (so a wrongly applied ack would show), and hostile ones. */
export function jtiArb(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...seeds) },
    { weight: 2, arbitrary: fc.string({ unit: anyChar, minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
    { weight: 1, arbitrary: fc.string({ unit: char(0, 0x1f), minLength: 1, maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom('', 'j'.repeat(128), 'j'.repeat(129), '\u{1F600}'.repeat(64), '\u{1F600}'.repeat(65), 'é'.repeat(128)) },
  );
}

/** `arb` once in `every` draws, else undefined (fc.option's `freq` is the other way round: how rarely it is absent). */
function rarely<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Deeply nested JSON, arrays or objects: mostly up to 100 levels, sometimes up to 20,000. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 2, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }) }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

/** JSON text of values of every type, for members given the wrong one. */
const anyJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(json) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.constantFrom('1e400', '-1e400', '-0', '123456789012345678901234567890', '0.1e-999', '"\\u0000"', '"\\ud800"') },
);

const maxEventsText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 12 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('100', '101', '1e2', '1.0', '-0', '0e0', '1e-400', '-1e-400', '1e21', '1e300', '9007199254740993', '123456789012345678901234567890'),
  },
  { weight: 5, arbitrary: fc.constantFrom('-1', '0.5', '1e400', '-1e400', '"1"', 'true', 'null', '[]', '{}', '[1]', '-1e-7', '1.0000000001') },
  { weight: 2, arbitrary: anyJsonText },
);

const returnImmediatelyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('true', 'false') },
  { weight: 4, arbitrary: fc.constantFrom('"true"', '1', '0', 'null', '[]', '{}', '"false"') },
);

function ackText(jti: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const entry = fc.oneof({ weight: 20, arbitrary: jti.map(json) }, { weight: 1, arbitrary: anyJsonText });
  return fc.oneof(
    { weight: 10, arbitrary: fc.array(entry, { maxLength: 4 }).map((entries) => `[${entries.join(',')}]`) },
    { weight: 1, arbitrary: fc.oneof(anyJsonText, jti.map(json)) },
  );
}

const errText: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.string({ unit: anyChar, minLength: 1, maxLength: 40 }).map(json) },
  { weight: 3, arbitrary: fc.constantFrom('', 'e'.repeat(40), 'e'.repeat(41), 'invalid_key', 'e\ud800', '\u0000\u0001').map(json) },
  { weight: 1, arbitrary: anyJsonText },
);

const descriptionText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: anyChar, maxLength: 60 }).map(json) },
  { weight: 2, arbitrary: fc.constantFrom('', 'd'.repeat(256), 'd'.repeat(257), '\u{1F600}'.repeat(128), 'line\nbreak\u0000', '\udc00 lone').map(json) },
  { weight: 1, arbitrary: anyJsonText },
);

/** One setErrs value: mostly {err, description?}, sometimes with extra or prototype-named members, or not an object. */
const setErrValueText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 16,
    arbitrary: fc
      .tuple(fc.option(errText, { nil: undefined, freq: 12 }), fc.option(descriptionText, { nil: undefined, freq: 2 }), rarely(fc.constantFrom('__proto__', 'constructor', 'prototype', 'lang', 'Err'), 8), anyJsonText)
      .map(([err, description, extra, extraValue]) => {
        const members = [
          ...(err === undefined ? [] : [`"err":${err}`]),
          ...(description === undefined ? [] : [`"description":${description}`]),
          ...(extra === undefined ? [] : [`${json(extra)}:${extraValue}`]),
        ];
        return `{${members.join(',')}}`;
      }),
  },
  { weight: 1, arbitrary: anyJsonText },
);

function setErrsText(jti: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.array(fc.tuple(jti, setErrValueText), { maxLength: 2 }).map((entries) => `{${entries.map(([k, v]) => `${json(k)}:${v}`).join(',')}}`) },
    { weight: 1, arbitrary: anyJsonText },
  );
}

const unknownMember = fc.tuple(
  fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'maxevents', 'MaxEvents', 'ack ', '', 'sets', 'toString', 'timeoutSecs', 'acks', 'set_errs'), fc.string({ unit: anyChar, maxLength: 70 })),
  anyJsonText,
);

const separator = fc.constantFrom('', ' ', '\n', '\t', '\r\n ');

/**
 * JSON objects close to a poll request: each member present or not, of the right type or not,
 * with hostile jtis, prototype-named keys, duplicate members (the last wins) and unknown members.
 */
export function nearValidBodyText(seeds: readonly string[]): fc.Arbitrary<string> {
  const key = JSON.stringify(seeds);
  let arb = nearValidCache.get(key);
  if (!arb) nearValidCache.set(key, (arb = buildNearValidBodyText(seeds)));
  return arb;
}

/** Building string arbitraries costs fast-check a reverse mapping of all of Unicode: build once per seed list. */
const nearValidCache = new Map<string, fc.Arbitrary<string>>();

function buildNearValidBodyText(seeds: readonly string[]): fc.Arbitrary<string> {
  const jti = jtiArb(seeds);
  return fc
    .record({
      maxEvents: fc.option(maxEventsText, { nil: undefined, freq: 4 }),
      returnImmediately: fc.option(returnImmediatelyText, { nil: undefined, freq: 4 }),
      ack: fc.option(ackText(jti), { nil: undefined, freq: 4 }),
      setErrs: fc.option(setErrsText(jti), { nil: undefined, freq: 4 }),
      unknown: rarely(unknownMember, 3),
      duplicate: rarely(fc.constantFrom('maxEvents', 'returnImmediately', 'ack', 'setErrs'), 8),
      order: fc.array(fc.nat(), { minLength: 7, maxLength: 7 }),
      sep: separator,
    })
    .map(({ maxEvents, returnImmediately, ack, setErrs, unknown, duplicate, order, sep }) => {
      const members: [string, string][] = [];
      if (maxEvents !== undefined) members.push(['maxEvents', maxEvents]);
      if (returnImmediately !== undefined) members.push(['returnImmediately', returnImmediately]);
      if (ack !== undefined) members.push(['ack', ack]);
      if (setErrs !== undefined) members.push(['setErrs', setErrs]);
      if (unknown !== undefined) members.push(unknown);
      const ranked = members.map((m, i) => [order[i]!, m] as const).sort((a, b) => a[0] - b[0]).map(([, m]) => m);
      // A repeated member: JSON.parse keeps the last; the first copy here is a wrong-typed decoy.
      if (duplicate !== undefined && ranked.some(([k]) => k === duplicate)) ranked.unshift([duplicate, '"decoy"']);
      return `{${sep}${ranked.map(([k, v]) => `${json(k)}:${sep}${v}`).join(`,${sep}`)}${sep}}`;
    });
}

/** Any JSON text, and objects with poll member names holding any JSON values. */
export const arbitraryJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: anyChar }).map(json) },
  {
    weight: 1,
    arbitrary: fc
      .dictionary(fc.oneof(fc.constantFrom('maxEvents', 'returnImmediately', 'ack', 'setErrs', '__proto__', 'constructor', 'prototype'), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 3 }), {
        maxKeys: 4,
      })
      .map(json),
  },
  { weight: 1, arbitrary: deepJson },
);

/** Bytes that are not UTF-8: overlong forms, surrogates (CESU-8), beyond U+10FFFF, truncated and stray bytes. */
const INVALID_UTF8 = [
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xff],
  [0xfe, 0xff],
].map((b) => Buffer.from(b));

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Raw bodies: empty, whitespace, random bytes, truncated JSON, a BOM or two, invalid UTF-8, UTF-16, raw control characters, trailing garbage. */
export function rawBodyArb(seeds: readonly string[]): fc.Arbitrary<Buffer> {
  const text = nearValidBodyText(seeds);
  const bytes = text.map((t) => Buffer.from(t, 'utf8'));
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(Buffer.alloc(0), Buffer.from(' '), Buffer.from('\r\n\t '), Buffer.from('null'), Buffer.from('\u0000')) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
    { weight: 3, arbitrary: fc.tuple(bytes, fc.double({ min: 0, max: 1, noNaN: true })).map(([b, at]) => b.subarray(0, Math.floor(b.length * at))) },
    { weight: 1, arbitrary: bytes.map((b) => Buffer.concat([BOM, b])) },
    { weight: 1, arbitrary: bytes.map((b) => Buffer.concat([BOM, BOM, b])) },
    {
      weight: 3,
      arbitrary: fc.tuple(bytes, fc.constantFrom(...INVALID_UTF8), fc.double({ min: 0, max: 1, noNaN: true })).map(([b, bad, at]) => {
        const cut = Math.floor(b.length * at);
        return Buffer.concat([b.subarray(0, cut), bad, b.subarray(cut)]);
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(text, fc.boolean(), fc.boolean()).map(([t, bigEndian, bom]) => {
        const le = Buffer.from((bom ? '\ufeff' : '') + t, 'utf16le');
        return bigEndian ? le.swap16() : le;
      }),
    },
    { weight: 2, arbitrary: fc.tuple(char(0, 0x1f), fc.constantFrom(...seeds)).map(([c, jti]) => Buffer.from(`{"ack":[${json(jti).slice(0, -1)}${c}"]}`, 'utf8')) },
    { weight: 2, arbitrary: fc.tuple(bytes, fc.constantFrom('x', ' {}', '\u0000', ',', ']', '}')).map(([b, tail]) => Buffer.concat([b, Buffer.from(tail)])) },
    { weight: 1, arbitrary: bytes.map((b) => Buffer.concat([b, Buffer.from(' \n\t\r\n')])) },
  );
}

/** An `x-fapi-interaction-id` as sent: none, a UUID, printable ASCII of 1–128, too long, with spaces or obs-text, or twice. */
export const interactionIdArb: fc.Arbitrary<readonly string[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant([]) },
  { weight: 3, arbitrary: fc.uuid().map((u) => [u]) },
  { weight: 3, arbitrary: fc.string({ unit: printable, minLength: 1, maxLength: 128 }).map((v) => [v]) },
  { weight: 2, arbitrary: fc.string({ unit: headerChar, maxLength: 140 }).map((v) => [v]) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(129), '', ' ', 'a b', '\t', 'é', ` ${'y'.repeat(128)} `).map((v) => [v]) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ unit: printable, minLength: 1, maxLength: 70 }), fc.string({ unit: printable, minLength: 1, maxLength: 70 })).map(([a, b]) => [a, b]) },
);

export const contentLanguageArb: fc.Arbitrary<readonly string[]> = fc.oneof(
  fc.constant([]),
  fc.constantFrom(['en'], ['en-GB'], ['de', 'fr'], [''], ['x'.repeat(100)]),
  fc.string({ unit: headerChar, maxLength: 90 }).map((v) => [v]),
);

export const methodArb: fc.Arbitrary<string> = fc.oneof({ weight: 12, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') });

export const authArb: fc.Arbitrary<AuthVariant> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<AuthVariantName>(...(Object.keys(AUTH_VARIANTS) as AuthVariantName[])) },
  { weight: 1, arbitrary: fc.string({ unit: headerChar, maxLength: 200 }).map((junk): JunkAuth => ({ junk })) },
);

export const contentTypeArb: fc.Arbitrary<number> = fc.nat({ max: CONTENT_TYPES.length - 1 });

/** A request with correct headers around `body`, and a random interaction id. */
export function withBody(body: fc.Arbitrary<Buffer>): fc.Arbitrary<FuzzRequest> {
  return fc.record({ body, interactionId: interactionIdArb }).map(({ body, interactionId }) => ({
    method: 'POST',
    auth: 'Bearer' as const,
    contentType: 0,
    interactionId,
    contentLanguage: [],
    body,
  }));
}

/** Short text for failure messages. */
export function describeRequest(req: FuzzRequest): string {
  const preview = req.body.length > 300 ? `${req.body.subarray(0, 300).toString('utf8')}… (${req.body.length} bytes)` : req.body.toString('utf8');
  return JSON.stringify({ ...req, auth: req.auth, contentType: CONTENT_TYPES[req.contentType]![0], body: preview });
}
