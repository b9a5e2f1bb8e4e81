import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { HELP } from '../../cli/main.ts';
import { POLL_HELP } from '../../cli/commands/poll.ts';
import { PUBLISH_HELP } from '../../cli/commands/publish.ts';
import { QUEUE_HELP } from '../../cli/commands/queue.ts';
import { RECIPIENTS_HELP } from '../../cli/commands/recipients.ts';
import { helpFooter } from '../../cli/target.ts';
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
    expect(await inProcess('help', 'help')).toEqual({ code: 0, stdout: `${HELP}\n`, stderr: '' });
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
    expect(parsed.error).toMatchObject({ kind: 'failure', command: 'poll', exitCode: 1 });
    expect(parsed.error.message).toContain('/nonexistent/local.json');
  });

  it('answers every command with subcommands alike: help, --help and -h print its help; none, or an unknown one, is a usage error', async () => {
    // Act
    const helps = await Promise.all(['help', '--help', '-h'].map((word) => inProcess('queue', word)));
    const subcommandHelp = await inProcess('recipients', 'show', '--help');
    const missing = await Promise.all(['keys', 'queue', 'recipients', 'streams', 'destinations'].map((command) => inProcess(command)));
    const misspelt = await Promise.all([inProcess('queue', 'backlgo'), inProcess('keys', 'rotte'), inProcess('notify', 'withdrw'), inProcess('streams', 'frobnicate', '--json')]);

    // Assess
    for (const run of helps) expect(run).toEqual({ code: 0, stdout: `${QUEUE_HELP}\n`, stderr: '' });
    expect(subcommandHelp).toEqual({ code: 0, stdout: `${RECIPIENTS_HELP}\n`, stderr: '' });
    expect(missing.map((r) => [r.code, r.stdout, r.stderr.split('\n')[0]])).toEqual([
      [2, '', 'setpoll: a subcommand is required: list, register, retire, remove or rotate'],
      [2, '', 'setpoll: a subcommand is required: backlog, records, drain, purge or replay'],
      [2, '', 'setpoll: a subcommand is required: add, remove, list, show, rotate, revoke, unrevoke, authorize, deauthorize or authorizations'],
      [2, '', 'setpoll: a subcommand is required: list, show, pause, enable, disable or delete'],
      [2, '', 'setpoll: a subcommand is required: add, list, get, update, remove or import'],
    ]);
    expect(misspelt).toEqual([
      { code: 2, stdout: '', stderr: `setpoll: unknown subcommand "backlgo" (did you mean backlog?): use backlog, records, drain, purge or replay\nRun 'setpoll queue --help' for usage.\n` },
      { code: 2, stdout: '', stderr: `setpoll: unknown subcommand "rotte" (did you mean rotate?): use list, register, retire, remove or rotate\nRun 'setpoll keys --help' for usage.\n` },
      {
        code: 2,
        stdout: '',
        stderr: `setpoll: unknown subcommand "withdrw" (did you mean withdraw?): use list, get, status, withdraw or replace, or options only to issue a notification\nRun 'setpoll notify --help' for usage.\n`,
      },
      {
        code: 2,
        stdout: '',
        stderr: `${JSON.stringify({ error: { kind: 'usage', message: 'unknown subcommand "frobnicate": use list, show, pause, enable, disable or delete', command: 'streams', exitCode: 2 } })}\n`,
      },
    ]);
  });

  it('keeps every line of every help within 100 columns', async () => {
    // Act
    const commands = ['publish', 'recipients', 'destinations', 'notify', 'poll', 'queue', 'keys', 'doctor', 'streams'];
    const helps = await Promise.all([inProcess('help'), ...commands.map((command) => inProcess('help', command))]);

    // Assess
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout.split('\n').filter((line) => line.length > 100)).toEqual([]);
    }
  });

  it('ends each command\'s options with --json and -h in the column of its other options, then its target', () => {
    expect(helpFooter(21, 'Target: T')).toBe('  --json             machine-readable output\n  -h, --help         show this help\n\nTarget: T');
    expect(helpFooter(9, 'T', 'as JSON')).toBe('  --json as JSON\n  -h, --help show this help\n\nT');
    expect(RECIPIENTS_HELP).toContain(
      '\n  -r, --recipient ID the recipient\n  --provider ID      the Data Provider (authorize, deauthorize)\n  --json             machine-readable output\n  -h, --help         show this help\n\nTarget (default: the local stack):\n',
    );
  });
});
