/**
 * `setpoll streams` against the local stack: an operator's pause is announced to the receiver with a
 * stream-updated SET before delivery stops, and a receiver manages its own stream over the API.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSF_PATHS, STREAM_UPDATED_EVENT } from '../../lambdas/ssf/vocabulary.ts';
import { inProcess } from '../support/cli.ts';
import { httpsRequest } from '../support/https-client.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';
import { SESSION_REVOKED } from '../support/event-types.ts';

const ALPHA = 'tpp-alpha';

let stack: TestStack;
let streamId: string;
let config: string[];

beforeAll(async () => {
  stack = await startTestStack();
  config = ['--config', stack.configFile];
  const created = await httpsRequest(`${stack.server.origin}${SSF_PATHS.configuration}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await stack.token(ALPHA, 'ssf.manage')}` },
    body: { events_requested: [SESSION_REVOKED], description: 'alpha sessions' },
    ...stack.client(ALPHA),
  });
  streamId = created.json<{ stream_id: string }>().stream_id;
});
afterAll(() => stack?.stop());

/** The SETs waiting for alpha's stream, acknowledged at once; their event types in order. */
async function take(): Promise<string[]> {
  const { sets } = (await stack.poll(ALPHA)).json<{ sets: Record<string, string> }>();
  if (Object.keys(sets).length > 0) await stack.poll(ALPHA, { ack: Object.keys(sets), maxEvents: 0, returnImmediately: true });
  return Object.values(sets).map((s) => Object.keys(decodeJwt(s).events as object)[0]!);
}

describe('setpoll streams (operator)', () => {
  it('lists and shows the streams', async () => {
    // Act
    const list = await inProcess('streams', 'list', '--recipient', ALPHA, '--json', ...config);
    const show = await inProcess('streams', 'show', '--recipient', ALPHA, ...config);
    // Assert
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({
      streams: [expect.objectContaining({ stream_id: streamId, aud: ALPHA, status: 'enabled', events_delivered: [SESSION_REVOKED], description: 'alpha sessions' })],
    });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`stream       ${streamId}\n`);
    expect(show.stdout).toContain('status       enabled\n');
  });

  it('pauses with a stream-updated SET first, holds what follows, and delivers it on enable', async () => {
    // Act
    const paused = await inProcess('streams', 'pause', '--recipient', ALPHA, '--reason', 'maintenance', ...config);
    const held = await stack.publisher.publish({ recipients: [ALPHA], events: { [SESSION_REVOKED]: {} }, txn: 'txn-held' });
    const whilePaused = await take();
    const enabled = await inProcess('streams', 'enable', '--recipient', ALPHA, '--json', ...config);
    const afterwards = await take();
    // Assert
    expect(paused).toEqual({ code: 0, stdout: `The stream of ${ALPHA} is paused (announced with a stream-updated SET)\n`, stderr: '' });
    expect(held.outcomes.get(ALPHA)).toBe('queued');
    expect(whilePaused).toEqual([STREAM_UPDATED_EVENT]);
    expect(JSON.parse(enabled.stdout)).toEqual({ stream_id: streamId, status: 'enabled' });
    expect(afterwards).toEqual([SESSION_REVOKED, STREAM_UPDATED_EVENT]);
  });

  it('refuses delete without --yes, and an unknown receiver', async () => {
    // Act
    const noYes = await inProcess('streams', 'delete', '--recipient', ALPHA, ...config);
    const unknown = await inProcess('streams', 'pause', '--recipient', 'tpp-nobody', ...config);
    // Assert
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('add --yes to confirm');
    expect(unknown).toEqual({ code: 1, stdout: '', stderr: 'setpoll: tpp-nobody has no SSF stream\n' });
  });
});

describe('setpoll streams --receiver', () => {
  it('shows, pauses and enables its own stream over the API, without announcements', async () => {
    // Act
    const show = await inProcess('streams', 'show', '--receiver', '--recipient', ALPHA, '--json', ...config);
    const paused = await inProcess('streams', 'pause', '--receiver', '--recipient', ALPHA, ...config);
    const whilePaused = await take();
    const enabled = await inProcess('streams', 'enable', '--receiver', '--recipient', ALPHA, ...config);
    // Assert
    expect(JSON.parse(show.stdout)).toMatchObject({ stream_id: streamId, aud: ALPHA, status: 'enabled', events_delivered: [SESSION_REVOKED] });
    expect(paused).toEqual({ code: 0, stdout: `The stream of ${ALPHA} is paused\n`, stderr: '' });
    expect(whilePaused).toEqual([]);
    expect(enabled.stdout).toBe(`The stream of ${ALPHA} is enabled\n`);
    expect(await take()).toEqual([]);
  });

  it('deletes its own stream', async () => {
    // Act
    const deleted = await inProcess('streams', 'delete', '--receiver', '--recipient', ALPHA, '--yes', ...config);
    const list = await inProcess('streams', 'list', '--receiver', '--recipient', ALPHA, '--json', ...config);
    // Assert
    expect(deleted).toEqual({ code: 0, stdout: `Deleted the stream of ${ALPHA}\n`, stderr: '' });
    expect(JSON.parse(list.stdout)).toEqual({ streams: [] });
  });
});
