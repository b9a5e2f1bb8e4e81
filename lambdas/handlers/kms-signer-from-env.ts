import type { KMSClient } from '@aws-sdk/client-kms';
import { DeferredSigner } from '../aws/deferred-signer.ts';
import { DEFAULT_SET_ALGORITHM, ENV } from '../contract.ts';
import { KmsSigner } from '../producer/kms-signer.ts';
import { assertAlgorithm } from '../producer/signer.ts';
import { requiredEnv } from './wiring.ts';

/**
 * The deployment's SET signer: the KMS key SETPOLL_SIGNING_KEY_ID, signing with SETPOLL_SIGNING_ALG,
 * loaded on first use (so a cold start makes no KMS call). The management function signs with it;
 * it and the public-keys function publish its public half.
 */
export function kmsSignerFromEnv(env: NodeJS.ProcessEnv, kms: KMSClient): DeferredSigner<KmsSigner> {
  const keyId = requiredEnv(env, ENV.signingKeyId);
  const alg = env[ENV.signingAlg] || DEFAULT_SET_ALGORITHM;
  assertAlgorithm(alg);
  return new DeferredSigner(alg, () => KmsSigner.create({ kms, keyId, alg }));
}
