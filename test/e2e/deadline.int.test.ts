/**
 * A hung DynamoDB call under the poll handler, through the local stack (real HTTPS, real client
 * certificates, DynamoDB Local): the call gives up before the invocation runs out, and the recipient
 * gets the documented 503 with Retry-After, not the integration timeout.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { SDK_CALL_RESERVE_MS } from '../../lambdas/runtime/deadline.ts';
import { httpsRequest } from '../support/https-client.ts';
import { TEST_SETTINGS, startTestStack, type TestStack } from '../support/local-stack.ts';

/** The local integration timeout: the Lambda timeout the handler sees as its remaining time. */
const INTEGRATION_TIMEOUT_MS = 4000;
const UNAVAILABLE = { err: 'temporarily_unavailable', description: 'The service is temporarily unavailable; retry shortly' };

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    integrationTimeoutMs: INTEGRATION_TIMEOUT_MS,
    // Every poll reads the registry: the hung call is the first one the handler makes.
    settings: validateSettings({ ...TEST_SETTINGS, identityCacheSeconds: 0 }),
  });
});
afterAll(() => stack?.stop());

/** Every DynamoDB call of `client` from now on hangs: it never reaches DynamoDB and never answers. */
function hangCalls(client: DynamoDBDocumentClient): { hung: () => number; stop: () => void } {
  let hung = 0;
  const name = 'setpollHangEveryCall';
  client.middlewareStack.add(
    () => () => {
      hung++;
      return new Promise<never>(() => undefined);
    },
    { step: 'finalizeRequest', name, priority: 'low' },
  );
  return { hung: () => hung, stop: () => void client.middlewareStack.remove(name) };
}

describe('a hung DynamoDB call under the poll handler', () => {
  it('is answered 503 with Retry-After before the integration timeout, and polls work again once DynamoDB answers', async () => {
    // Prepare
    const token = await stack.token('tpp-alpha');
    const request = () =>
      httpsRequest(stack.config.pollUrl, {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{"returnImmediately":true}',
        ...stack.client('tpp-alpha'),
      });
    const hang = hangCalls(stack.documentClient);
    // Act
    const started = Date.now();
    let res;
    try {
      res = await request();
    } finally {
      hang.stop();
    }
    const elapsed = Date.now() - started;
    const after = await request();
    // Assess: the handler's own 503 (the local server's timeout answer has no Retry-After and another description).
    expect(hang.hung()).toBeGreaterThanOrEqual(1);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual(UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('1');
    expect(elapsed).toBeGreaterThanOrEqual(INTEGRATION_TIMEOUT_MS - SDK_CALL_RESERVE_MS - 200);
    expect(elapsed).toBeLessThan(INTEGRATION_TIMEOUT_MS);
    expect(after.status).toBe(200);
  });
});
