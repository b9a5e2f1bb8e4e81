import type { JWK } from 'jose';
import { KeyAlreadyPublished, type KeySetStore, type PublishedKey } from '../store/key-set-store.ts';
import { PUBLISHED_KEYS_CACHE_MS } from '../contract.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';
import { validatePublicJwk } from './public-jwk.ts';

export interface PublishedKeysOptions {
  readonly store: KeySetStore;
  /** The key(s) that sign now: the KMS key's public half in AWS, the local key's locally. */
  readonly current: () => Promise<readonly JWK[]>;
  /**
   * How long a read of the key set is reused. The JWKS is public: without this every anonymous
   * GET would be a DynamoDB read. 0 reads on every call.
   * @default PUBLISHED_KEYS_CACHE_MS (60 s)
   */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/**
 * The JWKS: every key that can verify a SET this deployment delivers. The current signing key,
 * then the stored keys still in their publication window (previous signing keys until their SETs
 * have expired, producers' own keys). One kid appears once; the current key wins.
 */
export class PublishedKeys {
  readonly #store: KeySetStore;
  readonly #current: () => Promise<readonly JWK[]>;
  readonly #cacheMs: number;
  readonly #now: () => number;
  #cached: { at: number; keys: Promise<JWK[]> } | undefined;

  constructor(options: PublishedKeysOptions) {
    this.#store = options.store;
    this.#current = options.current;
    this.#cacheMs = options.cacheMs ?? PUBLISHED_KEYS_CACHE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The keys as served at /jwks.json. */
  keys(): Promise<JWK[]> {
    const now = this.#now();
    if (this.#cached && now - this.#cached.at < this.#cacheMs) return this.#cached.keys;
    const keys = this.#read(now);
    this.#cached = { at: now, keys };
    // A failed read is not reused: the next call tries again.
    keys.catch(() => {
      if (this.#cached?.keys === keys) this.#cached = undefined;
    });
    return keys;
  }

  async #read(now: number): Promise<JWK[]> {
    const [current, stored] = await Promise.all([this.#current(), this.#store.list()]);
    const out = [...current];
    const seen = new Set(current.map((k) => k.kid));
    for (const key of stored) {
      if (seen.has(key.kid) || !isPublished(key, now)) continue;
      seen.add(key.kid);
      out.push(key.jwk);
    }
    return out;
  }
}

export const isPublished = (key: PublishedKey, nowMs: number): boolean => key.until === undefined || key.until * 1000 > nowMs;

/** What an operator does to the key set (the `setpoll keys` command). */
export class KeySetAdmin {
  readonly #store: KeySetStore;
  readonly #now: () => number;

  constructor(options: { store: KeySetStore; now?: () => number }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  list(): Promise<PublishedKey[]> {
    return this.#store.list();
  }

  /** Publishes a producer's public key until it is retired or removed. */
  async registerProducerKey(jwk: unknown, label?: string): Promise<PublishedKey> {
    const pub = await validatePublicJwk(jwk);
    const key: PublishedKey = { kid: pub.kid, jwk: pub, kind: 'producer', addedAt: this.#now(), ...(label ? { label } : {}) };
    await this.#store.add(key);
    return key;
  }

  /**
   * Keeps a signing key that is being replaced in the JWKS for `keepSeconds` more: the longest a SET
   * it signed can stay queued. Done before the new key signs, so no SET is ever unverifiable.
   * A key already published as previous has its window moved instead.
   */
  async retainPreviousKey(jwk: unknown, keepSeconds: number): Promise<PublishedKey> {
    if (!Number.isInteger(keepSeconds) || keepSeconds < 1) throw new TypeError('keepSeconds must be a positive integer');
    const pub = await validatePublicJwk(jwk);
    const until = Math.ceil(this.#now() / 1000) + keepSeconds;
    const key: PublishedKey = { kid: pub.kid, jwk: pub, kind: 'previous', addedAt: this.#now(), until };
    try {
      await this.#store.add(key);
    } catch (error) {
      if (!(error instanceof KeyAlreadyPublished)) throw error;
      await this.#store.expire(pub.kid, until);
    }
    return key;
  }

  /**
   * Stops publishing a key after `keepSeconds` (0: at once, e.g. a leaked key). Answers the epoch
   * second it stays published until, as stored (the current one for 0), so a caller shows what was
   * written rather than a second clock reading; undefined when no key has that kid.
   */
  async retire(kid: string, keepSeconds: number): Promise<number | undefined> {
    if (!Number.isInteger(keepSeconds) || keepSeconds < 0) throw new ProgrammerError('keepSeconds must be a non-negative integer');
    const until = Math.ceil(this.#now() / 1000) + keepSeconds;
    const found = keepSeconds === 0 ? await this.#store.remove(kid) : await this.#store.expire(kid, until);
    return found ? until : undefined;
  }
}
