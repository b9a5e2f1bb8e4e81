/**
 * One RFC 8936 poll: POST a JSON body with `ack`, `setErrs`, `maxEvents` and `returnImmediately`
 * to the poll endpoint with a bearer token, and read `{sets, moreAvailable}`.
 *
 * `maxEvents: 0` means "acknowledge only, send me nothing" (§2.4.2). Sending it by accident turns
 * a poll into a request that never receives a SET, and dropping it by accident (a client that
 * leaves out zero-valued fields) turns an acknowledgement into a poll that leases SETs nobody
 * reads. So the two are separate methods: poll() refuses 0, acknowledge() always sends it.
 */
import { randomUUID } from 'node:crypto';
import { MalformedPollResponse, PollRejected, PollThrottled, PollUnavailable, type PollErrorDetails, type SetErr } from './errors.ts';
import { parseRetryAfter } from './retry-after.ts';
import type { TokenSource } from './token-source.ts';
import type { HttpTransport } from './transport.ts';

/** What was received and processed since the last request. */
export interface Answers {
  /** jtis of SETs received and processed. */
  readonly ack?: readonly string[];
  /** jti → error, for SETs that failed validation. */
  readonly setErrs?: Readonly<Record<string, SetErr>>;
}

export interface PollOptions extends Answers {
  /** At most this many SETs, a positive integer; omitted: the transmitter's cap. 0 is acknowledge()'s. */
  readonly maxEvents?: number;
  /** true: a short poll. Omitted: the RFC's default, false (a long poll). */
  readonly returnImmediately?: boolean;
  readonly signal?: AbortSignal;
}

export interface PollResult {
  /** jti → compact JWS, in the order the transmitter sent them (setpoll: oldest first). */
  readonly sets: ReadonlyMap<string, string>;
  readonly moreAvailable: boolean;
  /** The response's x-fapi-interaction-id. */
  readonly interactionId?: string;
}

export interface PollClientOptions {
  readonly pollUrl: URL | string;
  readonly tokens: TokenSource;
  /** An mTLS transport presenting the certificate the tokens are bound to. */
  readonly transport: HttpTransport;
  /** Content-Language of the setErrs descriptions (RFC 8936 §2.6). @default 'en' */
  readonly language?: string;
  /** How long to wait for an answer: longer than the transmitter's long-poll wait. @default 60 000 */
  readonly timeoutMs?: number;
}

/** The JSON body of a poll: members the caller set, and only those, in a stable order. */
export function pollRequestBody(options: Answers & { readonly maxEvents?: number; readonly returnImmediately?: boolean }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  // `!== undefined`, never truthiness: 0 and false are values the caller chose.
  if (options.ack !== undefined && options.ack.length > 0) body.ack = [...new Set(options.ack)];
  if (options.setErrs !== undefined && Object.keys(options.setErrs).length > 0) body.setErrs = { ...options.setErrs };
  if (options.maxEvents !== undefined) body.maxEvents = options.maxEvents;
  if (options.returnImmediately !== undefined) body.returnImmediately = options.returnImmediately;
  return body;
}

export class PollClient {
  readonly pollUrl: URL;
  readonly #tokens: TokenSource;
  readonly #transport: HttpTransport;
  readonly #language: string;
  readonly #timeoutMs: number;

