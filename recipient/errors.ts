/**
 * What can go wrong for a recipient, as classes with a literal `code`, so callers can switch on
 * `error.code` or use instanceof. Two families:
 *
 * - SetVerificationError: one SET is invalid. Its `code` is the RFC 8935 error code the recipient
 *   reports back in `setErrs`; its message is the human description sent with it.
 * - Transport-level errors (token, poll, network, key set, SSF setup): the exchange failed; `retryable` says
 *   whether trying again later can help, which is what the Poller's backoff looks at.
 *
 * Programmer misuse (bad options, maxEvents 0 on the poll path) throws TypeError instead.
 *
 * Every class names itself with a literal `name` (through errorClass): `this.constructor.name`
 * would be the minified class name in an application's bundle.
 */

/** The RFC 8935 §2.3 error codes a recipient reports for an invalid SET. */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed' | 'access_denied';

/** One `setErrs` entry (RFC 8936 §2.4.4). */
export interface SetErr {
  readonly err: string;
  readonly description?: string;
}

/** The server's limits on a `setErrs` entry (docs/poll-api.md): longer is a 400 for the whole poll. */
export const ERR_MAX_LENGTH = 40;
export const DESCRIPTION_MAX_LENGTH = 256;

export abstract class RecipientError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
  /** Whether the same request may succeed later: the Poller backs off and retries these. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

// A mixin's base must take `any[]` (TS2545); the class made from it keeps the base's own constructor.
type RecipientErrorClass = abstract new (...args: any[]) => RecipientError;

/**
 * The base of one error class of the `Family` it extends: its literal `name` and `code`, and whether
 * the Poller retries it. Each exported class extends one, so it stays a class of its own for
 * `instanceof`, with its family's constructor. The annotation tells bundlers a call has no side
 * effects, so an application's bundle can still drop the classes it does not use.
 */
/* @__NO_SIDE_EFFECTS__ */
function errorClass<Family extends RecipientErrorClass, const Name extends string, const Code extends InstanceType<Family>['code']>(
  Family: Family,
  name: Name,
  code: Code,
  retryable = false,
) {
  abstract class RecipientErrorOfFamily extends Family {
    override readonly name = name;
    override readonly code = code;
    override readonly retryable: boolean = retryable;
  }
  return RecipientErrorOfFamily;
}

// ── One SET is invalid ────────────────────────────────────────────────────────────────────────

export abstract class SetVerificationError extends RecipientError {
  abstract override readonly code: SetErrorCode;

  /** The entry for `setErrs`: the description cut to what the server accepts. */
  toSetErr(): SetErr {
    const description = this.message.length > DESCRIPTION_MAX_LENGTH ? `${this.message.slice(0, DESCRIPTION_MAX_LENGTH - 1)}…` : this.message;
    return { err: this.code, description };
  }
}

/** The SET cannot be parsed, or its claims break RFC 8417 or this recipient's rules (typ, iat, jti, events). */
export class MalformedSet extends errorClass(SetVerificationError, 'MalformedSet', 'invalid_request') {}

/** The signature does not verify, or no acceptable key (or algorithm) signed it. */
export class InvalidSetKey extends errorClass(SetVerificationError, 'InvalidSetKey', 'invalid_key') {}

export class InvalidSetIssuer extends errorClass(SetVerificationError, 'InvalidSetIssuer', 'invalid_issuer') {}

export class InvalidSetAudience extends errorClass(SetVerificationError, 'InvalidSetAudience', 'invalid_audience') {}

/** The SET carries no authentication at all (an unsecured JWS, `alg: none`). */
export class SetAuthenticationFailed extends errorClass(SetVerificationError, 'SetAuthenticationFailed', 'authentication_failed') {}

/** The transmitter may not send this SET to this recipient (e.g. an event type it did not subscribe to). */
export class SetAccessDenied extends errorClass(SetVerificationError, 'SetAccessDenied', 'access_denied') {}

// ── The exchange failed ───────────────────────────────────────────────────────────────────────

