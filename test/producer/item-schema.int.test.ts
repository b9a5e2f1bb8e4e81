import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../local/dynamodb.ts';
import { inProcess } from '../support/cli.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { schemaErrors, semanticViolations, vectors } from '../support/queued-set-item.ts';

describe('the queued-SET item: JSON Schema and test vectors', () => {
  it.each(vectors.valid.map((v) => [v.name, v] as const))('valid: %s', async (_name, { item }) => {
    expect(schemaErrors(item)).toEqual([]);
    expect(await semanticViolations(item, vectors.jwks)).toEqual([]);
  });

  it.each(vectors.invalid.filter((v) => v.violates === 'schema').map((v) => [v.name, v] as const))('invalid, caught by the schema: %s', (_name, { item }) => {
    expect(schemaErrors(item)).not.toEqual([]);
  });

  it.each(vectors.invalid.filter((v) => v.violates === 'semantic').map((v) => [v.name, v] as const))('invalid, caught by a rule the schema cannot state: %s', async (_name, { item, rule }) => {
    expect(schemaErrors(item)).toEqual([]);
    expect(await semanticViolations(item, vectors.jwks)).toEqual([rule]);
  });

  describe('against the local stack', () => {
    let stack: TestStack;
    const raw = () => createDynamoClient(stack.config.dynamodb.endpoint);
    beforeAll(async () => {
      stack = await startTestStack();
    });
    afterAll(() => stack?.stop());

    it("setpoll's own publisher writes items that conform to the schema", async () => {
      const { jti, set } = await stack.publisher.publish({ recipients: ['tpp-beta'], events: { 'https://example.com/event': {} } });
      const client = raw();
      const out = await client.send(new GetItemCommand({ TableName: stack.config.dynamodb.tableName, Key: { pk: { S: 'Q#tpp-beta' }, sk: { S: `S#${jti}` } } }));
      client.destroy();

      expect(out.Item).toEqual({ pk: { S: 'Q#tpp-beta' }, sk: { S: `S#${jti}` }, jti: { S: jti }, set: { S: set }, ttl: { N: expect.stringMatching(/^\d+$/) } });
      expect(schemaErrors(out.Item)).toEqual([]);
      expect(await semanticViolations(out.Item as never, { keys: [stack.publicJwk] })).toEqual([]);
    });

    it('a valid vector put as is (low-level PutItem) is delivered, verifies with the published vector key, and is acked', async () => {
      const file = join(stack.scratch, 'vector-key.json');
      writeFileSync(file, JSON.stringify(vectors.jwks.keys[0]));
      expect((await inProcess('keys', 'register', '--jwk', file, '--config', stack.configFile)).code).toBe(0);
      const { item } = vectors.valid[0]!;
      const jti = item.jti!.S!;
      const client = raw();
      await client.send(new PutItemCommand({ TableName: stack.config.dynamodb.tableName, Item: item as never, ConditionExpression: 'attribute_not_exists(sk)' }));
      client.destroy();

      const res = await stack.poll('tpp-alpha', { returnImmediately: true });
      expect(res.status).toBe(200);
      const { sets } = res.json<{ sets: Record<string, string> }>();
      expect(Object.keys(sets)).toEqual([jti]);
      const jwks = (await httpsRequest(stack.config.publicJwksUrl, { method: 'GET', ca: stack.pki.caCertPem })).json<{ keys: never[] }>();
      const { payload } = await jwtVerify(sets[jti]!, createLocalJWKSet(jwks), { audience: 'tpp-alpha', typ: 'secevent+jwt', currentDate: new Date(1767225600_000) });
      expect(payload.jti).toBe(jti);
      const ack = await stack.poll('tpp-alpha', { returnImmediately: true, ack: [jti], maxEvents: 0 });
      expect(ack.json()).toEqual({ sets: {}, moreAvailable: false });
    });
  });
});