  constructor(options: PollClientOptions) {
    this.pollUrl = new URL(options.pollUrl);
    if (this.pollUrl.protocol !== 'https:') throw new TypeError(`pollUrl must be https, got ${this.pollUrl.href}`);
    this.#tokens = options.tokens;
    this.#transport = options.transport;
    this.#language = options.language ?? 'en';
    this.#timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Poll-only or combined acknowledge-and-poll (RFC 8936 §2.4.1, §2.4.3). */
  poll(options: PollOptions = {}): Promise<PollResult> {
    const { maxEvents } = options;
    if (maxEvents !== undefined) {
      if (maxEvents === 0) throw new TypeError('maxEvents 0 acknowledges only and receives nothing: call acknowledge() for that');
      if (!Number.isSafeInteger(maxEvents) || maxEvents < 0) throw new TypeError(`maxEvents must be a positive integer, got ${maxEvents}`);
    }
    if (options.returnImmediately !== undefined && typeof options.returnImmediately !== 'boolean') throw new TypeError('returnImmediately must be a boolean');
    return this.#send(pollRequestBody(options), options.signal);
  }

  /**
   * Acknowledge-only (RFC 8936 §2.4.2): sends the answers with `"maxEvents": 0` and
   * `"returnImmediately": true` (without the latter the transmitter would hold the request for
   * its long-poll wait although no SET can come back).
   */
  acknowledge(answers: Answers & { readonly signal?: AbortSignal }): Promise<PollResult> {
    return this.#send(pollRequestBody({ ...answers, maxEvents: 0, returnImmediately: true }), answers.signal);
  }

  async #send(body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<PollResult> {
    checkAnswers(body);
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (body.setErrs !== undefined) headers['content-language'] = this.#language;
    // A token can be refused before it expires (the server's keys rotated, the clock skewed):
    // one retry with a fresh token, never a loop.
    for (let attempt = 0; ; attempt++) {
      const token = await this.#tokens.token(signal);
      const res = await this.#transport({
        method: 'POST',
        url: this.pollUrl,
        headers: { ...headers, authorization: `Bearer ${token}`, 'x-fapi-interaction-id': randomUUID() },
        body: payload,
        timeoutMs: this.#timeoutMs,
        ...(signal ? { signal } : {}),
      });
      if (res.status === 200) return parseResult(res.body, res.headers['x-fapi-interaction-id']);
      const details = errorDetails(res.status, res.body, res.headers);
      if (res.status === 401 && details.err === 'invalid_token' && attempt === 0) {
        this.#tokens.invalidate(token);
        continue;
      }
      if (res.status === 429) throw new PollThrottled(details);
      if (res.status >= 500) throw new PollUnavailable(details);
      throw new PollRejected(details);
    }
  }
}

/** Misuse a transmitter would answer with a 400 for the whole request: caught before sending. */
function checkAnswers(body: Record<string, unknown>): void {
  const ack = (body.ack ?? []) as unknown[];
  const errs = (body.setErrs ?? {}) as Record<string, unknown>;
  for (const jti of ack) if (typeof jti !== 'string' || jti === '') throw new TypeError('ack entries must be non-empty jti strings');
  for (const [jti, value] of Object.entries(errs)) {
    const entry = value as Partial<SetErr> | null;
    if (typeof entry?.err !== 'string' || entry.err === '') throw new TypeError(`setErrs[${JSON.stringify(jti)}] needs an err code`);
  }
}

function parseResult(text: string, interactionId: string | undefined): PollResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MalformedPollResponse('The poll response is not JSON');
  }
  const { sets, moreAvailable } = (typeof body === 'object' && body !== null ? body : {}) as { sets?: unknown; moreAvailable?: unknown };
  if (typeof sets !== 'object' || sets === null || Array.isArray(sets)) throw new MalformedPollResponse('The poll response has no "sets" object');
  // RFC 8936 §2.3: moreAvailable may be omitted, meaning false.
  if (moreAvailable !== undefined && typeof moreAvailable !== 'boolean') throw new MalformedPollResponse('"moreAvailable" is not a boolean');
  const out = new Map<string, string>();
  for (const [jti, set] of Object.entries(sets)) {
    if (typeof set !== 'string') throw new MalformedPollResponse(`The SET ${JSON.stringify(jti.slice(0, 128))} is not a string`);
    out.set(jti, set);
  }
  return { sets: out, moreAvailable: moreAvailable === true, ...(interactionId ? { interactionId } : {}) };
}

function errorDetails(status: number, text: string, headers: Readonly<Record<string, string>>): PollErrorDetails {
  let body: { err?: unknown; description?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const interactionId = headers['x-fapi-interaction-id'];
  return {
    status,
    ...(typeof body?.err === 'string' ? { err: body.err } : {}),
    ...(typeof body?.description === 'string' ? { description: body.description } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(interactionId ? { interactionId } : {}),
  };
}
