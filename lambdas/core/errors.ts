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
  /** Extra response headers, e.g. WWW-Authenticate or Retry-After. */
  readonly headers: Record<string, string> = {};
}

export { ProgrammerError } from '../shared/programmer-error.ts';

/** 400: the body or a parameter breaks the documented request shape (RFC 8936 §2.4.5). */
export class InvalidRequest extends SetpollError {
  override readonly name = 'InvalidRequest';
  readonly code = 'invalid_request';
  readonly statusCode = 400;
}

/** 401: no usable client identity or token. */
export class InvalidToken extends SetpollError {
  override readonly name = 'InvalidToken';
  readonly code = 'invalid_token';
  readonly statusCode = 401;
  override readonly headers: Record<string, string>;
  /**
   * `tokenSent` false: the request carried no bearer token at all (no Authorization header, or
   * another scheme), and RFC 6750 §3.1 says the challenge SHOULD NOT then carry an error code.
   */
  constructor(message: string, realm: string, options?: ErrorOptions & { readonly tokenSent?: boolean }) {
    super(message, options);
    // RFC 6750 §3: no error_description here, so the header does not help an attacker.
    this.headers = { 'www-authenticate': options?.tokenSent === false ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token"` };
  }
}

/** 401 without a token error: the request carried no client certificate at all. */
export class Unauthenticated extends SetpollError {
  override readonly name = 'Unauthenticated';
  readonly code = 'unauthenticated';
  readonly statusCode = 401;
  override readonly headers: Record<string, string>;
  constructor(message: string, realm: string) {
    super(message);
    this.headers = { 'www-authenticate': `Bearer realm="${realm}"` };
  }
}

/** 403: the caller is known but not allowed (unregistered or revoked certificate). */
export class AccessDenied extends SetpollError {
  override readonly name = 'AccessDenied';
  readonly code = 'access_denied';
  readonly statusCode = 403;
}

/** 403 with RFC 6750 `insufficient_scope`. */
export class InsufficientScope extends SetpollError {
  override readonly name = 'InsufficientScope';
  readonly code = 'insufficient_scope';
  readonly statusCode = 403;
  override readonly headers: Record<string, string>;
  constructor(message: string, realm: string, scope: string) {
    super(message);
    this.headers = { 'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"` };
  }
}

export class NotFound extends SetpollError {
  override readonly name = 'NotFound';
  readonly code = 'not_found';
  readonly statusCode = 404;
}

/** 409: the request conflicts with the current state: a duplicate, or a stale expected version. */
export class Conflict extends SetpollError {
  override readonly name = 'Conflict';
  readonly code = 'conflict';
  readonly statusCode = 409;
}

export class MethodNotAllowed extends SetpollError {
  override readonly name = 'MethodNotAllowed';
  readonly code = 'method_not_allowed';
  readonly statusCode = 405;
  override readonly headers: Record<string, string>;
  constructor(allowed: string) {
    super(`Only ${allowed} is allowed on this resource`);
    this.headers = { allow: allowed };
  }
}

export class PayloadTooLarge extends SetpollError {
  override readonly name = 'PayloadTooLarge';
  readonly code = 'payload_too_large';
  readonly statusCode = 413;
}

export class UnsupportedMediaType extends SetpollError {
  override readonly name = 'UnsupportedMediaType';
  readonly code = 'unsupported_media_type';
  readonly statusCode = 415;
}

/** 429: the caller went over a rate it is allowed; retry after `Retry-After` seconds. */
export class TooManyRequests extends SetpollError {
  override readonly name = 'TooManyRequests';
  readonly code = 'too_many_requests';
  readonly statusCode = 429;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** 503: a dependency failed or was throttled; safe to retry. Nothing was lost. */
export class ServiceUnavailable extends SetpollError {
  override readonly name = 'ServiceUnavailable';
  readonly code = 'temporarily_unavailable';
  readonly statusCode = 503;
  override readonly headers: Record<string, string>;
  constructor(message: string, retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, options);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** The documented error body: the RFC 8935 §2.3 shape, used for every error response. */
export interface ErrorBody {
  err: string;
  description: string;
}
