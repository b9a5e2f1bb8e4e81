import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { HELP } from '../../cli/main.ts';
import { POLL_HELP } from '../../cli/commands/poll.ts';
import { PUBLISH_HELP } from '../../cli/commands/publish.ts';
import { inProcess } from '../support/cli.ts';

describe('CLI conventions', () => {
  it('prints its version for --version, -V and version', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      expect(await inProcess(flag)).toEqual({ code: 0, stdout: `setpoll ${packageJson.version}\n`, stderr: '' });
    }
    expect(await inProcess('--version', '--json')).toEqual({ code: 0, stdout: `{"version":"${packageJson.version}"}\n`, stderr: '' });
  });

  it('prints a command\'s own help for help <command>, as <command> --help does', async () => {
    expect(await inProcess('help', 'poll')).toEqual({ code: 0, stdout: `${POLL_HELP}\n`, stderr: '' });
    expect(await inProcess('poll', '--help')).toEqual({ code: 0, stdout: `${POLL_HELP}\n`, stderr: '' });
    expect(await inProcess('help', 'publish')).toEqual({ code: 0, stdout: `${PUBLISH_HELP}\n`, stderr: '' });
    expect(await inProcess('help')).toEqual({ code: 0, stdout: `${HELP}\n`, stderr: '' });
  });

  it('names the command meant by a near-miss', async () => {
    expect(await inProcess('pol')).toEqual({
      code: 2,
      stdout: '',
      stderr: `setpoll: unknown command "pol" (did you mean poll?): use publish, recipients, destinations, notify, poll, queue, keys, doctor or streams\nRun 'setpoll --help' for usage.\n`,
    });
    expect((await inProcess('help', 'recipeints')).stderr.split('\n')[0]).toBe(
      'setpoll: unknown command "recipeints" (did you mean recipients?): use publish, recipients, destinations, notify, poll, queue, keys, doctor or streams',
    );
    expect((await inProcess('frobnicate')).stderr.split('\n')[0]).toBe('setpoll: unknown command "frobnicate": use publish, recipients, destinations, notify, poll, queue, keys, doctor or streams');
  });

  it('names the option meant by a near-miss', async () => {
    expect(await inProcess('publish', '--recipeint', 'tpp-alpha')).toEqual({
      code: 2,
      stdout: '',
      stderr: "setpoll: Unknown option '--recipeint' (did you mean --recipient?)\nRun 'setpoll publish --help' for usage.\n",
    });
    expect((await inProcess('poll', '--follwo')).stderr.split('\n')[0]).toBe("setpoll: Unknown option '--follwo' (did you mean --follow?)");
    expect((await inProcess('poll', '--bogus')).stderr.split('\n')[0]).toBe("setpoll: Unknown option '--bogus'");
  });

  it('prints errors as one JSON object under --json', async () => {
    expect(await inProcess('publish', '--json', '--recipeint', 'x')).toEqual({
      code: 2,
      stdout: '',
      stderr: `${JSON.stringify({ error: { kind: 'usage', message: "Unknown option '--recipeint' (did you mean --recipient?)", command: 'publish', exitCode: 2 } })}\n`,
    });
    expect(await inProcess('pol', '--json')).toEqual({
      code: 2,
      stdout: '',
      stderr: `${JSON.stringify({ error: { kind: 'usage', message: 'unknown command "pol" (did you mean poll?): use publish, recipients, destinations, notify, poll, queue, keys, doctor or streams', exitCode: 2 } })}\n`,
    });
    const failed = await inProcess('poll', '--json', '--config', '/nonexistent/local.json');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    const parsed = JSON.parse(failed.stderr) as { error: { kind: string; exitCode: number; message: string } };
    expect(parsed.error).toMatchObject({ kind: 'failure', exitCode: 1 });
    expect(parsed.error.message).toContain('/nonexistent/local.json');
  });
});
