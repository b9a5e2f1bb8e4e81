/**
 * Errors that cross the HTTP boundary. Each carries a literal `code` (the `err` value of the
 * documented error body), an HTTP `statusCode`, and `expose`: whether its message may be shown
 * to the caller. Anything that is not a SetpollError, or is not exposed, becomes a generic 500.
 *
 * Programmer misuse (bad configuration, wrong arguments to a library call) throws ProgrammerError
 * instead and is never turned into a 4xx.
 *
 * Every class names itself with a literal `name`: `this.constructor.name` would be the minified
 * class name in the Lambda bundle (test/contract/bundle-names.test.ts checks the built bundle).
 */
export abstract class SetpollError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
  abstract readonly statusCode: number;
  readonly expose: boolean = true;
  /** Extra response headers, e.g. WWW-Authenticate or Retry-After: a class that sends one sets it in its constructor. */
  readonly headers: Record<string, string> = {};
}

export { ProgrammerError } from '../shared/programmer-error.ts';

/**
 * The base of one error class: its literal name, `code` and `statusCode`, kept as literal types.
 * Each exported class extends one, so it stays a class of its own for `instanceof`. The annotation
 * tells esbuild a call has no side effects, so a bundle still drops the classes it does not use.
 */
/* @__NO_SIDE_EFFECTS__ */
function httpError<const Name extends string, const Code extends string, const Status extends number>(name: Name, code: Code, statusCode: Status) {
  abstract class HttpError extends SetpollError {
    override readonly name = name;
    readonly code = code;
    readonly statusCode = statusCode;
  }
  return HttpError;
}

/** 400: the body or a parameter breaks the documented request shape (RFC 8936 §2.4.5). */
export class InvalidRequest extends httpError('InvalidRequest', 'invalid_request', 400) {}

/** 401: no usable client identity or token. */
export class InvalidToken extends httpError('InvalidToken', 'invalid_token', 401) {
  /**
   * `tokenSent` false: the request carried no bearer token at all (no Authorization header, or
   * another scheme), and RFC 6750 §3.1 says the challenge SHOULD NOT then carry an error code.
   */
  constructor(message: string, realm: string, options?: ErrorOptions & { readonly tokenSent?: boolean }) {
    super(message, options);
    // RFC 6750 §3: no error_description here, so the header does not help an attacker.
    this.headers['www-authenticate'] = options?.tokenSent === false ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token"`;
  }
}

/** 401 without a token error: the request carried no client certificate at all. */
export class Unauthenticated extends httpError('Unauthenticated', 'unauthenticated', 401) {
  constructor(message: string, realm: string) {
    super(message);
    this.headers['www-authenticate'] = `Bearer realm="${realm}"`;
  }
}

/** 403: the caller is known but not allowed (unregistered or revoked certificate). */
export class AccessDenied extends httpError('AccessDenied', 'access_denied', 403) {}

/** 403 with RFC 6750 `insufficient_scope`. */
export class InsufficientScope extends httpError('InsufficientScope', 'insufficient_scope', 403) {
  constructor(message: string, realm: string, scope: string) {
    super(message);
    this.headers['www-authenticate'] = `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`;
  }
}

export class NotFound extends httpError('NotFound', 'not_found', 404) {}

/** 409: the request conflicts with the current state: a duplicate, or a stale expected version. */
export class Conflict extends httpError('Conflict', 'conflict', 409) {}

export class MethodNotAllowed extends httpError('MethodNotAllowed', 'method_not_allowed', 405) {
  constructor(allowed: string) {
    super(`Only ${allowed} is allowed on this resource`);
    this.headers['allow'] = allowed;
  }
}

export class PayloadTooLarge extends httpError('PayloadTooLarge', 'payload_too_large', 413) {}

export class UnsupportedMediaType extends httpError('UnsupportedMediaType', 'unsupported_media_type', 415) {}

/** 429: the caller went over a rate it is allowed; retry after `Retry-After` seconds. */
export class TooManyRequests extends httpError('TooManyRequests', 'too_many_requests', 429) {
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers['retry-after'] = String(retryAfterSeconds);
  }
}

/** 503: a dependency failed or was throttled; safe to retry. Nothing was lost. */
export class ServiceUnavailable extends httpError('ServiceUnavailable', 'temporarily_unavailable', 503) {
  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.headers['retry-after'] = String(retryAfterSeconds);
  }
}

/** The documented error body: the RFC 8935 §2.3 shape, used for every error response. */
export interface ErrorBody {
  err: string;
  description: string;
}
