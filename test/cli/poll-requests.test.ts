import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WaitingIndicator, showsWaitingIndicator } from '../../cli/poll-requests.ts';

describe('the waiting indicator of setpoll poll --follow', () => {
  const person = { follow: true, json: false, raw: false, stdoutIsTTY: true, stderrIsTTY: true, term: 'xterm-256color' };

  it('shows only for --follow, to a person at a terminal, and never into --json or --raw output', () => {
    expect(showsWaitingIndicator(person)).toBe(true);
    expect(showsWaitingIndicator({ ...person, term: undefined })).toBe(true);
    expect(showsWaitingIndicator({ ...person, follow: false })).toBe(false);
    expect(showsWaitingIndicator({ ...person, json: true })).toBe(false);
    expect(showsWaitingIndicator({ ...person, raw: true })).toBe(false);
    expect(showsWaitingIndicator({ ...person, stdoutIsTTY: false })).toBe(false);
    expect(showsWaitingIndicator({ ...person, stderrIsTTY: false })).toBe(false);
    expect(showsWaitingIndicator({ ...person, term: 'dumb' })).toBe(false);
  });

  it('writes its line once while waiting and erases it before anything else is printed', () => {
    // Prepare
    const stream = new PassThrough();
    const indicator = new WaitingIndicator(stream);

    // Act
    indicator.hide();
    indicator.show();
    indicator.show();
    indicator.hide();
    indicator.hide();
    indicator.show();

    // Assess
    expect(String(stream.read())).toBe('waiting for SETs… (Ctrl-C to stop)\r\u001b[2Kwaiting for SETs… (Ctrl-C to stop)');
  });
});
