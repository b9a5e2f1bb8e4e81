/**
 * Verifies one SET (RFC 8417) the way a recipient must before acting on it: the JWS signature
 * against the transmitter's key set, `typ: secevent+jwt`, `iss`, `aud`, `iat` not in the future,
 * `jti` equal to the key it was delivered under, and an `events` object. Each failure becomes the
 * RFC 8935 error code the recipient reports back in `setErrs`:
 *
 * | Failure                                                        | `err`                  |
 * |----------------------------------------------------------------|------------------------|
 * | not a compact JWS, bad JSON, `typ` missing or wrong, `iat`, `jti` or `events` missing or wrong, `iat` in the future, `nbf`/`exp` | `invalid_request` |
 * | signature does not verify, no key with its `kid`/`alg`, an algorithm outside `algorithms` | `invalid_key` |
 * | `iss` missing or not the expected issuer                         | `invalid_issuer`       |
 * | `aud` missing or not naming this recipient                       | `invalid_audience`     |
 * | unsecured JWS (`alg: none`)                                      | `authentication_failed`|
 * | an event type outside `eventTypes` (when given)                  | `access_denied`        |
 * | a Data Provider outside `providers` (when given), or none with `acceptDirect: false` | `access_denied` |
 *
 * A key set that cannot be fetched is not the SET's fault: that is a KeySetUnavailable, and the
 * SET is neither acknowledged nor reported, so it comes back after its lease. So is an unknown kid
 * while the remote key set is in its refetch cooldown (see remoteKeys).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import {
  InvalidSetAudience,
  InvalidSetIssuer,
  InvalidSetKey,
  KeySetUnavailable,
  MalformedSet,
  NetworkError,
  SetAccessDenied,
  SetAuthenticationFailed,
  type SetVerificationError,
} from './errors.ts';
import type { HttpTransport } from './transport.ts';

/**
 * The claim naming the Data Provider whose notification a SET carries (setpoll's Notifier puts it in
 * every SET it signs for a provider, outside `events`). A SET without it was queued by the
 * transmitter's own producers (publish, a direct PutItem).
 */
export const PROVIDER_CLAIM = 'data_provider';

/** A SET that passed verification. */
export interface VerifiedSet {
  readonly jti: string;
  /** The Data Provider that sent it (the signed `data_provider` claim); absent for the transmitter's own SETs. */
  readonly provider?: string;
  readonly claims: JWTPayload & { readonly jti: string; readonly iat: number; readonly events: Record<string, Record<string, unknown>> };
  readonly header: ProtectedHeaderParameters;
  /** The compact JWS as received: keep it when the SET is evidence. */
  readonly set: string;
}

/** What the Poller needs: anything that verifies a SET (the SetVerifier, or a stricter wrapper around it). */
export interface SetVerification {
  /** Resolves with the verified SET; rejects with a SetVerificationError, or KeySetUnavailable. */
  verify(jti: string, set: string): Promise<VerifiedSet>;
}

export interface SetVerifierOptions {
  /**
   * The transmitter's public keys: its JWKS URL (setpoll serves `/jwks.json` on the mTLS domain,
   * so pass `transport`), or a key set held locally.
   */
  readonly keys: URL | JSONWebKeySet;
  /** Fetches a remote key set; required for setpoll's mTLS-only /jwks.json. @default global fetch */
  readonly transport?: HttpTransport;
  /** The expected `iss` (one of them). */
  readonly issuer: string | readonly string[];
  /** This recipient's identifiers: `aud` must name one. setpoll uses the recipient's client id. */
  readonly audience: string | readonly string[];
  /** @default PS256, ES256, RS256 (asymmetric only: a shared secret cannot prove who signed) */
  readonly algorithms?: readonly string[];
  /** How far `iat` (and `nbf`, `exp`) may be off because of clock skew, in seconds. @default 30 */
  readonly clockToleranceSeconds?: number;
  /** When given, a SET with an event type outside this list is refused with access_denied. */
  readonly eventTypes?: readonly string[];
  /** When given, a SET from a Data Provider outside this list is refused with access_denied. */
  readonly providers?: readonly string[];
  /** Whether SETs naming no Data Provider (the transmitter's own) are accepted. @default true */
  readonly acceptDirect?: boolean;
  readonly now?: () => number;
}

