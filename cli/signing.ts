/** Where `setpoll publish` and `setpoll keys` get signing keys: a private JWK file, or a KMS key. */
import { KMSClient } from '@aws-sdk/client-kms';
import type { JWK } from 'jose';
import { KmsSigner } from '../lambdas/producer/kms-signer.ts';
import { assertAlgorithm } from '../lambdas/producer/signer.ts';
import { CliFailure, UsageError } from './errors.ts';
import { readJsonFile } from './files.ts';
import type { AwsClientOptions } from './target.ts';

/** Reads a private JWK from a file; a missing or unusable file is a readable failure. */
export async function readPrivateJwk(file: string): Promise<JWK> {
  const jwk = (await readJsonFile(file, 'the signing key')) as JWK;
  if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) throw new CliFailure(`${file} is not a private JWK`);
  return jwk;
}

/**
 * The outputs of a deployed stack, from the file `cdk deploy --outputs-file FILE` writes
 * (`{"<stack>": {"SigningKeyArn": ..., ...}}`), or a flat `{"SigningKeyArn": ...}`.
 */
export async function readStackOutputs(file: string): Promise<Record<string, string>> {
  const parsed = await readJsonFile(file, 'the stack outputs');
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(parsed)) throw new CliFailure(`${file} is not a stack outputs file (cdk deploy --outputs-file)`);
  if (typeof parsed.SigningKeyArn === 'string') return parsed as Record<string, string>;
  const stacks = Object.entries(parsed).filter(([, v]) => isRecord(v) && typeof v.SigningKeyArn === 'string');
  if (stacks.length === 1) return stacks[0]![1] as Record<string, string>;
  if (stacks.length === 0) throw new CliFailure(`${file} has no SigningKeyArn output`);
  throw new CliFailure(`${file} holds several setpoll stacks (${stacks.map(([name]) => name).join(', ')}): pass --kms-key-arn`);
}

/** A KMS signer for `keyArn` and the client it uses; close() releases the client. */
export async function kmsSigner(options: { keyArn: string; alg: string; aws: AwsClientOptions | undefined; command: string }): Promise<{ signer: KmsSigner; close(): void }> {
  try {
    assertAlgorithm(options.alg);
  } catch (error) {
    throw new UsageError((error as Error).message, options.command);
  }
  const kms = new KMSClient({ ...options.aws });
  try {
    return { signer: await KmsSigner.create({ kms, keyId: options.keyArn, alg: options.alg }), close: () => kms.destroy() };
  } catch (error) {
    kms.destroy();
    const e = error as Error;
    throw new CliFailure(`Cannot sign with the KMS key ${options.keyArn}: ${e.name === 'TypeError' ? '' : `${e.name}: `}${e.message}`, { cause: e });
  }
}
