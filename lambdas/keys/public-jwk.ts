import { importJWK, type JWK } from 'jose';
import { SET_ALGORITHMS, assertAlgorithm, type SetAlgorithm } from '../producer/signer.ts';

/** Members that only a private (or symmetric) key has: none may reach the JWKS. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const KID = /^[\x21-\x7e]{1,128}$/;
const MIN_RSA_BITS = 2048;

/**
 * Checks a key an operator publishes and returns only its public members (plus alg, kid and
 * `use: sig`), so nothing else a file carried ends up in the public JWKS. A private key is refused
 * rather than stripped: whoever holds the file has the wrong one.
 */
export async function validatePublicJwk(input: unknown): Promise<JWK & { kid: string; alg: SetAlgorithm }> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new TypeError('The key must be a JWK object');
  const jwk = input as JWK;
  for (const member of PRIVATE_MEMBERS) {
    if (member in jwk) throw new TypeError(`The key holds private material ("${member}"): publish the public key only`);
  }
  const alg = jwk.alg ?? '';
  if (!(SET_ALGORITHMS as readonly string[]).includes(alg)) throw new TypeError(`The key's alg must be one of ${SET_ALGORITHMS.join(', ')}`);
  assertAlgorithm(alg);
  if (typeof jwk.kid !== 'string' || !KID.test(jwk.kid)) throw new TypeError('The key needs a kid of 1 to 128 printable ASCII characters');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new TypeError('The key\'s use must be "sig"');
  let pub: JWK;
  if (alg === 'ES256') {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new TypeError('An ES256 key must be an EC key on P-256');
    if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new TypeError('An EC key needs its x and y coordinates');
    pub = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  } else {
    if (jwk.kty !== 'RSA') throw new TypeError(`A ${alg} key must be an RSA key`);
    if (typeof jwk.n !== 'string' || Buffer.from(jwk.n, 'base64url').length * 8 < MIN_RSA_BITS) {
      throw new TypeError(`An RSA key must have at least ${MIN_RSA_BITS} bits`);
    }
    if (typeof jwk.e !== 'string') throw new TypeError('An RSA key needs its public exponent e');
    pub = { kty: 'RSA', n: jwk.n, e: jwk.e };
  }
  try {
    await importJWK(pub, alg);
  } catch (error) {
    throw new TypeError(`The key is not a usable ${alg} public key: ${(error as Error).message}`);
  }
  return { ...pub, alg, kid: jwk.kid, use: 'sig' };
}
