import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcess } from '../support/cli.ts';
import { startTestStack, type TestStack } from '../support/local-stack.ts';

/** `setpoll publish` to a recipient nobody can poll as: a warning, and no SET unless --force. */
describe('setpoll publish to an unregistered recipient', () => {
  let stack: TestStack;
  let config: string[];

  beforeAll(async () => {
    stack = await startTestStack();
    config = ['--config', stack.configFile];
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses with exit code 1, names the recipient meant, and queues nothing', async () => {
    // Act
    const run = await inProcess('publish', '--recipient', 'tpp-alpah', '--jti', 'typo-1', ...config);

    // Assess
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'setpoll: warning: "tpp-alpah" has no registered certificate, so nobody can poll its SETs (did you mean tpp-alpha?)\n' +
        'setpoll: nothing published: register tpp-alpah first (setpoll recipients add), or publish anyway with --force\n',
    });
    // Registered afterwards, the would-be recipient finds nothing queued.
    await stack.mintClient('tpp-alpah');
    expect((await stack.poll('tpp-alpah')).json<{ sets: Record<string, string> }>().sets).toEqual({});
  });

  it('publishes to registered recipients without a word, and to an unregistered one with --force and the warning', async () => {
    // Act
    const registered = await inProcess('publish', '--recipient', 'tpp-beta', '--jti', 'known-1', ...config);
    const forced = await inProcess('publish', '--recipient', 'not-yet-registered', '--jti', 'forced-1', '--force', ...config);

    // Assess
    expect(registered).toEqual({ code: 0, stdout: 'known-1\n', stderr: '' });
    expect(forced).toEqual({
      code: 0,
      stdout: 'forced-1\n',
      stderr: 'setpoll: warning: "not-yet-registered" has no registered certificate, so nobody can poll its SETs\n',
    });
    const minted = await stack.mintClient('not-yet-registered');
    const poll = await stack.poll(minted.clientId);
    expect(Object.keys(poll.json<{ sets: Record<string, string> }>().sets)).toEqual(['forced-1']);
  });
});
