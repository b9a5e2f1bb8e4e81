import { constants, generateKeyPairSync, privateEncrypt, sign as nodeSign } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { KmsSigner, derToJose, type KmsSender } from '../../lambdas/producer/kms-signer.ts';

/**
 * A stand-in for KMS (the thing under test is the signer, not KMS): it holds a real private key and
 * answers GetPublicKey and Sign the way KMS does, with DER ECDSA signatures. RAW messages are signed
 * with node:crypto; DIGEST is supported for RSASSA_PKCS1_V1_5_SHA_256, which node can sign from a
 * digest (DigestInfo + private-key encryption).
 */
function fakeKms(kind: 'rsa' | 'ec'): KmsSender & { calls: string[] } {
  const { privateKey, publicKey } =
    kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const calls: string[] = [];
  const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
  const kmsSign = (message: Uint8Array, type: string, algorithm: string): Buffer => {
    if (type === 'DIGEST') {
      if (algorithm !== 'RSASSA_PKCS1_V1_5_SHA_256') throw new Error(`fake cannot sign a ${algorithm} digest`);
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([SHA256_DIGEST_INFO, message]));
    }
    if (algorithm === 'RSASSA_PSS_SHA_256') {
      return nodeSign('sha256', message, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    }
    return nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
  };
  return {
    calls,
    send: (async (command: unknown) => {
      if (command instanceof GetPublicKeyCommand) {
        calls.push('GetPublicKey');
        return {
          PublicKey: publicKey.export({ format: 'der', type: 'spki' }),
          SigningAlgorithms: kind === 'rsa' ? ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'] : ['ECDSA_SHA_256'],
        };
      }
      if (command instanceof SignCommand) {
        const { Message, MessageType, SigningAlgorithm } = command.input;
        calls.push(`Sign ${MessageType}`);
        return { Signature: kmsSign(Message!, MessageType!, SigningAlgorithm!) };
      }
      throw new Error('unexpected command');
    }) as KmsSender['send'],
  };
}

const CLAIMS = { iss: 'https://bank.example', jti: 'j1', iat: 1_790_000_000, aud: 'tpp-alpha', events: { e: {} } };

describe('KmsSigner', () => {
  describe('create', () => {
    it('refuses a key that cannot sign with the configured algorithm', async () => {
      await expect(KmsSigner.create({ kms: fakeKms('ec'), keyId: 'k', alg: 'PS256' })).rejects.toThrow(
        'KMS key k cannot sign with RSASSA_PSS_SHA_256 (PS256)',
      );
      await expect(KmsSigner.create({ kms: fakeKms('ec'), keyId: 'k', alg: 'HS256' })).rejects.toThrow(TypeError);
    });
  });

  describe('sign', () => {
    it.each([
      ['ES256', 'ec'],
      ['PS256', 'rsa'],
      ['RS256', 'rsa'],
    ] as const)('makes a %s SET that verifies against the published JWKS', async (alg, kind) => {
      // Prepare
      const kms = fakeKms(kind);
      const signer = await KmsSigner.create({ kms, keyId: 'alias/setpoll', alg });
      // Act
      const set = await signer.sign(CLAIMS);
      // Assess
      expect(decodeProtectedHeader(set)).toEqual({ alg, kid: signer.kid, typ: 'secevent+jwt' });
      const { payload } = await jwtVerify(set, createLocalJWKSet({ keys: [signer.publicJwk] }), { typ: 'secevent+jwt', audience: 'tpp-alpha' });
      expect(payload).toEqual(CLAIMS);
      expect(signer.publicJwk).not.toHaveProperty('d');
      expect(kms.calls).toEqual(['GetPublicKey', 'Sign RAW']);
    });

    it('signs a SET over 4 KB by its digest', async () => {
      const kms = fakeKms('rsa');
      const signer = await KmsSigner.create({ kms, keyId: 'k', alg: 'RS256' });
      const big = { ...CLAIMS, events: { e: { pad: 'x'.repeat(5000) } } };
      const set = await signer.sign(big);
      const { payload } = await jwtVerify(set, createLocalJWKSet({ keys: [signer.publicJwk] }));
      expect(payload).toEqual(big);
      expect(kms.calls).toEqual(['GetPublicKey', 'Sign DIGEST']);
    });
  });
});

describe('derToJose', () => {
  it('pads and strips integers to the fixed width JWS expects', () => {
    const der = Buffer.from([0x30, 0x08, 0x02, 0x02, 0x00, 0x81, 0x02, 0x02, 0x01, 0x02]);
    expect(derToJose(der, 4).toString('hex')).toBe('0000008100000102');
    expect(() => derToJose(Buffer.from([0x31, 0x00]), 32)).toThrow(TypeError);
  });
});