export const SET_TYP = 'secevent+jwt';
export const DEFAULT_ALGORITHMS: readonly string[] = ['PS256', 'ES256', 'RS256'];
const DESCRIPTION_JTI_LENGTH = 64;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class SetVerifier implements SetVerification {
  readonly #getKey: JWTVerifyGetKey;
  readonly #issuer: string[];
  readonly #audience: string[];
  readonly #algorithms: string[];
  readonly #tolerance: number;
  readonly #eventTypes: ReadonlySet<string> | undefined;
  readonly #providers: ReadonlySet<string> | undefined;
  readonly #acceptDirect: boolean;
  readonly #now: () => number;

  constructor(options: SetVerifierOptions) {
    this.#issuer = typeof options.issuer === 'string' ? [options.issuer] : [...options.issuer];
    this.#audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
    if (this.#issuer.length === 0 || this.#issuer.some((i) => !i)) throw new TypeError('issuer must name at least one issuer');
    if (this.#audience.length === 0 || this.#audience.some((a) => !a)) throw new TypeError('audience must name at least one audience');
    this.#algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
    if (this.#algorithms.length === 0 || this.#algorithms.some((alg) => alg === 'none' || alg.startsWith('HS'))) {
      throw new TypeError('algorithms must list asymmetric JWS algorithms only');
    }
    this.#tolerance = options.clockToleranceSeconds ?? 30;
    if (!Number.isFinite(this.#tolerance) || this.#tolerance < 0) throw new TypeError('clockToleranceSeconds must be a non-negative number');
    this.#eventTypes = options.eventTypes ? new Set(options.eventTypes) : undefined;
    this.#providers = options.providers ? new Set(options.providers) : undefined;
    this.#acceptDirect = options.acceptDirect ?? true;
    this.#now = options.now ?? Date.now;
    this.#getKey = options.keys instanceof URL ? remoteKeys(options.keys, options.transport) : localKeys(options.keys);
  }

  async verify(jti: string, set: string): Promise<VerifiedSet> {
    const shown = JSON.stringify(jti.slice(0, DESCRIPTION_JTI_LENGTH));
    let header: ProtectedHeaderParameters;
    try {
      if (typeof set !== 'string') throw new TypeError('not a string');
      header = decodeProtectedHeader(set);
    } catch {
      throw new MalformedSet(`SET ${shown} is not a compact JWS`);
    }
    if (header.alg === 'none') throw new SetAuthenticationFailed(`SET ${shown} is not signed (alg "none")`);
    if (set.split('.').length !== 3) throw new MalformedSet(`SET ${shown} is not a compact JWS`);

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(set, this.#getKey, {
        algorithms: this.#algorithms,
        typ: SET_TYP,
        issuer: this.#issuer,
        audience: this.#audience,
        requiredClaims: ['jti', 'iat'],
        clockTolerance: this.#tolerance,
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      throw classify(error, shown, header);
    }

    if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) throw new MalformedSet(`SET ${shown} has no numeric iat`);
    const ahead = claims.iat - this.#now() / 1000;
    if (ahead > this.#tolerance) throw new MalformedSet(`SET ${shown} was issued ${Math.round(ahead)} s in the future (iat)`);
    // The jti the transmitter filed it under is what we ack: it must be the SET's own.
    if (claims.jti !== jti) throw new MalformedSet(`SET ${shown} carries another jti claim`);
    const events = claims.events;
    if (!isObject(events) || Object.keys(events).length === 0 || !Object.values(events).every(isObject)) {
      throw new MalformedSet(`SET ${shown} has no events object of event-type URI → object (RFC 8417 §2.2)`);
    }
    if (this.#eventTypes) {
      const unexpected = Object.keys(events).find((type) => !this.#eventTypes!.has(type));
      if (unexpected !== undefined) throw new SetAccessDenied(`SET ${shown} carries the event type ${unexpected.slice(0, 120)}, which this recipient did not subscribe to`);
    }
    const provider = claims[PROVIDER_CLAIM];
    if (provider !== undefined && (typeof provider !== 'string' || provider === '')) throw new MalformedSet(`SET ${shown} has a ${PROVIDER_CLAIM} claim that is not a non-empty string`);
    if (provider === undefined && !this.#acceptDirect) throw new SetAccessDenied(`SET ${shown} names no Data Provider, and this recipient accepts only providers' SETs`);
    if (provider !== undefined && this.#providers && !this.#providers.has(provider)) {
      throw new SetAccessDenied(`SET ${shown} is from the Data Provider ${JSON.stringify(provider.slice(0, 128))}, which this recipient does not accept`);
    }
    return { jti, ...(provider === undefined ? {} : { provider }), claims: claims as VerifiedSet['claims'], header, set };
  }
}

/** A jose error (or a key-set failure) as the RFC 8935 error it is. */
function classify(error: unknown, shown: string, header: ProtectedHeaderParameters): SetVerificationError | KeySetUnavailable {
  if (error instanceof KeySetUnavailable) return error;
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidSetKey(`The signature of SET ${shown} does not verify with the transmitter's key`);
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidSetKey(`No key of the transmitter matches SET ${shown} (kid ${JSON.stringify(header.kid ?? null)}, alg ${JSON.stringify(header.alg ?? null)})`);
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) return new InvalidSetKey(`SET ${shown} names no kid and several of the transmitter's keys match`);
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new InvalidSetKey(`SET ${shown} is signed with ${JSON.stringify(header.alg ?? null)}, which this recipient does not accept`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const missing = error.reason === 'missing';
    switch (error.claim) {
      case 'iss':
        return new InvalidSetIssuer(missing ? `SET ${shown} has no iss` : `SET ${shown} is from an unexpected issuer`);
      case 'aud':
        return new InvalidSetAudience(missing ? `SET ${shown} has no aud` : `SET ${shown} is not addressed to this recipient (aud)`);
      case 'typ':
        return new MalformedSet(`SET ${shown} does not have the JWS header typ "${SET_TYP}"`);
      default:
        return new MalformedSet(`SET ${shown}: ${missing ? `missing ${error.claim}` : `${error.claim} check failed`}`);
    }
  }
  if (error instanceof errors.JWTExpired) return new MalformedSet(`SET ${shown} has expired (exp)`);
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new MalformedSet(`SET ${shown} is malformed: ${error.message}`);
  // Anything else is a bug or a misuse of jose, not a property of the SET: let it surface.
  throw error;
}

function localKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  try {
    return createLocalJWKSet(jwks);
  } catch (error) {
    throw new TypeError(`keys is not a usable JSON Web Key Set: ${(error as Error).message}`);
  }
}

/**
 * jose's remote key set (cached; refetched on an unknown kid, at most every 30 s), with every
 * failure to get and read the set turned into KeySetUnavailable so it is not blamed on the SET.
 *
 * An unknown kid while the set is cooling down is KeySetUnavailable too: jose did not refetch, so
 * the SET may be signed with a key the transmitter rotated in since the last fetch. Reporting it
 * invalid_key would lose a valid SET; left unanswered, it comes back after its lease, and then
 * (the cooldown over) jose refetches and the verdict is the current key set's.
 */
function remoteKeys(url: URL, transport: HttpTransport | undefined): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, transport ? { [customFetch]: transportFetch(transport) } : {});
  return async (header, token) => {
    // Read before the lookup: a lookup that refetches leaves the set cooling down afterwards, and
    // a kid missing from a set fetched just now is the SET's fault (invalid_key).
    const coolingDown = remote.coolingDown;
    try {
      return await remote(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey && coolingDown) {
        throw new KeySetUnavailable(
          `No key of the transmitter's key set at ${url.href} matches kid ${JSON.stringify(header.kid ?? null)} and it was fetched less than 30 s ago: it is fetched again after that`,
          { cause: error },
        );
      }
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) throw error;
      throw new KeySetUnavailable(`The transmitter's key set at ${url.href} is unavailable: ${(error as Error).message}`, { cause: error });
    }
  };
}

/** The transport as the fetch jose's remote key set calls. */
function transportFetch(transport: HttpTransport): FetchImplementation {
  return async (url, options) => {
    try {
      const res = await transport({
        method: 'GET',
        url: new URL(url),
        headers: Object.fromEntries(options.headers.entries()),
        signal: options.signal,
      });
      return new Response(res.body, { status: res.status, headers: res.headers });
    } catch (error) {
      // jose turns a TimeoutError into JWKSTimeout; the cause keeps the details.
      if (error instanceof NetworkError && options.signal.aborted) throw Object.assign(new Error(error.message, { cause: error }), { name: 'TimeoutError' });
      throw error;
    }
  };
}
