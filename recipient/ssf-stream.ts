/**
 * An SSF 1.0 receiver's setup in one call: read the transmitter's metadata, create (or reuse) this
 * receiver's poll stream, ask for verification, and poll until the verification SET with our state
 * arrives, verified against the metadata's `jwks_uri` and acknowledged. What comes back is a
 * ready Recipient on the stream's `endpoint_url`: `new Poller({ ...receiver, handle })`.
 */
import { randomUUID } from 'node:crypto';
import { SsfSetupFailed } from './errors.ts';
import { createRecipient, type Recipient, type RecipientOptions } from './recipient.ts';
import { ClientCredentialsTokenSource } from './token-source.ts';
import type { VerifiedSet } from './set-verifier.ts';
import { mtlsTransport, type HttpRequest, type HttpTransport } from './transport.ts';

export const SSF_POLL_DELIVERY = 'urn:ietf:rfc:8936';
export const SSF_VERIFICATION_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
/** Manages the stream and polls it (SSF §7; setpoll's poll endpoint accepts it). */
export const SSF_MANAGE_SCOPE = 'ssf.manage';

/** SSF §6 transmitter metadata (the members this library uses). */
export interface SsfMetadata {
  readonly spec_version?: string;
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly delivery_methods_supported: readonly string[];
  readonly configuration_endpoint: string;
  readonly status_endpoint: string;
  readonly verification_endpoint: string;
  readonly [member: string]: unknown;
}

/** SSF §7.1.1 stream configuration (the members this library uses). */
export interface SsfStream {
  readonly stream_id: string;
  readonly events_requested?: readonly string[];
  readonly events_delivered: readonly string[];
  readonly delivery: { readonly method: string; readonly endpoint_url: string };
  readonly [member: string]: unknown;
}

export interface SsfReceiverOptions extends Omit<RecipientOptions, 'pollUrl' | 'keys' | 'issuer' | 'scope' | 'eventTypes'> {
  /** The transmitter's issuer: its metadata is read at `/.well-known/ssf-configuration` inserted after the host. */
  readonly issuer: string;
  /** The event types this receiver asks for (`events_requested`). */
  readonly eventsRequested: readonly string[];
  readonly description?: string;
  /** Echoed in the verification SET. @default a random UUID */
  readonly state?: string;
  /** How long to wait for the verification SET. @default 30 000 */
  readonly verificationTimeoutMs?: number;
}

export interface SsfReceiver extends Recipient {
  readonly metadata: SsfMetadata;
  readonly stream: SsfStream;
  /** The verification SET, verified and acknowledged. */
  readonly verification: VerifiedSet;
}

/** SSF §6.2: `https://h/p` -> `https://h/.well-known/ssf-configuration/p`. */
export function ssfDiscoveryUrl(issuer: string): URL {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/ssf-configuration${path}`, url.origin);
}

/** Discovers, creates or reuses the stream, verifies it, and answers the Recipient that polls it. */
export async function connectSsfStream(options: SsfReceiverOptions): Promise<SsfReceiver> {
  // The management calls' own connection and ssf.manage tokens; the Recipient then has its own.
  const base = mtlsTransport(options.identity);
  const transport = options.wrapTransport ? options.wrapTransport(base) : base;
  const tokens = new ClientCredentialsTokenSource({ tokenUrl: options.tokenUrl, clientId: options.clientId, transport, scope: SSF_MANAGE_SCOPE });
  let receiver: Recipient | undefined;
  try {
    const call = jsonCaller(transport, tokens);
    const metadata = await readMetadata(transport, options.issuer);
    const stream = await ownStream(call, metadata, options);
    receiver = createRecipient({ ...options, pollUrl: stream.delivery.endpoint_url, keys: metadata.jwks_uri, issuer: metadata.issuer, scope: SSF_MANAGE_SCOPE });
    const state = options.state ?? randomUUID();
    await requestVerification(call, metadata, stream.stream_id, state);
    const verification = await awaitVerification(receiver, stream.stream_id, state, options.verificationTimeoutMs ?? 30_000);
    return { ...receiver, metadata, stream, verification };
  } catch (error) {
    receiver?.close();
    throw error;
  } finally {
    base.close();
  }
}

type JsonCall = (method: HttpRequest['method'], url: string, body?: unknown) => Promise<{ status: number; body: unknown; headers: Readonly<Record<string, string>> }>;

function jsonCaller(transport: HttpTransport, tokens: ClientCredentialsTokenSource): JsonCall {
  return async (method, url, body) => {
    const res = await transport({
      method,
      url: new URL(url),
      headers: { authorization: `Bearer ${await tokens.token()}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, body: res.body === '' ? undefined : parse(res.body) };
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function readMetadata(transport: HttpTransport, issuer: string): Promise<SsfMetadata> {
  const url = ssfDiscoveryUrl(issuer);
  const res = await transport({ method: 'GET', url, headers: { accept: 'application/json' } });
  if (res.status !== 200) throw new SsfSetupFailed(`GET ${url.href} answered ${res.status}`);
  const metadata = parse(res.body) as Partial<SsfMetadata>;
  if (metadata.issuer !== issuer) throw new SsfSetupFailed(`The metadata's issuer ${String(metadata.issuer)} is not ${issuer}`);
  if (!Array.isArray(metadata.delivery_methods_supported) || !metadata.delivery_methods_supported.includes(SSF_POLL_DELIVERY)) {
    throw new SsfSetupFailed('The transmitter does not offer poll delivery (urn:ietf:rfc:8936)');
  }
  for (const member of ['jwks_uri', 'configuration_endpoint', 'verification_endpoint'] as const) {
    if (typeof metadata[member] !== 'string') throw new SsfSetupFailed(`The metadata has no ${member}`);
  }
  return metadata as SsfMetadata;
}

