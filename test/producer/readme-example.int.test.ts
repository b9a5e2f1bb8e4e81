import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTrustingCa } from '../../local/fetch-with-ca.ts';
import { inProcess } from '../support/cli.ts';
import { startKmsStandIn, type KmsStandIn } from '../support/kms-stand-in.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** The documented producer example (docs/producers.md, linked from the README): its first ts block, exactly as written. */
function readmeExample(): string {
  const page = readFileSync(join(ROOT, 'docs/producers.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(page);
  if (!block) throw new Error('docs/producers.md has no ts block');
  return block[1]!;
}

describe("the documented producer example (docs/producers.md)", () => {
  let stack: TestStack;
  let kms: KmsStandIn;
  // Inside the package (so `setpoll/producer` resolves through package.json exports), git-ignored.
  const dir = join(ROOT, '.scratch', `readme-${process.pid}`);

  beforeAll(async () => {
    stack = await startTestStack();
    kms = await startKmsStandIn('rsa');
    mkdirSync(dir, { recursive: true });
  });
  afterAll(async () => {
    await stack?.stop();
    await kms?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written: it queues a SET signed by the KMS key, delivered and verifiable through the public JWKS', async () => {
    // Prepare: the example, and the environment a deployment's producer has (pointed at local stand-ins).
    const file = join(dir, 'producer-example.ts');
    writeFileSync(file, readmeExample());
    const env = {
      ...process.env,
      SETPOLL_TABLE_NAME: stack.config.dynamodb.tableName,
      SETPOLL_KMS_KEY_ARN: kms.keyArn,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: stack.config.dynamodb.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
    };

    // Act
    const { stdout } = await run(join(ROOT, 'node_modules/.bin/tsx'), [file], { cwd: ROOT, env, timeout: 60_000 });
    const sets = (await stack.poll('tpp-alpha', { returnImmediately: true })).json<{ sets: Record<string, string> }>().sets;

    // Assess
    const [jti, outcome] = stdout.trim().split(' ');
    expect(outcome).toBe('queued');
    expect(Object.keys(sets)).toEqual([jti]);
    expect(kms.calls).toEqual(['GetPublicKey', 'Sign']);
    // The deployment's JWKS holds the KMS key; here it is published beside the local key.
    const jwkFile = join(dir, 'kms-key.pub.json');
    writeFileSync(jwkFile, JSON.stringify(await kms.publicJwk('PS256')));
    expect((await inProcess('keys', 'register', '--jwk', jwkFile, '--config', stack.configFile)).code).toBe(0);
    const keys = createRemoteJWKSet(new URL(stack.config.publicJwksUrl), { [customFetch]: fetchTrustingCa(stack.pki.caCertPem) });
    const { payload } = await jwtVerify(sets[jti!]!, keys, { issuer: 'https://events.bank.example', audience: 'tpp-alpha', typ: 'secevent+jwt' });
    expect(payload).toMatchObject({ jti, sub_id: { format: 'opaque', id: 'user-123' } });
  });
});
