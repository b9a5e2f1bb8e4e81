import { AccessDenied, Unauthenticated } from './errors.ts';
import { thumbprintOfPem, type CertificateThumbprint } from './certificate.ts';
import type { CertificateStatus } from '../store/recipient-registry.ts';

export interface AuthenticatedClient {
  readonly clientId: string;
  readonly thumbprint: CertificateThumbprint;
}

export interface CertificateLookup {
  lookup(fingerprint: string): Promise<CertificateStatus>;
}

export interface ClientAuthenticatorOptions {
  readonly registry: CertificateLookup;
  readonly realm: string;
  /** How long a lookup is reused; this bounds how long a revocation takes to apply. @default 30 */
  readonly cacheSeconds?: number;
  /**
   * How long a refusal (unknown or revoked certificate) is reused, so a flood from such a
   * certificate costs one read per period instead of one per request; this bounds how long a
   * certificate registered (or unrevoked) a moment ago stays refused. @default min(5, cacheSeconds)
   */
  readonly refusedCacheSeconds?: number;
  readonly now?: () => number;
}

/** Cache entries kept at most; a burst of distinct certificates cannot grow memory without bound. */
const MAX_CACHE_ENTRIES = 10_000;
/** Refusals kept at most: each distinct unknown certificate costs a read anyway, so a small map suffices. */
const MAX_REFUSED_ENTRIES = 1000;

/**
 * Identifies the recipient from the mTLS client certificate that API Gateway (or the local server)
 * verified against the truststore: SHA-256 over the certificate's DER, looked up in the registry.
 */
export class ClientAuthenticator {
  readonly #registry: CertificateLookup;
  readonly #realm: string;
  readonly #ttlMs: number;
  readonly #refusedTtlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { status: CertificateStatus; expires: number }>();
  readonly #refused = new Map<string, { status: CertificateStatus; expires: number }>();
  /** Lookups under way: concurrent requests with one certificate share one read. */
  readonly #pending = new Map<string, Promise<CertificateStatus>>();
  readonly #thumbprints = new Map<string, CertificateThumbprint | undefined>();

  constructor(options: ClientAuthenticatorOptions) {
    this.#registry = options.registry;
    this.#realm = options.realm;
    this.#ttlMs = (options.cacheSeconds ?? 30) * 1000;
    this.#refusedTtlMs = (options.refusedCacheSeconds ?? Math.min(5, options.cacheSeconds ?? 30)) * 1000;
    this.#now = options.now ?? Date.now;
  }

  async authenticate(clientCertPem: string | undefined): Promise<AuthenticatedClient> {
    if (!clientCertPem) throw new Unauthenticated('A client certificate is required', this.#realm);
    const thumbprint = this.#thumbprint(clientCertPem);
    if (!thumbprint) throw new AccessDenied('The client certificate is not registered');
    const status = await this.#status(thumbprint.hex);
    // One message for unknown and revoked, so the answer does not reveal which.
    if (status.clientId === undefined || status.revoked) throw new AccessDenied('The client certificate is not registered');
    return { clientId: status.clientId, thumbprint };
  }

  /** Parsing X.509 costs more than the rest of a cached authentication: remember it per PEM. */
  #thumbprint(pem: string): CertificateThumbprint | undefined {
    if (this.#thumbprints.has(pem)) return this.#thumbprints.get(pem);
    const thumbprint = thumbprintOfPem(pem);
    if (this.#thumbprints.size >= MAX_CACHE_ENTRIES) this.#thumbprints.clear();
    this.#thumbprints.set(pem, thumbprint);
    return thumbprint;
  }

  async #status(fingerprint: string): Promise<CertificateStatus> {
    const now = this.#now();
    const cached = this.#cache.get(fingerprint) ?? this.#refused.get(fingerprint);
    if (cached && cached.expires > now) return cached.status;
    const pending = this.#pending.get(fingerprint);
    if (pending) return pending;
    const lookup = this.#lookup(fingerprint, now).finally(() => this.#pending.delete(fingerprint));
    this.#pending.set(fingerprint, lookup);
    return lookup;
  }

  async #lookup(fingerprint: string, now: number): Promise<CertificateStatus> {
    const status = await this.#registry.lookup(fingerprint);
    const usable = status.clientId !== undefined && !status.revoked;
    // A usable identity for the full period; a refusal briefly, so a certificate registered a moment ago works soon.
    const [cache, ttlMs, max] = usable ? [this.#cache, this.#ttlMs, MAX_CACHE_ENTRIES] : [this.#refused, this.#refusedTtlMs, MAX_REFUSED_ENTRIES];
    if (ttlMs > 0) {
      if (cache.size >= max) cache.clear();
      cache.set(fingerprint, { status, expires: now + ttlMs });
    }
    if (usable) this.#refused.delete(fingerprint);
    else this.#cache.delete(fingerprint);
    return status;
  }
}
