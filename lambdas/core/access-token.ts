import { decodeProtectedHeader, errors, jwtVerify, type CompactJWSHeaderParameters, type CryptoKey, type JWTPayload, type JWTVerifyGetKey, type KeyObject } from 'jose';
import { DEFAULT_POLL_SCOPES, DEFAULT_TOKEN_CLIENT_CLAIM, type ClientClaim } from '../contract.ts';
import type { AuthenticatedClient } from './client-authenticator.ts';
import { InsufficientScope, InvalidToken, ProgrammerError, ServiceUnavailable } from './errors.ts';

export { DEFAULT_POLL_SCOPES, type ClientClaim } from '../contract.ts';

/** Algorithms an access token may use. `none` and HMAC are never accepted. */
export const TOKEN_ALGORITHMS = ['PS256', 'ES256', 'RS256'] as const;

export interface AccessTokenVerifierOptions {
  /** The authorization server's keys: jose's remote JWKS (cached, refetched on unknown kid). */
  readonly keys: JWTVerifyGetKey;
  readonly issuer: string;
  readonly audience: string;
  /** At least one of these must be granted. @default DEFAULT_POLL_SCOPES */
  readonly scopes?: readonly string[];
  /** The claim naming the OAuth client. @default 'client_id' */
  readonly clientClaim?: ClientClaim;
  readonly realm: string;
  /** @default 30 */
  readonly clockToleranceSeconds?: number;
  /** Accept only JWT access tokens typed `at+jwt` (RFC 9068 §2.1; `application/at+jwt` too). @default false */
  readonly requireAtJwt?: boolean;
  /** Refuse a token whose `exp - iat` is longer than this, so a long-lived token stolen once cannot be used for long. @default no limit */
  readonly maxLifetimeSeconds?: number;
  readonly now?: () => number;
}

export interface VerifiedToken {
  readonly clientId: string;
  readonly scopes: readonly string[];
}

/**
 * RFC 6750 §2.1 credentials, `"Bearer" 1*SP b64token`: one or more spaces; the scheme name is
 * case-insensitive (RFC 9110 §11.1).
 */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Verifies an OAuth 2.0 client-credentials access token (a JWT) for one request: signature with an
 * allow-listed algorithm, issuer, audience, exp/nbf/iat, scope, and RFC 8705 certificate binding.
 * Every reason a token is refused gives the caller the same answer: detail stays in our logs.
 */
/** Verified tokens remembered at most; the map is emptied when full (no per-request bookkeeping). */
const MAX_VERIFIED_TOKENS = 1000;

export class AccessTokenVerifier {
  readonly #options: Required<Omit<AccessTokenVerifierOptions, 'now' | 'maxLifetimeSeconds'>> & { now?: () => number; maxLifetimeSeconds?: number };
  /**
   * Compact token -> its verified payload and when it stops being acceptable (epoch ms). A recipient
   * polls with the same token for minutes: its signature, issuer, audience and times are checked once;
   * the binding, client and scope checks below still run on every request. `key` is the JWKS key that
   * verified it: a hit is honoured only while the key set still resolves the token's header to that key.
   */
  readonly #verified = new Map<string, { payload: JWTPayload; until: number; key: CryptoKey | KeyObject | Uint8Array }>();

