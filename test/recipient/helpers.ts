/**
 * Helpers of the recipient tests: a recipient of the test stack over real mTLS, SETs signed the
 * way a transmitter (or a forger) would, a recorder that observes what crosses the wire, and a
 * fault injector that answers chosen requests itself (a 429, a 503, a dropped connection) before
 * the rest reach the real stack.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
import { createRecipient, type Recipient, type RecipientOptions } from '../../recipient/recipient.ts';
import { NetworkError } from '../../recipient/errors.ts';
import type { HttpRequest, HttpResponse, HttpTransport } from '../../recipient/transport.ts';
import type { TestStack } from '../support/local-stack.ts';
export { drain, queued } from '../support/queue.ts';

export const EVENT = { 'https://schemas.openid.net/secevent/caep/event-type/credential-change': { credential_type: 'x509', change_type: 'update' } };

/** The recipient `clientId` of the stack, with its own certificate and the dev CA. */
export function recipientFor(stack: TestStack, clientId: string, options: Partial<RecipientOptions> = {}): Recipient {
  const material = stack.client(clientId);
  return createRecipient({
    pollUrl: stack.config.pollUrl,
    tokenUrl: stack.config.tokenUrl,
    keys: stack.config.jwksUrl,
    clientId,
    identity: { cert: material.cert, key: material.key, ca: material.ca },
    issuer: stack.config.issuer,
    ...options,
  });
}

/** A fresh recipient registered with the stack: its own queue, so tests do not share state. */
export async function freshRecipient(stack: TestStack, prefix: string): Promise<string> {
  const clientId = `${prefix}-${randomUUID().slice(0, 8)}`;
  await stack.mintClient(clientId);
  return clientId;
}

/** The stack's own SET signing key (private JWK), to sign SETs with chosen headers and claims. */
export function stackKey(stack: TestStack): JWK {
  return JSON.parse(readFileSync(stack.signingKeyFile, 'utf8')) as JWK;
}

/** A key the stack does not publish, with its own kid (or the stack's, to forge a lookalike). */
export async function foreignKey(kid = `foreign-${randomUUID()}`): Promise<JWK> {
  const { privateKey } = await generateKeyPair('PS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: 'PS256', kid };
}

export interface SignOptions {
  readonly key: JWK;
  /** Protected header members over `{alg, kid, typ: 'secevent+jwt'}`; undefined removes one. */
  readonly header?: Record<string, unknown>;
}

/** A compact JWS of `claims`, signed with `key`, `typ: secevent+jwt` unless the header says otherwise. */
export async function sign(claims: JWTPayload, options: SignOptions): Promise<string> {
  const header = Object.fromEntries(
    Object.entries({ alg: options.key.alg, kid: options.key.kid, typ: 'secevent+jwt', ...options.header }).filter(([, v]) => v !== undefined),
  );
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(await importJWK(options.key, options.key.alg));
}

/** SET claims as the stack's publisher makes them, for `clientId`, with overrides. */
export function claimsFor(stack: TestStack, clientId: string, overrides: JWTPayload = {}): JWTPayload & { jti: string } {
  return { iss: stack.config.issuer, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), aud: clientId, events: EVENT, ...overrides } as JWTPayload & { jti: string };
}

/** Signs `claims` and queues the SET for `clientId` directly in the store, as a producer may. */
export async function enqueue(stack: TestStack, clientId: string, claims: JWTPayload & { jti: string }, options: SignOptions): Promise<string> {
  const set = await sign(claims, options);
  await stack.store.enqueue(clientId, { jti: claims.jti, set, ttl: Math.floor(Date.now() / 1000) + 3600 });
  return set;
}

export interface Exchange {
  readonly request: HttpRequest;
  /** performance.now() when the request was sent. */
  readonly at: number;
  response?: HttpResponse;
  error?: unknown;
}

/** Observes every exchange through a transport: what the client really sent, and what came back. */
export class Recorder {
  readonly exchanges: Exchange[] = [];

  wrap = (inner: HttpTransport): HttpTransport => async (request) => {
    const exchange: Exchange = { request, at: performance.now() };
    this.exchanges.push(exchange);
    try {
      exchange.response = await inner(request);
      return exchange.response;
    } catch (error) {
      exchange.error = error;
      throw error;
    }
  };

  /** The exchanges with the poll endpoint. */
  polls(): Exchange[] {
    return this.exchanges.filter((e) => e.request.method === 'POST' && !e.request.url.pathname.startsWith('/oauth'));
  }

  /** The JSON bodies sent to the poll endpoint, as sent (the raw text). */
  pollBodies(): string[] {
    return this.polls().map((e) => e.request.body ?? '');
  }
}

/**
 * A scripted answer: a response the fault injector gives instead of the server (or a function
 * making it when the request comes, e.g. for a Retry-After date), a connection error, or 'pass'
 * to let the request through.
 */
export type Fault = HttpResponse | (() => HttpResponse) | 'connection-reset' | 'pass';

/**
 * Answers the first poll requests with `script`, in order, without forwarding them; later requests
 * reach the real stack. A fault injected in front of the real thing, never a stand-in for it.
 */
export function injectPollFaults(script: readonly Fault[]): (inner: HttpTransport) => HttpTransport {
  const remaining = [...script];
  return (inner) => async (request) => {
    const isPoll = request.method === 'POST' && !request.url.pathname.startsWith('/oauth');
    const fault = isPoll ? remaining.shift() : undefined;
    if (fault === undefined || fault === 'pass') return inner(request);
    if (fault === 'connection-reset') throw new NetworkError(`POST ${request.url.origin} failed: ECONNRESET: socket hang up (injected)`);
    return typeof fault === 'function' ? fault() : fault;
  };
}

/**
 * Answers the first token requests with `script`, in order, without forwarding them; later ones
 * reach the stack's authorization server. `injectPollFaults`, for the token endpoint.
 */
export function injectTokenFaults(script: readonly Fault[]): (inner: HttpTransport) => HttpTransport {
  const remaining = [...script];
  return (inner) => async (request) => {
    const isToken = request.method === 'POST' && request.url.pathname.startsWith('/oauth');
    const fault = isToken ? remaining.shift() : undefined;
    if (fault === undefined || fault === 'pass') return inner(request);
    if (fault === 'connection-reset') throw new NetworkError(`POST ${request.url.origin} failed: ECONNRESET: socket hang up (injected)`);
    return typeof fault === 'function' ? fault() : fault;
  };
}

/** An OAuth error answer (RFC 6749 §5.2) from the token endpoint. */
export function oauthErrorAnswer(status: number, error: string, description: string, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error, error_description: description }) };
}

/** An error answer as setpoll sends it. */
export function errorAnswer(status: number, err: string, description: string, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ err, description }) };
}

