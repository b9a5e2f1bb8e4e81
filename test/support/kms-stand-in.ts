/**
 * A stand-in for the KMS API on a local port (AWS JSON 1.1: `X-Amz-Target: TrentService.<Op>`),
 * for tests whose subject is a KMS client (the CLI), never KMS itself: one asymmetric key that
 * answers GetPublicKey and Sign (RAW messages, as setpoll's signer sends SETs under 4 KB) the way
 * KMS documents them, ECDSA signatures in DER. Point the SDK at it with AWS_ENDPOINT_URL_KMS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

export interface KmsStandIn {
  readonly endpoint: string;
  readonly keyArn: string;
  /** Operations served, in order, e.g. `GetPublicKey`, `Sign`. */
  readonly calls: string[];
  /** The key's public JWK as setpoll publishes it (kid: its RFC 7638 thumbprint). */
  publicJwk(alg: string): Promise<JWK>;
  close(): Promise<void>;
}

export async function startKmsStandIn(kind: 'rsa' | 'ec' = 'rsa'): Promise<KmsStandIn> {
  const keyArn = `arn:aws:kms:us-east-1:123456789012:key/${kind === 'rsa' ? '11111111-1111-1111-1111-111111111111' : '22222222-2222-2222-2222-222222222222'}`;
  const { privateKey, publicKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithms = kind === 'rsa' ? ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'] : ['ECDSA_SHA_256'];
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, string>;
      calls.push(op);
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (body.KeyId !== keyArn) return reply(400, { __type: 'NotFoundException', message: `Key '${body.KeyId}' does not exist` });
      if (op === 'GetPublicKey') {
        return reply(200, { KeyId: keyArn, KeyUsage: 'SIGN_VERIFY', PublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), SigningAlgorithms: algorithms });
      }
      if (op === 'Sign' && body.MessageType === 'RAW' && algorithms.includes(body.SigningAlgorithm!)) {
        return reply(200, { KeyId: keyArn, SigningAlgorithm: body.SigningAlgorithm, Signature: signRaw(privateKey, Buffer.from(body.Message!, 'base64'), body.SigningAlgorithm!).toString('base64') });
      }
      return reply(400, { __type: 'ValidationException', message: `The stand-in does not serve ${op} ${body.MessageType ?? ''}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const publicJwk = async (alg: string): Promise<JWK> => {
    const jwk = publicKey.export({ format: 'jwk' }) as JWK;
    return { ...jwk, alg, kid: await calculateJwkThumbprint(jwk), use: 'sig' };
  };
  return { endpoint: `http://127.0.0.1:${port}`, keyArn, calls, publicJwk, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function signRaw(key: KeyObject, message: Buffer, algorithm: string): Buffer {
  if (algorithm === 'RSASSA_PSS_SHA_256') return sign('sha256', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return sign('sha256', message, { key, dsaEncoding: 'der' });
}
