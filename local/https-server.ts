/**
 * The local stand-in for API Gateway HTTP API with an mTLS custom domain: a `node:https` server
 * that verifies client certificates against the dev CA, turns each request into a payload format
 * 2.0 event, calls a Lambda-style handler, and writes its result back as API Gateway would.
 *
 * Over 350 lines on purpose: it is one emulation (TLS, route keys, event shape, timeouts, response
 * writing) whose parts only make sense together, and whose every branch mirrors an API Gateway rule.
 */
import { X509Certificate, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@aws-lambda-powertools/logger';
import { INTERACTION_ID_HEADER } from '../lambdas/http/interaction-id.ts';
import type {
  APIGatewayEventClientCertificate,
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';

/** A Lambda handler for HTTP API payload 2.0, as the poll handler is. */
export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2<unknown>>;

/**
 * Routes keyed like API Gateway route keys: `POST /events`, `ANY /events`, `GET /jwks.json`, greedy
 * `ANY /destinations/{proxy+}`, and `$default` for everything else. A method-specific route wins
 * over `ANY` on the same path; an exact path wins over a greedy one.
 */
export type RouteTable = Readonly<Record<string, LambdaHandler>>;

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** The CAs client certificates must chain to (the truststore). */
  readonly caPem: string | readonly string[];
}

export type ServerLogger = Pick<Logger, 'error' | 'warn' | 'debug'>;

export interface HttpsServerOptions {
  /** 0 or undefined: a free port. */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly tls: TlsMaterial;
  /**
   * 'required': a client certificate chaining to `tls.caPem` is demanded in the handshake (the
   * mTLS custom domain). 'none': none is asked for (the public key endpoint).
   * @default 'required'
   */
  readonly clientCertificates?: 'required' | 'none';
  readonly routes: RouteTable;
  /** API Gateway HTTP API's payload limit. @default 10 MiB */
  readonly maxBodyBytes?: number;
  /** API Gateway's integration timeout: past it the caller gets 503. @default 30 000 */
  readonly integrationTimeoutMs?: number;
  /** `requestContext.domainName`. @default 'localhost' */
  readonly domainName?: string;
  /** The Lambda context's function name. @default 'setpoll-local' */
  readonly functionName?: string;
  readonly logger?: ServerLogger;
  /** Called once per request when its response is finished or its connection closed (an access log). */
  readonly onRequestDone?: (entry: AccessLogEntry) => void;
}

/** What an access log line holds: no bodies, no headers but the interaction id, no tokens. */
export interface AccessLogEntry {
  readonly method: string;
  /** The path without its query string. */
  readonly path: string;
  /** The status sent, or undefined when the client went away before the response was finished. */
  readonly status: number | undefined;
  readonly ms: number;
  /** The CN of the client certificate (API Gateway logs its subject DN); the local PKI names it after the client id. */
  readonly clientId: string | undefined;
  /** The response's x-fapi-interaction-id, when the handler set one. */
  readonly interactionId: string | undefined;
}

export interface RunningHttpsServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `https://<domainName>:<port>`: the base URL clients use. */
  readonly origin: string;
  /** Stops listening and closes every connection, long polls included. */
  close(): Promise<void>;
}

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
export const INTEGRATION_TIMEOUT_MS = 30_000;
const ACCOUNT_ID = '000000000000';
const API_ID = 'setpolllocal';
const REGION = 'us-east-1';
/** Bytes of an oversized body read and thrown away so the 413 reaches the client; past it the socket is cut. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export async function startHttpsServer(options: HttpsServerOptions): Promise<RunningHttpsServer> {
  const host = options.host ?? '127.0.0.1';
  const domainName = options.domainName ?? 'localhost';
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const functionName = options.functionName ?? 'setpoll-local';
  const logger = options.logger;
  const routes = { ...options.routes };

  const server = createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: typeof options.tls.caPem === 'string' ? [options.tls.caPem] : [...options.tls.caPem],
      requestCert: options.clientCertificates !== 'none',
      rejectUnauthorized: options.clientCertificates !== 'none',
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      if (options.onRequestDone) reportWhenDone(req, res, options.onRequestDone);
      void serve(req, res).catch((error: unknown) => {
        if (req.destroyed || res.destroyed) {
          logger?.debug('Client went away', { message: (error as Error)?.message });
          res.destroy();
          return;
        }
        logger?.error('Local server failed to answer', { error });
        if (!res.headersSent) writeJson(res, 500, SERVER_ERROR);
        else res.destroy();
      });
    },
  );
  server.on('tlsClientError', (error) => logger?.debug('TLS handshake refused', { code: (error as NodeJS.ErrnoException).code, message: error.message }));

  // A connection's client certificate cannot change (no renegotiation is requested): parse it once
  // per connection, not once per request on a kept-alive connection.
  const peers = new WeakMap<TLSSocket, APIGatewayEventClientCertificate>();
  const describedPeer = (socket: TLSSocket): APIGatewayEventClientCertificate | undefined => {
    const known = peers.get(socket);
    if (known) return known;
    const raw = socket.getPeerCertificate?.(false)?.raw;
    if (!raw) return undefined;
    const described = describeCertificate(raw);
    peers.set(socket, described);
    return described;
  };

  function reportWhenDone(req: IncomingMessage, res: ServerResponse, report: (entry: AccessLogEntry) => void): void {
    const started = performance.now();
    res.once('close', () => {
      const interactionId = res.getHeader(INTERACTION_ID_HEADER);
      const subject = describedPeer(req.socket as TLSSocket)?.subjectDN;
      report({
        method: (req.method ?? 'GET').toUpperCase(),
        path: splitUrl(req.url ?? '/').path,
        status: res.writableFinished ? res.statusCode : undefined,
        ms: Math.round(performance.now() - started),
        clientId: subject ? /(?:^|,)CN=([^,]*)/.exec(subject)?.[1] : undefined,
        interactionId: typeof interactionId === 'string' ? interactionId : undefined,
      });
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = apiGatewayRequestId();
    res.setHeader('apigw-requestid', requestId);
    const received = new Date();
    const body = await readBody(req, maxBodyBytes);
    if (body === 'too_large') {
      res.setHeader('connection', 'close');
      writeJson(res, 413, { err: 'payload_too_large', description: `The request body must be at most ${maxBodyBytes} bytes` });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const path = splitUrl(req.url ?? '/').path;
    const route = matchRoute(routes, method, path);
    if (!route) {
      writeJson(res, 404, { err: 'not_found', description: 'No resource at this path' });
      return;
    }
    const socket = req.socket as TLSSocket;
    const clientCert = describedPeer(socket);
    const event = toApiGatewayEvent({
      method,
      url: req.url ?? '/',
      rawHeaders: req.rawHeaders,
      body,
      httpVersion: req.httpVersion,
      sourceIp: normalizeIp(socket.remoteAddress ?? ''),
      port: (server.address() as AddressInfo | null)?.port ?? 443,
      routeKey: route.routeKey,
      domainName,
      requestId,
      time: received,
      ...(clientCert ? { clientCert } : {}),
    });
    const context = lambdaContext({ functionName, timeoutMs, start: received.getTime() });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let result: APIGatewayProxyResultV2<unknown> | 'timeout';
    try {
      result = await Promise.race([route.handler(event, context), timedOut]);
    } catch (error) {
      // The error stays in the server log; the caller gets the generic body, never a stack.
      logger?.error('Handler threw', { routeKey: route.routeKey, error });
      result = { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify(SERVER_ERROR) };
    } finally {
      clearTimeout(timer);
    }
    if (res.destroyed) return; // the client went away during a long poll
    if (result === 'timeout') {
      logger?.warn('Integration timed out', { routeKey: route.routeKey, timeoutMs });
      writeJson(res, 503, { err: 'temporarily_unavailable', description: 'The service did not answer in time' });
      return;
    }
    writeResult(res, result, logger);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    host,
    port,
    origin: `https://${domainName}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const SERVER_ERROR = { err: 'server_error', description: 'Internal server error' } as const;

/** A greedy route key: `ANY /destinations/{proxy+}` matches every path below `/destinations/`. */
const GREEDY_ROUTE = /^(\S+) (\/(?:[^{}]*\/)?)\{[A-Za-z0-9_]+\+\}$/;

