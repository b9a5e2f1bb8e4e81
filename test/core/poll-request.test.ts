import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../lambdas/core/errors.ts';
import { parsePollRequest } from '../../lambdas/core/poll-request.ts';

describe('parsePollRequest', () => {
  describe('RFC 8936 §2.2 request members', () => {
    it('reads {} as a long poll with the server cap', () => {
      expect(parsePollRequest({})).toEqual({ returnImmediately: false, ack: [], setErrs: new Map() });
    });

    it('reads every member', () => {
      const out = parsePollRequest({
        maxEvents: 0,
        returnImmediately: true,
        ack: ['a', 'b', 'a'],
        setErrs: { c: { err: 'invalid_key', description: 'Unknown kid' } },
      });
      expect(out).toEqual({
        maxEvents: 0,
        returnImmediately: true,
        ack: ['a', 'b'],
        setErrs: new Map([['c', { err: 'invalid_key', description: 'Unknown kid' }]]),
      });
    });

    it('accepts up to 1000 acks (or a configured cap)', () => {
      const ack = Array.from({ length: 1000 }, (_, i) => `j${i}`);
      expect(parsePollRequest({ ack }).ack).toHaveLength(1000);
      expect(() => parsePollRequest({ ack: ['a', 'b', 'c'] }, { maxAnswers: 2 })).toThrow('ack and setErrs may name at most 2 SETs in one request');
    });

    it('accepts boundary lengths: 128-char jti, 40-char err, 256-char description', () => {
      const jti = 'j'.repeat(128);
      const out = parsePollRequest({ ack: [jti], setErrs: { [`e${jti.slice(1)}`]: { err: 'e'.repeat(40), description: 'd'.repeat(256) } } });
      expect(out.ack).toEqual([jti]);
      expect(out.setErrs.size).toBe(1);
    });
  });

  describe('RFC 8936 §2.4.5 invalid requests', () => {
    it.each([
      ['a JSON array', []],
      ['a string', 'poll'],
      ['null', null],
      ['a number', 1],
      ['a string maxEvents', { maxEvents: '10' }],
      ['a negative maxEvents', { maxEvents: -1 }],
      ['a fractional maxEvents', { maxEvents: 1.5 }],
      ['a null maxEvents', { maxEvents: null }],
      ['a string returnImmediately', { returnImmediately: 'true' }],
      ['a non-array ack', { ack: 'a' }],
      ['an empty-string ack entry', { ack: [''] }],
      ['a 129-char ack entry', { ack: ['x'.repeat(129)] }],
      ['a numeric ack entry', { ack: [1] }],
      ['an array setErrs', { setErrs: [] }],
      ['a setErrs entry without err', { setErrs: { a: { description: 'x' } } }],
      ['a setErrs entry with a 41-char err', { setErrs: { a: { err: 'e'.repeat(41) } } }],
      ['a setErrs entry with an empty err', { setErrs: { a: { err: '' } } }],
      ['a setErrs description over 256 chars', { setErrs: { a: { err: 'x', description: 'd'.repeat(257) } } }],
      ['a setErrs entry that is a string', { setErrs: { a: 'invalid_key' } }],
      ['an unknown member', { maxevents: 1 }],
      ['a __proto__ member', JSON.parse('{"__proto__": {"maxEvents": 1}}')],
      ['a jti both acked and reported', { ack: ['a'], setErrs: { a: { err: 'x' } } }],
      ['1001 acks', { ack: Array.from({ length: 1001 }, (_, i) => `j${i}`) }],
      ['600 acks and 401 setErrs', { ack: Array.from({ length: 600 }, (_, i) => `a${i}`), setErrs: Object.fromEntries(Array.from({ length: 401 }, (_, i) => [`e${i}`, { err: 'x' }])) }],
    ])('rejects %s with 400 invalid_request', (_name, body) => {
      let error: unknown;
      try {
        parsePollRequest(body);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidRequest);
      expect(error).toMatchObject({ statusCode: 400, code: 'invalid_request', expose: true });
    });
  });
});