/** The receiver's stream: the one it has (its requested events brought up to date), or a new one. */
async function ownStream(call: JsonCall, metadata: SsfMetadata, options: SsfReceiverOptions): Promise<SsfStream> {
  const listed = await call('GET', metadata.configuration_endpoint);
  if (listed.status !== 200 || !Array.isArray(listed.body)) throw new SsfSetupFailed(`Listing streams answered ${listed.status}`);
  const requested = [...options.eventsRequested];
  const existing = listed.body[0] as SsfStream | undefined;
  const res = existing
    ? sameSet(existing.events_requested ?? [], requested)
      ? { status: 200, body: existing }
      : await call('PATCH', metadata.configuration_endpoint, { stream_id: existing.stream_id, events_requested: requested })
    : await call('POST', metadata.configuration_endpoint, {
        events_requested: requested,
        delivery: { method: SSF_POLL_DELIVERY },
        ...(options.description === undefined ? {} : { description: options.description }),
      });
  const stream = res.body as Partial<SsfStream> | undefined;
  if ((res.status !== 200 && res.status !== 201) || typeof stream?.stream_id !== 'string' || stream.delivery?.method !== SSF_POLL_DELIVERY || !stream.delivery.endpoint_url) {
    throw new SsfSetupFailed(`The stream could not be set up: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return stream as SsfStream;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** POST verification_endpoint; after a 429, once more when its Retry-After has passed. */
async function requestVerification(call: JsonCall, metadata: SsfMetadata, streamId: string, state: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const res = await call('POST', metadata.verification_endpoint, { stream_id: streamId, state });
    if (res.status === 204) return;
    const retryAfter = Number(res.headers['retry-after']);
    if (res.status !== 429 || attempt > 0 || !(retryAfter > 0 && retryAfter <= 300)) {
      throw new SsfSetupFailed(`Verification answered ${res.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

/**
 * Polls until the verification SET with `state` arrives and acknowledges it. Other SETs that come
 * first are left unacknowledged: they come back after their lease, for the application's Poller.
 */
async function awaitVerification(receiver: Recipient, streamId: string, state: string, timeoutMs: number): Promise<VerifiedSet> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { sets } = await receiver.client.poll({ returnImmediately: false });
    for (const [jti, compact] of sets) {
      const set = await receiver.verifier.verify(jti, compact);
      const event = set.claims.events[SSF_VERIFICATION_EVENT];
      const subject = set.claims.sub_id as { id?: unknown } | undefined;
      if (event?.state === state && subject?.id === streamId) {
        await receiver.client.acknowledge({ ack: [jti] });
        return set;
      }
    }
  }
  throw new SsfSetupFailed(`No verification SET with state ${state} within ${timeoutMs} ms`);
}