/**
 * Finds the route for a request as API Gateway does, most specific first: `METHOD path`, then
 * `ANY path`, then the greedy route (`METHOD /prefix/{proxy+}`, then `ANY /prefix/{proxy+}`) with
 * the longest prefix, then `$default`.
 */
export function matchRoute(routes: RouteTable, method: string, path: string): { routeKey: string; handler: LambdaHandler } | undefined {
  for (const routeKey of [`${method} ${path}`, `ANY ${path}`]) {
    const handler = routes[routeKey];
    if (handler) return { routeKey, handler };
  }
  let best: { routeKey: string; handler: LambdaHandler; rank: number } | undefined;
  for (const [routeKey, handler] of Object.entries(routes)) {
    const greedy = GREEDY_ROUTE.exec(routeKey);
    if (!greedy) continue;
    const [, routeMethod, prefix] = greedy as unknown as [string, string, string];
    if ((routeMethod !== method && routeMethod !== 'ANY') || !path.startsWith(prefix) || path.length === prefix.length) continue;
    const rank = prefix.length * 2 + (routeMethod === method ? 1 : 0);
    if (!best || rank > best.rank) best = { routeKey, handler, rank };
  }
  if (best) return { routeKey: best.routeKey, handler: best.handler };
  const fallback = routes.$default;
  return fallback ? { routeKey: '$default', handler: fallback } : undefined;
}

