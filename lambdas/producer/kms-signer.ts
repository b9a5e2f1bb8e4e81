import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient, type SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose';
import { assertAlgorithm, type SetAlgorithm, type SetSigner } from './signer.ts';

const KMS_ALGORITHM: Record<SetAlgorithm, SigningAlgorithmSpec> = {
  PS256: 'RSASSA_PSS_SHA_256',
  RS256: 'RSASSA_PKCS1_V1_5_SHA_256',
  ES256: 'ECDSA_SHA_256',
};

/** The part of KMSClient this signer uses, so a test can stand in for KMS. */
export type KmsSender = Pick<KMSClient, 'send'>;

const KMS_RAW_MESSAGE_LIMIT = 4096;

const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** Signs SETs with an asymmetric KMS key: the private key never leaves KMS; one Sign call per SET. */
export class KmsSigner implements SetSigner {
  readonly alg: SetAlgorithm;
  readonly kid: string;
  /** The public key, as published at /jwks.json. */
  readonly publicJwk: JWK;
  readonly #kms: KmsSender;
  readonly #keyId: string;

  private constructor(kms: KmsSender, keyId: string, alg: SetAlgorithm, publicJwk: JWK) {
    this.#kms = kms;
    this.#keyId = keyId;
    this.alg = alg;
    this.kid = publicJwk.kid!;
    this.publicJwk = publicJwk;
  }

  /** Reads the key's public half once; its RFC 7638 thumbprint is the kid. */
  static async create(options: { kms: KmsSender; keyId: string; alg: string }): Promise<KmsSigner> {
    assertAlgorithm(options.alg);
    const out = await options.kms.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
    if (!out.PublicKey) throw new TypeError(`KMS key ${options.keyId} has no public key`);
    if (!out.SigningAlgorithms?.includes(KMS_ALGORITHM[options.alg])) {
      throw new TypeError(`KMS key ${options.keyId} cannot sign with ${KMS_ALGORITHM[options.alg]} (${options.alg})`);
    }
    const jwk = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    return new KmsSigner(options.kms, options.keyId, options.alg, { ...jwk, alg: options.alg, kid, use: 'sig' });
  }

  async sign(claims: JWTPayload): Promise<string> {
    const input = `${b64url(JSON.stringify({ alg: this.alg, kid: this.kid, typ: 'secevent+jwt' }))}.${b64url(JSON.stringify(claims))}`;
    // KMS takes a RAW message of up to 4 KB; a larger SET is signed by its SHA-256 digest.
    const raw = Buffer.byteLength(input) <= KMS_RAW_MESSAGE_LIMIT;
    const out = await this.#kms.send(
      new SignCommand({
        KeyId: this.#keyId,
        Message: raw ? Buffer.from(input) : createHash('sha256').update(input).digest(),
        MessageType: raw ? 'RAW' : 'DIGEST',
        SigningAlgorithm: KMS_ALGORITHM[this.alg],
      }),
    );
    if (!out.Signature) throw new Error('KMS returned no signature');
    const signature = this.alg === 'ES256' ? derToJose(Buffer.from(out.Signature), 32) : Buffer.from(out.Signature);
    return `${input}.${b64url(signature)}`;
  }
}

/** ECDSA signatures come from KMS as DER `SEQUENCE { r INTEGER, s INTEGER }`; JWS wants r || s. */
export function derToJose(der: Buffer, size: number): Buffer {
  let offset = 2;
  if (der[0] !== 0x30) throw new TypeError('not a DER ECDSA signature');
  if (der[1]! & 0x80) offset += der[1]! & 0x7f;
  const readInt = (): Buffer => {
    if (der[offset] !== 0x02) throw new TypeError('not a DER ECDSA signature');
    const length = der[offset + 1]!;
    let value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new TypeError('DER integer too long');
    return Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  const r = readInt();
  const s = readInt();
  return Buffer.concat([r, s]);
}
