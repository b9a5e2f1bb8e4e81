import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagementHandler, LambdaSelfScheduler, type FanOutContinuationEvent } from '../../lambdas/handlers/management.ts';
import { runWithInteraction } from '../../lambdas/observability/request-context.ts';
import { lambdaContext } from '../../local/https-server.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { OutputCapture } from '../support/output-capture.ts';

/** Everything the Powertools logger writes goes to stdout/stderr; capture both for the run. */
const captured = new OutputCapture();

let stack: TestStack;

/** The JSON lines written so far: Powertools log lines and EMF (metrics) lines alike. */
const jsonLines = (): Record<string, unknown>[] => captured.jsonLines();
const isEmf = (line: Record<string, unknown>): boolean => '_aws' in line;

beforeAll(async () => {
  captured.start();
  stack = await startTestStack({ logger: new Logger({ serviceName: 'setpoll', logLevel: 'DEBUG' }) });
});

afterAll(async () => {
  captured.stop();
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
    const log = captured.text();
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

  it('every poll handler line, metrics lines included, carries the interaction id, the recipient and the request id', async () => {
    // Prepare
    await stack.publisher.publish({ recipients: ['tpp-beta'], events: { 'https://schemas.openid.net/secevent/risc/event-type/account-enabled': {} } });

    // Act: an answered poll and one rejected after the caller is known.
    await stack.poll('tpp-beta', { returnImmediately: true }, { 'x-fapi-interaction-id': 'trace-poll-1' });
    await stack.poll('tpp-beta', { returnImmediately: 'yes' }, { 'x-fapi-interaction-id': 'trace-poll-2' });

    // Assess
    const answered = jsonLines().filter((l) => l.interactionId === 'trace-poll-1');
    const rejected = jsonLines().filter((l) => l.interactionId === 'trace-poll-2');
    expect(answered.filter(isEmf)).toHaveLength(1);
    expect(answered.filter((l) => l.message === 'Poll answered')).toHaveLength(1);
    expect(rejected.filter((l) => l.message === 'Request rejected')).toHaveLength(1);
    // A rejected request has no figures, so no metrics line.
    expect(rejected.filter(isEmf)).toEqual([]);
    for (const line of [...answered, ...rejected]) {
      expect(line).toMatchObject({ clientId: 'tpp-beta', awsRequestId: expect.stringMatching(/\S/) });
    }
    // The per-recipient backlog age sits on the log line, next to the recipient.
    const [pollLine] = answered.filter((l) => l.message === 'Poll answered');
    expect(pollLine).toMatchObject({ oldestAgeMs: expect.any(Number), variant: 'poll-only', delivered: 1 });
  });

  it('every management handler line, metrics lines included, carries the interaction id, the provider and the request id', async () => {
    // Prepare
    const provider = 'provider-demo';
    const secret = 'management-secret-claim-value';
    await stack.manage(provider, 'POST', '/destinations', { clientId: 'tpp-alpha' }, { 'x-fapi-interaction-id': 'trace-mgmt-0' });

    // Act
    const issued = await stack.manage(
      provider,
      'POST',
      '/notifications',
      { notificationId: 'n-logging-1', events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { reason: secret } } },
      { 'x-fapi-interaction-id': 'trace-mgmt-1' },
    );

    // Assess
    expect(issued.status).toBe(201);
    const lines = jsonLines().filter((l) => l.interactionId === 'trace-mgmt-1');
    expect(lines.filter((l) => l.message === 'Management request answered')).toHaveLength(1);
    const metrics = lines.filter(isEmf);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ NotificationsIssued: 1, service: 'setpoll-management' });
    for (const line of lines) expect(line).toMatchObject({ providerId: provider, awsRequestId: expect.stringMatching(/\S/) });
    expect(captured.text()).not.toContain(secret);
  });

  it('carries the interaction id of the request that started a fan-out into its continuations', async () => {
    // Prepare: the scheduler as deployed (a fake Lambda client), and the handler over the stack's services.
    const sent: { input: { Payload?: Uint8Array } }[] = [];
    const scheduler = new LambdaSelfScheduler({ lambda: { send: async (command: unknown) => void sent.push(command as never) } as never, functionName: 'setpoll-mgmt' });
    const handler = createManagementHandler({
      authorizations: stack.authorizations,
      review: stack.review,
      destinations: stack.destinations,
      notifications: stack.notifications,
      authenticator: {} as never,
      tokens: {} as never,
      publicKeys: async () => [],
      logger: stack.logger,
    });

    // Act: scheduled within a request; continued for a notification that does not exist (refused, logged).
    await runWithInteraction('trace-fanout-1', () => scheduler.schedule('provider-demo', 'n-missing'));
    const event = JSON.parse(new TextDecoder().decode(sent[0]!.input.Payload)) as FanOutContinuationEvent;
    const refused = await handler(event, lambdaContext({ functionName: 'setpoll-mgmt', timeoutMs: 30_000 }));

    // Assess
    expect(event).toEqual({ setpollFanOut: { providerId: 'provider-demo', notificationId: 'n-missing', interactionId: 'trace-fanout-1' } });
    expect(refused.statusCode).toBe(404);
    const lines = jsonLines().filter((l) => l.message === 'Fan-out continuation refused');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ interactionId: 'trace-fanout-1', providerId: 'provider-demo', notificationId: 'n-missing', awsRequestId: expect.stringMatching(/\S/) });
  });

  it('leaves no handler line of this run without an interaction id and a request id', () => {
    // Prepare: the requests of the tests above (captured)
    const handlerMessages = new Set([
      'Poll answered',
      'Request rejected',
      'Request failed',
      'Transient dependency failure',
      'Unhandled error',
      'Management request answered',
      'Fan-out continued',
      'Fan-out continuation refused',
    ]);
    // Act
    const lines = jsonLines().filter((l) => isEmf(l) || handlerMessages.has(l.message as string));
    // Assess
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) expect(line).toMatchObject({ interactionId: expect.stringMatching(/\S/), awsRequestId: expect.stringMatching(/\S/) });
  });
});