/** What the converter needs from an HTTP request; plain data so it can be tested on its own. */
export interface RawRequest {
  readonly method: string;
  /** The request target as received: path and query. */
  readonly url: string;
  /** Node's `rawHeaders`: names and values alternating, duplicates and original case kept. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  /** Node's `httpVersion`, e.g. '1.1'. */
  readonly httpVersion: string;
  readonly sourceIp: string;
  readonly port: number;
  readonly routeKey: string;
  readonly domainName: string;
  readonly requestId: string;
  readonly time: Date;
  /** DER of the verified client certificate. */
  readonly peerCertificate?: Buffer;
  /** The certificate already described (the server reuses one per connection); wins over `peerCertificate`. */
  readonly clientCert?: APIGatewayEventClientCertificate;
}

/**
 * Builds the HTTP API payload format 2.0 event from a request, following API Gateway's rules:
 * header names lowercased and duplicates joined with commas; `Cookie` headers split into
 * `cookies` and left out of `headers`; query parameters decoded and joined with commas; the body
 * as UTF-8 text when it is valid UTF-8, else base64 with `isBase64Encoded`; the mTLS certificate
 * in `requestContext.authentication.clientCert`.
 */
export function toApiGatewayEvent(request: RawRequest): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    const value = request.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter((c) => c.length > 0));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${request.sourceIp}` : request.sourceIp;
  headers['x-forwarded-port'] = String(request.port);
  headers['x-forwarded-proto'] = 'https';
  headers['x-amzn-trace-id'] ??= traceId(request.time);

  const { path, query } = splitUrl(request.url);
  const queryStringParameters: Record<string, string> = {};
  if (query) {
    for (const [key, value] of new URLSearchParams(query)) {
      queryStringParameters[key] = key in queryStringParameters ? `${queryStringParameters[key]},${value}` : value;
    }
  }

  const body = encodeBody(request.body);
  const clientCert = request.clientCert ?? (request.peerCertificate ? describeCertificate(request.peerCertificate) : undefined);
  const domainPrefix = request.domainName.split('.')[0] ?? request.domainName;

  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: path,
    rawQueryString: query,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters } : {}),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      ...(clientCert ? { authentication: { clientCert } } : {}),
      domainName: request.domainName,
      domainPrefix,
      http: {
        method: request.method,
        path,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: request.routeKey,
      stage: '$default',
      time: clfTime(request.time),
      timeEpoch: request.time.getTime(),
    },
    ...(body === undefined ? {} : { body: body.text }),
    isBase64Encoded: body?.base64 ?? false,
  };
}

/** UTF-8 text when the bytes are valid UTF-8, else base64; undefined for an empty body. */
export function encodeBody(bytes: Buffer): { text: string; base64: boolean } | undefined {
  if (bytes.length === 0) return undefined;
  try {
    return { text: utf8.decode(bytes), base64: false };
  } catch {
    return { text: bytes.toString('base64'), base64: true };
  }
}

/** The `clientCert` member API Gateway fills in for an mTLS request. */
export function describeCertificate(der: Buffer): APIGatewayEventClientCertificate {
  const cert = new X509Certificate(der);
  const serialHex = cert.serialNumber.toLowerCase();
  const serial = (serialHex.length % 2 ? `0${serialHex}` : serialHex).match(/../g)?.join(':') ?? serialHex;
  return {
    clientCertPem: `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----`,
    subjectDN: distinguishedName(cert.subject),
    issuerDN: distinguishedName(cert.issuer),
    serialNumber: serial,
    validity: { notBefore: cert.validFrom, notAfter: cert.validTo },
  };
}

/** A Lambda-like invocation context. */
export function lambdaContext(options: { functionName: string; timeoutMs: number; start?: number }): Context {
  const { functionName, timeoutMs } = options;
  const start = options.start ?? Date.now();
  const day = new Date(start).toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = (): never => {
    throw new TypeError('The callback-style context methods are not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, start + timeoutMs - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * Writes a handler's result as API Gateway does for payload 2.0: a structured result (one with
 * `statusCode`) as given, base64 bodies decoded; any other value as a 200 JSON body.
 */
export function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2<unknown>, logger?: ServerLogger): void {
  let structured: APIGatewayProxyStructuredResultV2;
  if (typeof result === 'string') structured = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: result };
  else if (typeof result === 'object' && result !== null && 'statusCode' in result) structured = result as APIGatewayProxyStructuredResultV2;
  else structured = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result ?? null) };

  const status = structured.statusCode ?? 200;
  try {
    if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError(`Invalid statusCode ${String(status)}`);
    const body = structured.body === undefined ? Buffer.alloc(0) : Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8');
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
    if (structured.cookies?.length) headers['set-cookie'] = [...structured.cookies];
    headers['content-length'] = String(body.length);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.statusCode = status;
    res.end(body);
  } catch (error) {
    // API Gateway answers 500 to a malformed integration response.
    logger?.error('Malformed handler result', { error });
    for (const name of res.getHeaderNames()) if (name !== 'apigw-requestid') res.removeHeader(name);
    writeJson(res, 500, SERVER_ERROR);
  }
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Reads the whole body, up to `max` bytes. A larger body (by Content-Length or by what arrives)
 * is read to its end and thrown away so the 413 can be delivered, but only up to MAX_DRAIN_BYTES.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number.isFinite(declared) && declared > max;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (size > MAX_DRAIN_BYTES) req.socket.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too_large' : Buffer.concat(chunks, size)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('The client closed the connection before the body was read'));
    });
  });
}

function splitUrl(url: string): { path: string; query: string } {
  const at = url.indexOf('?');
  return at < 0 ? { path: url, query: '' } : { path: url.slice(0, at), query: url.slice(at + 1) };
}

/** OpenSSL's one-attribute-per-line form (most significant first) as an RFC 4514 string. */
function distinguishedName(subject: string): string {
  return subject.split('\n').filter(Boolean).reverse().join(',');
}

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function traceId(date: Date): string {
  return `Root=1-${Math.floor(date.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** An API Gateway-like request id, e.g. `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64').slice(0, 15) + '=';
}

function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
