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
  readonly now?: () => number;
}

/** Cache entries kept at most; a burst of distinct certificates cannot grow memory without bound. */
const MAX_CACHE_ENTRIES = 10_000;

/**
 * Identifies the recipient from the mTLS client certificate that API Gateway (or the local server)
 * verified against the truststore: SHA-256 over the certificate's DER, looked up in the registry.
 */
export class ClientAuthenticator {
  readonly #registry: CertificateLookup;
  readonly #realm: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { status: CertificateStatus; expires: number }>();
  readonly #thumbprints = new Map<string, CertificateThumbprint | undefined>();

  constructor(options: ClientAuthenticatorOptions) {
    this.#registry = options.registry;
    this.#realm = options.realm;
    this.#ttlMs = (options.cacheSeconds ?? 30) * 1000;
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
    const cached = this.#cache.get(fingerprint);
    if (cached && cached.expires > now) return cached.status;
    const status = await this.#registry.lookup(fingerprint);
    // Only usable identities are cached: a certificate registered a moment ago works at once.
    if (status.clientId !== undefined && !status.revoked) {
      if (this.#cache.size >= MAX_CACHE_ENTRIES) this.#cache.clear();
      this.#cache.set(fingerprint, { status, expires: now + this.#ttlMs });
    }
    return status;
  }
}
