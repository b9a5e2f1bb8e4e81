/**
 * Access tokens for the poll endpoint: the OAuth 2.0 client-credentials grant, authenticated with
 * the recipient's TLS client certificate (RFC 8705 `tls_client_auth`), so the token the
 * authorization server issues is bound to that certificate. The transport passed in must present
 * the same certificate the polls will present, or the poll endpoint refuses the token.
 */
import { TokenRequestFailed } from './errors.ts';
import { parseRetryAfter } from './retry-after.ts';
import type { HttpTransport } from './transport.ts';

/** Where the PollClient gets its bearer token. */
export interface TokenSource {
  token(signal?: AbortSignal): Promise<string>;
  /** The poll endpoint refused `token` (401 invalid_token): forget it, so the next call fetches a new one. */
  invalidate(token: string): void;
}

export interface ClientCredentialsOptions {
  readonly tokenUrl: URL | string;
  /** RFC 8705 §2: tls_client_auth clients still name themselves with client_id. */
  readonly clientId: string;
  /** Space-separated; omitted: the authorization server's default for the client. */
  readonly scope?: string;
  /** An mTLS transport presenting the recipient's certificate. */
  readonly transport: HttpTransport;
  /**
   * Fetch a new token this long before `expires_in` runs out (at most half the lifetime), so a
   * long poll never starts with a token that expires on the way. @default 30
   */
  readonly refreshBeforeSeconds?: number;
  readonly now?: () => number;
}

interface Cached {
  readonly accessToken: string;
  /** Epoch ms after which the token is refreshed; Infinity when the server gave no expires_in. */
  readonly refreshAt: number;
}

export class ClientCredentialsTokenSource implements TokenSource {
  readonly #tokenUrl: URL;
  readonly #clientId: string;
  readonly #scope: string | undefined;
  readonly #transport: HttpTransport;
  readonly #refreshBeforeMs: number;
  readonly #now: () => number;
  #cached: Cached | undefined;
  #pending: Promise<Cached> | undefined;

  constructor(options: ClientCredentialsOptions) {
    this.#tokenUrl = new URL(options.tokenUrl);
    if (this.#tokenUrl.protocol !== 'https:') throw new TypeError(`tokenUrl must be https, got ${this.#tokenUrl.href}`);
    if (!options.clientId) throw new TypeError('clientId is required');
    const refreshBefore = options.refreshBeforeSeconds ?? 30;
    if (!Number.isFinite(refreshBefore) || refreshBefore < 0) throw new TypeError('refreshBeforeSeconds must be a non-negative number');
    this.#clientId = options.clientId;
    this.#scope = options.scope;
    this.#transport = options.transport;
    this.#refreshBeforeMs = refreshBefore * 1000;
    this.#now = options.now ?? Date.now;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#now() < cached.refreshAt) return cached.accessToken;
    // One request at a time: concurrent callers share it rather than each asking for a token.
    this.#pending ??= this.#fetch(signal).finally(() => (this.#pending = undefined));
    this.#cached = await this.#pending;
    return this.#cached.accessToken;
  }

  invalidate(token: string): void {
    if (this.#cached?.accessToken === token) this.#cached = undefined;
  }

  async #fetch(signal: AbortSignal | undefined): Promise<Cached> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.#clientId });
    if (this.#scope !== undefined) form.set('scope', this.#scope);
    const requestedAt = this.#now();
    const res = await this.#transport({
      method: 'POST',
      url: this.#tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      ...(signal ? { signal } : {}),
    });
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || typeof body?.access_token !== 'string' || body.access_token === '') {
      const error = typeof body?.error === 'string' ? body.error : undefined;
      const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
      const reason = error ? `${error}${description ? `: ${description}` : ''}` : res.status === 200 ? 'no access_token in the answer' : `HTTP ${res.status}`;
      // A 429 or 5xx may say when to come back (RFC 9110 §10.2.3): kept for the Poller's backoff.
      const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      throw new TokenRequestFailed(`The token endpoint ${this.#tokenUrl.href} refused ${this.#clientId}: ${reason}`, res.status, error, description, retryAfterMs);
    }
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new TokenRequestFailed(`The token endpoint issued a ${body.token_type} token; only Bearer is supported`, res.status);
    }
    const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in * 1000 : undefined;
    // Counted from when it was asked for: the token may have been issued just before the answer left.
    const refreshAt = expiresIn === undefined ? Infinity : requestedAt + expiresIn - Math.min(this.#refreshBeforeMs, expiresIn / 2);
    return { accessToken: body.access_token, refreshAt };
  }
}

/** A fixed token, e.g. one the application already holds. It cannot be refreshed. */
export class StaticTokenSource implements TokenSource {
  readonly accessToken: string;
  constructor(accessToken: string) {
    if (!accessToken) throw new TypeError('accessToken is required');
    this.accessToken = accessToken;
  }

  async token(): Promise<string> {
    return this.accessToken;
  }

  invalidate(): void {}
}