/** The connection failed, timed out or was aborted before an HTTP answer arrived. */
export class NetworkError extends errorClass(RecipientError, 'NetworkError', 'network_error', true) {}

/**
 * The token endpoint did not issue a token. `error` and `errorDescription` are its RFC 6749 §5.2
 * body; `retryAfterMs` its Retry-After (on a 429 or 5xx only), which the Poller waits at least.
 */
export class TokenRequestFailed extends errorClass(RecipientError, 'TokenRequestFailed', 'token_request_failed') {
  override readonly retryable: boolean;
  /** Retry-After, in milliseconds from when the answer arrived; only set when retryable. */
  readonly retryAfterMs?: number;
  readonly status: number;
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  constructor(message: string, status: number, error?: string, errorDescription?: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.error = error;
    this.errorDescription = errorDescription;
    // A 4xx is configuration (unknown client, scope): retrying cannot fix it.
    this.retryable = status === 429 || status >= 500;
    // Retry-After only means "come back then" on an answer worth retrying.
    if (this.retryable && retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/** What a non-200 poll answer carried. */
export interface PollErrorDetails {
  readonly status: number;
  /** The `err` of the `{err, description}` body, when there was one. */
  readonly err?: string;
  readonly description?: string;
  /** Retry-After, in milliseconds from when the answer arrived. */
  readonly retryAfterMs?: number;
  /** The response's x-fapi-interaction-id: quote it to the transmitter's support. */
  readonly interactionId?: string;
}

/** The transmitter answered a poll with a status other than 200. */
export abstract class PollFailed extends RecipientError implements PollErrorDetails {
  abstract override readonly code: 'poll_rejected' | 'poll_throttled' | 'poll_unavailable';
  readonly status: number;
  readonly err?: string;
  readonly description?: string;
  readonly retryAfterMs?: number;
  readonly interactionId?: string;

  constructor(details: PollErrorDetails) {
    const reason = details.err ? `${details.err}${details.description ? `: ${details.description}` : ''}` : 'no error body';
    super(`The poll endpoint answered HTTP ${details.status} (${reason})`);
    this.status = details.status;
    if (details.err !== undefined) this.err = details.err;
    if (details.description !== undefined) this.description = details.description;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.interactionId !== undefined) this.interactionId = details.interactionId;
  }
}

/** A 4xx other than 429: the request, the token or the certificate is wrong; retrying the same request cannot help. */
export class PollRejected extends errorClass(PollFailed, 'PollRejected', 'poll_rejected') {}

/** 429: too many requests; wait (Retry-After when given) and retry. */
export class PollThrottled extends errorClass(PollFailed, 'PollThrottled', 'poll_throttled', true) {}

/** 5xx: the transmitter failed (setpoll's 503 says nothing was lost); wait and retry. */
export class PollUnavailable extends errorClass(PollFailed, 'PollUnavailable', 'poll_unavailable', true) {}

/**
 * A 200 whose body is not `{"sets": {jti: string}, "moreAvailable"?: boolean}`. Retryable: the SETs
 * it may have leased come back after the lease, and a later poll may be well-formed.
 */
export class MalformedPollResponse extends errorClass(RecipientError, 'MalformedPollResponse', 'malformed_response', true) {}

/**
 * The transmitter's key set could not be fetched or read. Not the SET's fault, so nothing is
 * reported in setErrs: the SET stays unacknowledged and comes back after its lease.
 */
export class KeySetUnavailable extends errorClass(RecipientError, 'KeySetUnavailable', 'key_set_unavailable', true) {}

/** The transmitter's SSF metadata or a stream call was not what SSF 1.0 says. */
export class SsfSetupFailed extends errorClass(RecipientError, 'SsfSetupFailed', 'ssf_setup_failed') {}

/** The application's handler threw (anything but a SetVerificationError): the Poller stops. */
export class HandlerFailed extends errorClass(RecipientError, 'HandlerFailed', 'handler_failed') {
  readonly jti: string;
  constructor(jti: string, cause: unknown) {
    super(`The handler failed on SET ${jti}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.jti = jti;
  }
}
