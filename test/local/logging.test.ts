import { describe, expect, it } from 'vitest';
import { formatAccessLine, localLogging, logFormatFrom } from '../../local/logging.ts';

describe('local logging', () => {
  it('reads the format from --json-logs, then SETPOLL_LOG_FORMAT, text by default', () => {
    expect(logFormatFrom({}, false)).toBe('text');
    expect(logFormatFrom({ SETPOLL_LOG_FORMAT: ' JSON ' }, false)).toBe('json');
    expect(logFormatFrom({ SETPOLL_LOG_FORMAT: 'text' }, true)).toBe('json');
    expect(() => logFormatFrom({ SETPOLL_LOG_FORMAT: 'yaml' }, false)).toThrow('SETPOLL_LOG_FORMAT must be text or json, got "yaml"');
  });

  it('writes one line per request: time, method, path, status, ms, client, interaction', () => {
    const at = new Date('2026-12-04T22:40:01.123Z');
    const entry = { method: 'POST', path: '/events', status: 200, ms: 12, clientId: 'tpp-alpha', interactionId: 'abc-1' };
    expect(formatAccessLine(entry, at)).toBe('22:40:01 POST /events 200 12ms client=tpp-alpha interaction=abc-1');
    expect(formatAccessLine({ ...entry, status: undefined, clientId: undefined, interactionId: undefined }, at)).toBe('22:40:01 POST /events aborted 12ms client=- interaction=-');
  });

  it('keeps the handlers to warnings in text mode and logs everything in JSON mode', () => {
    const lines: string[] = [];
    const text = localLogging('text', (line) => lines.push(line));
    expect(text.logger.getLevelName()).toBe('WARN');
    text.onRequestDone({ method: 'GET', path: '/jwks.json', status: 200, ms: 3, clientId: 'tpp-beta', interactionId: undefined });
    expect(lines).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d GET \/jwks\.json 200 3ms client=tpp-beta interaction=-$/)]);
    expect(localLogging('json').logger.getLevelName()).toBe('INFO');
  });
});
