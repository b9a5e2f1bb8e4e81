import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSettings } from '../../lambdas/core/settings.ts';
import { startTestStack, TEST_SETTINGS, type TestStack } from '../support/local-stack.ts';
import { httpsRequest } from '../support/https-client.ts';

describe('probe', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ settings: validateSettings({ ...TEST_SETTINGS, longPollSeconds: 0, leaseSeconds: 2 }) });
  });
  afterAll(async () => stack?.stop());
  it('probes', async () => {
    const alpha = stack.client('tpp-alpha');
    const authorization = `Bearer ${await stack.token('tpp-alpha')}`;
    await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { 'urn:x': {} }, jti: 'seed-1' });
    const show = async (label: string, body: string | Buffer, headers: Record<string, string | string[]> = {}) => {
      const r = await httpsRequest(stack.config.pollUrl, { ...alpha, headers: { 'content-type': 'application/json', authorization, ...headers }, body });
      console.log(label, r.status, r.body.slice(0, 200), r.headers['x-fapi-interaction-id']);
    };
    await show('lone surrogate ack', JSON.stringify({ returnImmediately: true, maxEvents: 0, ack: ['\ud800'] }));
    await show('lone surrogate setErrs', JSON.stringify({ returnImmediately: true, maxEvents: 0, setErrs: { '\udc00x': { err: 'e' } } }));
    await show('lone surrogate err', JSON.stringify({ returnImmediately: true, maxEvents: 0, setErrs: { 'seed-1': { err: '\ud800' } } }));
    await stack.publisher.publish({ recipients: ['tpp-alpha'], events: { 'urn:x': {} }, jti: 'seed-2' });
    await show('lone surrogate desc', JSON.stringify({ returnImmediately: true, maxEvents: 0, setErrs: { 'seed-2': { err: 'e', description: 'a\udfffb' } } }));
    console.log(await stack.store.readRecord('tpp-alpha', 'seed-2'));
    await show('nul ack', JSON.stringify({ returnImmediately: true, maxEvents: 0, ack: ['\u0000'] }));
    await show('deep5000', '['.repeat(5000) + ']'.repeat(5000));
    await show('deep200k', '['.repeat(200000) + ']'.repeat(200000));
    await show('deepobj', '{"a":'.repeat(100000) + '1' + '}'.repeat(100000));
    await show('bom', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"returnImmediately":true,"maxEvents":0}')]));
    await show('proto', '{"__proto__":{"x":1}}');
    await show('constructor setErrs', '{"returnImmediately":true,"maxEvents":0,"setErrs":{"constructor":{"err":"x"},"__proto__":{"err":"y"}}}');
    await show('dup ct', '{}', { 'content-type': ['application/json', 'application/json'] });
    await show('lower bearer', '{"returnImmediately":true,"maxEvents":0}', { authorization: authorization.replace('Bearer', 'bearer') });
    await show('latin1 id', '{"returnImmediately":true,"maxEvents":0}', { 'x-fapi-interaction-id': 'caf\u00e9' });
    await show('ws id', '{"returnImmediately":true,"maxEvents":0}', { 'x-fapi-interaction-id': ' \tabc\t ' });
    await show('huge id', '{"returnImmediately":true,"maxEvents":0}', { 'x-fapi-interaction-id': 'x'.repeat(20000) }).catch((e) => console.log('huge id err', e));
    const big = { returnImmediately: true, maxEvents: 0, ack: Array.from({ length: 10000 }, (_, i) => `a${i}`.padEnd(128, 'x')) };
    let t = Date.now();
    await show('10k acks', JSON.stringify(big));
    console.log('10k acks ms', Date.now() - t);
    t = Date.now();
    for (let i = 0; i < 200; i++) await httpsRequest(stack.config.pollUrl, { ...alpha, headers: { authorization }, body: { bad: 1 } });
    console.log('200 fresh-conn 400s ms', Date.now() - t);
    const agent = new Agent({ keepAlive: true, ...alpha });
    const send = () => new Promise<number>((resolve, reject) => {
      const req = request(stack.config.pollUrl, { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
      req.on('error', reject); req.end('{"bad":1}');
    });
    t = Date.now();
    for (let i = 0; i < 500; i++) await send();
    console.log('500 keepalive 400s ms', Date.now() - t);
    const { QueryCommand } = await import('@aws-sdk/lib-dynamodb');
    t = Date.now();
    for (let i = 0; i < 200; i++) await stack.documentClient.send(new QueryCommand({ TableName: stack.config.dynamodb.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'Q#tpp-alpha' }, ConsistentRead: true }));
    console.log('200 queries ms', Date.now() - t);
    t = Date.now();
    for (let i = 0; i < 100; i++) await send2();
    async function send2() { return stack.poll('tpp-alpha', { returnImmediately: true, maxEvents: 1 }); }
    console.log('100 valid polls ms', Date.now() - t);
    expect(1).toBe(1);
  }, 120000);
});
