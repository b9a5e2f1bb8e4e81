/**
 * Where the commands that sign get their keys: a private JWK file, or a KMS key. publish and
 * streams' announcements sign SETs (their signing options and signingFor), keys rotate reads the
 * key that signs now.
 */
import { resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import type { JWK } from 'jose';
import { TOOL_ENV } from '../lambdas/contract.ts';
import { KmsSigner } from '../lambdas/producer/kms-signer.ts';
import { JwkSigner, assertAlgorithm, type SetSigner } from '../lambdas/producer/signer.ts';
import { signingKeyFileFor } from '../local/config.ts';
import type { OptionsConfig } from './args.ts';
import type { Target } from './connection.ts';
import { CliFailure, UsageError } from './errors.ts';
import { readJsonFile } from './files.ts';
import type { AwsClientOptions } from './target.ts';

/** How a command that signs SETs (publish, streams' announcements) picks its key. */
export const SIGNING_HELP = `  --key FILE.jwk       sign with this private JWK (default: the local stack's signing-key.json).
                       With --table, a producer key whose public half is published
                       (setpoll keys register); the local dev key is never used unless named here
  --kms-key-arn ARN    with --table: sign with the deployment's KMS key (default:
                       $SETPOLL_KMS_KEY_ARN, or SigningKeyArn of --stack-outputs)
  --stack-outputs FILE with --table: the deployment's outputs, as \`cdk deploy --outputs-file\`
                       writes them (SigningKeyArn; SetIssuer is not an output: give --issuer)
  --alg ALG            the KMS key's algorithm: PS256 (default), RS256 or ES256
  --issuer URL         the iss claim (default: the local stack's issuer; with --table:
                       $SETPOLL_ISSUER, else required)`;

export const SIGNING_OPTIONS = {
  key: { type: 'string' },
  'kms-key-arn': { type: 'string' },
  'stack-outputs': { type: 'string' },
  alg: { type: 'string' },
  issuer: { type: 'string' },
} as const satisfies OptionsConfig;

type SigningArgs = { readonly [K in keyof typeof SIGNING_OPTIONS]?: string | undefined };

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

interface Signing {
  readonly signer: SetSigner;
  readonly issuer: string;
  close?(): void;
}

/**
 * Which key signs. Locally: the stack's key (or --key). Against a deployed table: the deployment's
 * KMS key, or a producer key named with --key; never a dev key found by default, which recipients
 * of a deployment could not verify.
 */
export async function signingFor(target: Target, o: SigningArgs, command: string): Promise<Signing> {
  const kmsOptions = o['kms-key-arn'] !== undefined || o['stack-outputs'] !== undefined || o.alg !== undefined;
  if (target.local) {
    if (kmsOptions) throw new UsageError('--kms-key-arn, --stack-outputs and --alg are for a deployed table (--table)', command);
    const keyFile = resolve(o.key ?? signingKeyFileFor(target.local.configFile));
    return { signer: await jwkSigner(keyFile), issuer: o.issuer ?? target.local.config.issuer };
  }
  const issuer = o.issuer ?? process.env.SETPOLL_ISSUER;
  if (!issuer) throw new UsageError('--issuer (or SETPOLL_ISSUER) is required with --table', command);
  if (o.key !== undefined) {
    if (kmsOptions) throw new UsageError('--key and --kms-key-arn/--stack-outputs/--alg cannot be used together', command);
    return { signer: await jwkSigner(resolve(o.key)), issuer };
  }
  const keyArn = o['kms-key-arn'] ?? process.env[TOOL_ENV.kmsKeyArn] ?? (o['stack-outputs'] === undefined ? undefined : (await readStackOutputs(resolve(o['stack-outputs']))).SigningKeyArn);
  if (!keyArn) {
    throw new UsageError(
      `${command === 'publish' ? 'publishing to a deployed table' : `${command} on a deployed table`} signs with the deployment's KMS key: pass --kms-key-arn ARN or --stack-outputs FILE ` +
        '(its SigningKeyArn), or --key FILE.jwk for a producer key published with `setpoll keys register`',
      command,
    );
  }
  const { signer, close } = await kmsSigner({ keyArn, alg: o.alg ?? 'PS256', aws: target.aws, command });
  return { signer, issuer, close };
}

async function jwkSigner(file: string): Promise<JwkSigner> {
  const jwk = await readPrivateJwk(file);
  try {
    return await JwkSigner.fromJwk(jwk);
  } catch (error) {
    throw new CliFailure(`${file} is not a usable signing key: ${(error as Error).message}`);
  }
}
