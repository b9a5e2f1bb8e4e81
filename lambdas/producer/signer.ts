import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK, type JWTPayload } from 'jose';

import { SET_ALGORITHMS, type SetAlgorithm } from '../contract.ts';

export { SET_ALGORITHMS, type SetAlgorithm } from '../contract.ts';

/** Signs SET claims as a compact JWS. The local key and (later) KMS implement the same interface. */
export interface SetSigner {
  readonly alg: SetAlgorithm;
  readonly kid: string;
  sign(claims: JWTPayload): Promise<string>;
}

export function assertAlgorithm(alg: string): asserts alg is SetAlgorithm {
  if (!(SET_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TypeError(`Unsupported SET algorithm ${alg}; use one of ${SET_ALGORITHMS.join(', ')}`);
  }
}

/** A signer over a private JWK held in memory (the local stack's generated key file). */
export class JwkSigner implements SetSigner {
  readonly alg: SetAlgorithm;
  readonly kid: string;
  readonly #key: CryptoKey | Uint8Array;

  private constructor(alg: SetAlgorithm, kid: string, key: CryptoKey | Uint8Array) {
    this.alg = alg;
    this.kid = kid;
    this.#key = key;
  }

  static async fromJwk(jwk: JWK): Promise<JwkSigner> {
    const alg = jwk.alg ?? '';
    assertAlgorithm(alg);
    if (!jwk.kid) throw new TypeError('The signing JWK needs a kid');
    return new JwkSigner(alg, jwk.kid, await importJWK(jwk, alg));
  }

  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: this.alg, kid: this.kid, typ: 'secevent+jwt' }).sign(this.#key);
  }
}

/** Public half of a private JWK, as published in a JWKS. */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, ...pub } = jwk;
  return { ...pub, use: 'sig' };
}

/**
 * Reads a private JWK from `file`, or generates one (with its RFC 7638 thumbprint as kid) and
 * writes it with owner-only permissions. Used by the local stack; in AWS the key lives in KMS.
 */
export async function loadOrCreateSigningJwk(file: string, alg: SetAlgorithm = 'PS256'): Promise<JWK> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as JWK;
  const full = await generateSigningJwk(alg);
  await writeSigningJwk(file, full);
  return full;
}

/** RSA keys sign PS256 and RS256 alike (a KMS RSA_2048 key offers both). */
const RSA_ALGORITHMS: readonly string[] = ['PS256', 'RS256'];

/**
 * The local stack's signing key for `alg`: as loadOrCreateSigningJwk, but an existing RSA key kept
 * under the other RSA algorithm is switched to `alg` in place (same key, same RFC 7638 kid), so a
 * stack restarted with SETPOLL_SIGNING_ALG=RS256 keeps its key. A key of another type is refused.
 */
export async function loadSigningJwkFor(file: string, alg: SetAlgorithm): Promise<JWK> {
  const jwk = await loadOrCreateSigningJwk(file, alg);
  if (jwk.alg === alg) return jwk;
  if (!RSA_ALGORITHMS.includes(alg) || !RSA_ALGORITHMS.includes(String(jwk.alg))) {
    throw new TypeError(`${file} holds a ${String(jwk.alg)} key, which cannot sign ${alg}: remove it to have a new key made`);
  }
  const switched = { ...jwk, alg };
  await writeSigningJwk(file, switched);
  return switched;
}

/** A new private signing JWK whose kid is its RFC 7638 thumbprint. */
export async function generateSigningJwk(alg: SetAlgorithm = 'PS256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'ES256' ? {} : { modulusLength: 2048 }) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk).catch(() => randomUUID());
  return { ...jwk, alg, kid };
}

/** Writes a private JWK owner-only, replacing `file` in one rename so a reader never sees half a key. */
export async function writeSigningJwk(file: string, jwk: JWK): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(jwk, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}
