import type { JWK } from 'jose';
import { codedStorageError } from './store-errors.ts';

/**
 * Why a stored key is in the JWKS besides the current signing key:
 * - `previous`: a former signing key, kept until the SETs it signed have expired;
 * - `producer`: the public key of a producer that signs SETs with its own private key.
 */
export type PublishedKeyKind = 'previous' | 'producer';

/** A public key the operator published (schema.ts: `KEYS` / `K#<kid>`). */
export interface PublishedKey {
  readonly kid: string;
  /** Public members only (validated by lambdas/keys/public-jwk.ts before it is stored). */
  readonly jwk: JWK;
  readonly kind: PublishedKeyKind;
  /** Who the key belongs to, for operators (e.g. a producer's name). */
  readonly label?: string;
  /** When it was stored, epoch ms. */
  readonly addedAt: number;
  /** Published until this time, epoch seconds; absent: until removed. */
  readonly until?: number;
}

export class KeyAlreadyPublished extends codedStorageError('KeyAlreadyPublished', 'key_exists') {
  constructor(kid: string) {
    super(`A key with kid ${JSON.stringify(kid)} is already published`);
  }
}

/** The operator-managed part of the JWKS. Storage errors are thrown as they come. */
export interface KeySetStore {
  /** Every stored key, expired ones included (the caller decides what is published). */
  list(): Promise<PublishedKey[]>;
  /** Stores a new key; throws KeyAlreadyPublished when its kid is taken. */
  add(key: PublishedKey): Promise<void>;
  /** Sets the time a key stops being published; false when there is no such key. */
  expire(kid: string, until: number): Promise<boolean>;
  /** Deletes a key at once; false when there was none. */
  remove(kid: string): Promise<boolean>;
}
