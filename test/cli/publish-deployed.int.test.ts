import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningJwk, publicJwk } from '../../lambdas/producer/signer.ts';
import { fetchTrustingCa } from '../../local/fetch-with-ca.ts';
import { inProcess } from '../support/cli.ts';
import { startKmsStandIn, type KmsStandIn } from '../support/kms-stand-in.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

const ISSUER = 'https://events.bank.example';

/**
 * `setpoll publish --table` as against a deployment: the AWS SDK's default chain, pointed at the
 * test's DynamoDB Local and a KMS stand-in with the SDK's own endpoint variables.
 */
describe('setpoll publish --table (a deployed table)', () => {
  let stack: TestStack;
  let kms: KmsStandIn;
  let table: string[];
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    stack = await startTestStack();
    kms = await startKmsStandIn('rsa');
    table = ['--table', stack.config.dynamodb.tableName, '--region', 'us-east-1'];
  });
  afterAll(async () => {
    await stack?.stop();
    await kms?.close();
  });
  beforeEach(() => {
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: stack.config.dynamodb.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // Where the CLI would find the local dev key by default: it must not use it.
      SETPOLL_STATE_DIR: stack.dir,
      SETPOLL_ISSUER: undefined,
      SETPOLL_KMS_KEY_ARN: undefined,
    };
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const queue = async (clientId: string) => (await stack.poll(clientId, { returnImmediately: true })).json<{ sets: Record<string, string> }>().sets;
  const ack = (clientId: string, jti: string) => stack.poll(clientId, { returnImmediately: true, ack: [jti], maxEvents: 0 });

  it('refuses to sign without a key named for the deployment, even with the local dev key at hand, and queues nothing', async () => {
    const run = await inProcess('publish', '-r', 'tpp-alpha', '--jti', 'no-key', '--issuer', ISSUER, ...table);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "setpoll: publishing to a deployed table signs with the deployment's KMS key: pass --kms-key-arn ARN or --stack-outputs FILE " +
        "(its SigningKeyArn), or --key FILE.jwk for a producer key published with `setpoll keys register`\nRun 'setpoll publish --help' for usage.\n",
    );
    expect(await queue('tpp-alpha')).toEqual({});
    expect(kms.calls).toEqual([]);
  });

  it('signs with the KMS key given by --kms-key-arn; the SET is delivered and verifies against that key', async () => {
    const run = await inProcess('publish', '-r', 'tpp-alpha', '--jti', 'kms-1', '--issuer', ISSUER, '--kms-key-arn', kms.keyArn, ...table);
    const sets = await queue('tpp-alpha');

    expect(run).toEqual({ code: 0, stdout: 'kms-1\n', stderr: '' });
    expect(kms.calls).toEqual(['GetPublicKey', 'Sign']);
    expect(Object.keys(sets)).toEqual(['kms-1']);
    expect(decodeProtectedHeader(sets['kms-1']!)).toMatchObject({ alg: 'PS256', typ: 'secevent+jwt' });
    // After `keys rotate` records this key as a previous key, the public JWKS verifies its SETs.
    const rotate = await inProcess('keys', 'rotate', '--kms-key-arn', kms.keyArn, '--keep', '600', ...table);
    expect(rotate.code).toBe(0);
    const keys = createRemoteJWKSet(new URL(stack.config.publicJwksUrl), { [customFetch]: fetchTrustingCa(stack.pki.caCertPem) });
    const { payload } = await jwtVerify(sets['kms-1']!, keys, { issuer: ISSUER, audience: 'tpp-alpha', typ: 'secevent+jwt' });
    expect(payload.jti).toBe('kms-1');
    expect((await ack('tpp-alpha', 'kms-1')).json()).toEqual({ sets: {}, moreAvailable: false });
  });

  it('finds the key in the outputs file cdk deploy --outputs-file writes', async () => {
    const outputs = join(stack.scratch, 'cdk-outputs.json');
    writeFileSync(outputs, JSON.stringify({ Setpoll: { TableName: stack.config.dynamodb.tableName, SigningKeyArn: kms.keyArn, TableArn: 'arn:aws:dynamodb:…' } }));
    kms.calls.length = 0;

    const run = await inProcess('publish', '-r', 'tpp-beta', '--jti', 'kms-2', '--issuer', ISSUER, '--stack-outputs', outputs, ...table);

    expect(run).toEqual({ code: 0, stdout: 'kms-2\n', stderr: '' });
    expect(kms.calls).toEqual(['GetPublicKey', 'Sign']);
    expect(Object.keys(await queue('tpp-beta'))).toEqual(['kms-2']);
    await ack('tpp-beta', 'kms-2');
  });

  it('signs with a producer key when --key names it', async () => {
    const jwk = await generateSigningJwk('ES256');
    const file = join(stack.scratch, 'producer.jwk');
    writeFileSync(file, JSON.stringify(jwk));

    const run = await inProcess('publish', '-r', 'tpp-beta', '--jti', 'own-key', '--issuer', ISSUER, '--key', file, ...table);
    const sets = await queue('tpp-beta');

    expect(run).toEqual({ code: 0, stdout: 'own-key\n', stderr: '' });
    expect(decodeProtectedHeader(sets['own-key']!)).toEqual({ alg: 'ES256', kid: jwk.kid, typ: 'secevent+jwt' });
    expect(publicJwk(jwk).kid).not.toBe(stack.publicJwk.kid);
    await ack('tpp-beta', 'own-key');
  });

  it.each([
    [['--kms-key-arn', 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000'], 1, /^setpoll: Cannot sign with the KMS key arn:aws:kms:us-east-1:123456789012:key\/0{8}-0{4}-0{4}-0{4}-0{12}: NotFoundException: /],
    [['--kms-key-arn', 'x', '--alg', 'HS256'], 2, /^setpoll: Unsupported SET algorithm HS256; use one of PS256, RS256, ES256\n/],
    [['--kms-key-arn', 'x', '--key', 'k.jwk'], 2, /^setpoll: --key and --kms-key-arn\/--stack-outputs\/--alg cannot be used together\n/],
    [['--stack-outputs', '/nonexistent/outputs.json'], 1, /^setpoll: Cannot read the stack outputs \/nonexistent\/outputs.json: no such file\n$/],
  ])('refuses %j clearly and queues nothing', async (args, code, message) => {
    const run = await inProcess('publish', '-r', 'tpp-alpha', '--jti', 'refused', '--issuer', ISSUER, ...args, ...table);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(await queue('tpp-alpha')).toEqual({});
  });

  it('refuses the KMS options against the local stack', async () => {
    const run = await inProcess('publish', '-r', 'tpp-alpha', '--kms-key-arn', kms.keyArn, '--config', stack.configFile);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^setpoll: --kms-key-arn, --stack-outputs and --alg are for a deployed table \(--table\)\n/);
  });
});
