import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/** Everything the Powertools logger writes goes to stdout/stderr; capture both for the run. */
const captured: string[] = [];
const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

let stack: TestStack;

beforeAll(async () => {
  const capture = (chunk: unknown): boolean => {
    captured.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  stack = await startTestStack({ logger: new Logger({ serviceName: 'setpoll', logLevel: 'DEBUG' }) });
});

afterAll(async () => {
  process.stdout.write = writes.out;
  process.stderr.write = writes.err;
  await stack?.stop();
});

describe('logs', () => {
  it('carry the interaction id and recipient, but never SET contents, tokens or certificate PEMs', async () => {
    // Prepare: a full delivery cycle, plus rejected requests that carry secrets.
    const published = await stack.publisher.publish({
      recipients: ['tpp-alpha'],
      events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { reason: 'hijacking' } },
      sub: 'user-secret-subject',
    });
    const token = await stack.token('tpp-alpha');
    const material = stack.client('tpp-alpha');

    // Act
    const delivered = await stack.poll('tpp-alpha', { returnImmediately: true }, { 'x-fapi-interaction-id': 'trace-me-1' });
    await stack.poll('tpp-alpha', { returnImmediately: true, setErrs: { [published.jti]: { err: 'invalid_key', description: 'private reason text' } } });
    await stack.poll('tpp-alpha', { returnImmediately: true }, { authorization: `Bearer ${token}x` });
    await stack.poll('tpp-alpha', '{"ack": ["unterminated', { 'x-fapi-interaction-id': 'trace-me-2' });

    // Assess
    expect(delivered.json()).toEqual({ sets: { [published.jti]: published.set }, moreAvailable: false });
    const log = captured.join('');
    const lines = log.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l.includes('"interactionId":"trace-me-1"') && l.includes('"clientId":"tpp-alpha"'))).toBe(true);
    expect(lines.some((l) => l.includes('"interactionId":"trace-me-2"') && l.includes('"code":"invalid_request"'))).toBe(true);
    const [header, payload, signature] = published.set.split('.');
    for (const secret of [published.set, header!, payload!, signature!, token, token.split('.')[1]!, 'user-secret-subject', 'hijacking', 'private reason text']) {
      expect(log).not.toContain(secret);
    }
    const pemBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[1]!;
    expect(log).not.toContain('BEGIN CERTIFICATE');
    expect(log).not.toContain('PRIVATE KEY');
    expect(log).not.toContain(pemBody(material.cert));
    expect(log).not.toContain(pemBody(material.key));
  });
});
