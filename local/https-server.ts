/**
 * The local stand-in for API Gateway HTTP API with an mTLS custom domain: a `node:https` server
 * that verifies client certificates against the dev CA, turns each request into a payload format
 * 2.0 event, calls a Lambda-style handler, and writes its result back as API Gateway would.
 *
 * Over 350 lines on purpose: it is one emulation (TLS, route keys, event shape, timeouts, response
 * writing) whose parts only make sense together, and whose every branch mirrors an API Gateway rule.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '@aws-lambda-powertools/logger';
import { INTERACTION_ID_HEADER } from '../lambdas/http/interaction-id.ts';
import { MalformedRequestTarget, describeCertificate, requestTarget, toApiGatewayEvent } from './payload-v2.ts';
export { MalformedRequestTarget, describeCertificate, encodeBody, requestTarget, toApiGatewayEvent, type RawRequest } from './payload-v2.ts';
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
        path: decodedPathOrRaw(req.url ?? '/'),
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
    let path: string;
    try {
      // API Gateway matches routes on the decoded path, the one it hands over as rawPath.
      path = requestTarget(req.url ?? '/').rawPath;
    } catch (error) {
      if (!(error instanceof MalformedRequestTarget)) throw error;
      writeJson(res, 400, { err: 'invalid_request', description: error.message });
      return;
    }
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
      ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
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
const GREEDY_ROUTE = /^(\S+) (\/(?:[^{}]*\/)?)\{([A-Za-z0-9_]+)\+\}$/;

export interface MatchedRoute {
  readonly routeKey: string;
  readonly handler: LambdaHandler;
  /** A greedy route's variable, as API Gateway hands it over (`{proxy: 'a/b'}` for `/destinations/a/b`). */
  readonly pathParameters?: Readonly<Record<string, string>>;
}

/**
 * Finds the route for a request as API Gateway does, most specific first: `METHOD path`, then
 * `ANY path`, then the greedy route (`METHOD /prefix/{proxy+}`, then `ANY /prefix/{proxy+}`) with
 * the longest prefix, then `$default`. `path` is the decoded path API Gateway routes on.
 */
export function matchRoute(routes: RouteTable, method: string, path: string): MatchedRoute | undefined {
  for (const routeKey of [`${method} ${path}`, `ANY ${path}`]) {
    const handler = routes[routeKey];
    if (handler) return { routeKey, handler };
  }
  let best: (MatchedRoute & { rank: number }) | undefined;
  for (const [routeKey, handler] of Object.entries(routes)) {
    const greedy = GREEDY_ROUTE.exec(routeKey);
    if (!greedy) continue;
    const [, routeMethod, prefix, variable] = greedy as unknown as [string, string, string, string];
    if ((routeMethod !== method && routeMethod !== 'ANY') || !path.startsWith(prefix) || path.length === prefix.length) continue;
    const rank = prefix.length * 2 + (routeMethod === method ? 1 : 0);
    if (!best || rank > best.rank) best = { routeKey, handler, pathParameters: { [variable]: path.slice(prefix.length) }, rank };
  }
  if (best) return { routeKey: best.routeKey, handler: best.handler, ...(best.pathParameters ? { pathParameters: best.pathParameters } : {}) };
  const fallback = routes.$default;
  return fallback ? { routeKey: '$default', handler: fallback } : undefined;
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

/** The path an access log line names: decoded as routed, or as sent when it does not decode. */
function decodedPathOrRaw(url: string): string {
  try {
    return requestTarget(url).rawPath;
  } catch {
    return url.split('?')[0]!;
  }
}




/** An API Gateway-like request id, e.g. `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(11).toString('base64').slice(0, 15) + '=';
}

function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
