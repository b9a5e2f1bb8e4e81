import type { JWK, JWTPayload } from 'jose';
import type { SetAlgorithm, SetSigner } from '../producer/signer.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';

/**
 * A signer whose key is loaded on first use (KmsSigner reads the public key from KMS), so a cold
 * start does no network call and a KMS failure is answered by the error middleware (503) rather
 * than crashing the wiring. A failed load is retried on the next use.
 */
export class DeferredSigner<S extends SetSigner & { readonly publicJwk: JWK }> implements SetSigner {
  readonly alg: SetAlgorithm;
  readonly #create: () => Promise<S>;
  #signer: S | undefined;
  #loading: Promise<S> | undefined;

  constructor(alg: SetAlgorithm, create: () => Promise<S>) {
    this.alg = alg;
    this.#create = create;
  }

  /** Known once loaded; read it after `load()`. */
  get kid(): string {
    if (!this.#signer) throw new ProgrammerError('The signing key is not loaded yet: await load() first');
    return this.#signer.kid;
  }

  load(): Promise<S> {
    this.#loading ??= this.#create().then(
      (signer) => (this.#signer = signer),
      (error: unknown) => {
        this.#loading = undefined;
        throw error;
      },
    );
    return this.#loading;
  }

  async sign(claims: JWTPayload): Promise<string> {
    return (await this.load()).sign(claims);
  }
}