  constructor(options: AccessTokenVerifierOptions) {
    if (!options.issuer || !options.audience) throw new ProgrammerError('issuer and audience are required');
    if (options.maxLifetimeSeconds !== undefined && !(Number.isInteger(options.maxLifetimeSeconds) && options.maxLifetimeSeconds > 0)) {
      throw new ProgrammerError('maxLifetimeSeconds must be a positive whole number');
    }
    this.#options = {
      scopes: DEFAULT_POLL_SCOPES,
      clientClaim: DEFAULT_TOKEN_CLIENT_CLAIM,
      clockToleranceSeconds: 30,
      requireAtJwt: false,
      ...options,
    };
  }

  /**
   * Starts fetching the authorization server's keys if none are cached, without waiting: called as a
   * request starts, the fetch runs beside the client-certificate lookup instead of after it (on a
   * cold start, one network round trip off the first request). `verify` joins the same fetch.
   * A no-op for local key sets, and while the cached keys are fresh.
   */
  warmUp(): void {
    const remote = this.#options.keys as JWTVerifyGetKey & { readonly fresh?: boolean; reload?: () => Promise<void> };
    if (remote.fresh === false && typeof remote.reload === 'function') remote.reload().catch(() => undefined);
  }

  /** `scopes` overrides the configured set for one endpoint (e.g. the management API's own scopes). */
  async verify(authorization: string | undefined, client: AuthenticatedClient, scopes: readonly string[] = this.#options.scopes): Promise<VerifiedToken> {
    const { realm, keys, issuer, audience, clockToleranceSeconds, clientClaim, now, requireAtJwt, maxLifetimeSeconds } = this.#options;
    const refuse = (reason: string, tokenSent = true) =>
      new InvalidToken('The access token is missing, malformed, expired or not valid here', realm, { cause: reason, tokenSent });

    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (!match) throw refuse('no bearer token', sendsBearer(authorization));

    const token = match[1]!;
    const nowMs = now?.() ?? Date.now();
    const known = this.#verified.get(token);
    let payload: JWTPayload;
    if (known && known.until > nowMs && (await this.#sameKey(token, known.key))) {
      payload = known.payload;
    } else {
      this.#verified.delete(token);
      let key: CryptoKey | KeyObject | Uint8Array;
      try {
        ({ payload, key } = await jwtVerify(token, keys, {
          issuer,
          audience,
          algorithms: [...TOKEN_ALGORITHMS],
          clockTolerance: clockToleranceSeconds,
          requiredClaims: ['exp', 'iat'],
          ...(requireAtJwt ? { typ: 'at+jwt' } : {}),
          ...(now ? { currentDate: new Date(nowMs) } : {}),
        }));
      } catch (error) {
        if (error instanceof errors.JWKSTimeout) throw new ServiceUnavailable('The authorization server keys are unavailable', 5, { cause: error });
        if (error instanceof errors.JOSEError) throw refuse(error.code);
        // Anything else is the JWKS fetch failing (network, TLS, non-200): not the caller's fault.
        throw new ServiceUnavailable('The authorization server keys are unavailable', 5, { cause: error });
      }
      if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000 + clockToleranceSeconds) throw refuse('iat in the future');
      if (maxLifetimeSeconds !== undefined && Number(payload.exp) - Number(payload.iat) > maxLifetimeSeconds) throw refuse('lifetime over the maximum');
      // Acceptable while jwtVerify would accept it: until exp, with the same tolerance.
      if (this.#verified.size >= MAX_VERIFIED_TOKENS) this.#verified.clear();
      this.#verified.set(token, { payload, key, until: (Number(payload.exp) + clockToleranceSeconds) * 1000 });
    }

    // RFC 8705 §3.1: the token is bound to the certificate presented on this very connection.
    const cnf = payload.cnf as Record<string, unknown> | undefined;
    if (typeof cnf !== 'object' || cnf === null || cnf['x5t#S256'] !== client.thumbprint.x5tS256) throw refuse('certificate binding');
    if (payload[clientClaim] !== client.clientId) throw refuse('client mismatch');

    const granted = scopesOf(payload);
    if (!granted.some((s) => scopes.includes(s))) {
      throw new InsufficientScope('The access token lacks a scope this endpoint requires', realm, scopes.join(' '));
    }
    return { clientId: client.clientId, scopes: granted };
  }

  /**
   * Whether the key set still resolves the token's header to the key that verified it. jose's remote
   * set refetches when its copy is older than cacheMaxAge, and imports keys anew on each fetch: a key
   * removed from the JWKS (or any refetch) ends the cache hit, and the token is verified again.
   */
  async #sameKey(token: string, key: CryptoKey | KeyObject | Uint8Array): Promise<boolean> {
    try {
      const [, payload = '', signature = ''] = token.split('.');
      return (await this.#options.keys(decodeProtectedHeader(token) as CompactJWSHeaderParameters, { payload, signature })) === key;
    } catch {
      return false;
    }
  }
}

/** Whether a request tried the Bearer scheme at all (RFC 6750 §3.1: without it, no error code). */
function sendsBearer(authorization: string | undefined): boolean {
  return authorization !== undefined && /^\s*bearer(\s|$)/i.test(authorization);
}

/** RFC 8693 `scope` (space-separated string), or a `scp` array as some servers issue. */
function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  return [];
}
