import fc from 'fast-check';
import { distance } from 'fastest-levenshtein';
import { describe, expect, it } from 'vitest';
import { InvalidRequest } from '../../lambdas/core/errors.ts';
import { intendedMember, normaliseMemberName } from '../../lambdas/core/member-names.ts';
import { POLL_MEMBERS, parsePollRequest, truncate } from '../../lambdas/core/poll-request.ts';

/** The InvalidRequest a body is refused with (fails the test when it is accepted). */
function refusal(body: unknown): InvalidRequest {
  try {
    parsePollRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequest);
    return error as InvalidRequest;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

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
      ['a string returnImmediately', { returnImmediately: 'true' }],
      ['a non-array ack', { ack: 'a' }],
      ['an empty-string ack entry', { ack: [''] }],
      ['a 129-char ack entry', { ack: ['x'.repeat(129)] }],
      ['a numeric ack entry', { ack: [1] }],
      ['an array setErrs', { setErrs: [] }],
      ['a setErrs entry without err', { setErrs: { a: { description: 'x' } } }],
      ['a setErrs entry with a 41-char err', { setErrs: { a: { err: 'e'.repeat(41) } } }],
      ['a setErrs entry with an empty err', { setErrs: { a: { err: '' } } }],
      ['a numeric setErrs description', { setErrs: { a: { err: 'x', description: 7 } } }],
      ['a null setErrs entry', { setErrs: { a: null } }],
      ['a null ack entry', { ack: [null] }],
      ['a setErrs entry that is a string', { setErrs: { a: 'invalid_key' } }],
      ['a near-miss member', { maxevents: 1 }],
      ['a near-miss setErrs member', { setErrs: { a: { err: 'x', Description: 'y' } } }],
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

  describe('members RFC 8936 does not define', () => {
    it('ignores an unknown member: i2goSignals sends {"returnImmediately": true, "timeoutSecs": 10}', () => {
      expect(parsePollRequest({ returnImmediately: true, timeoutSecs: 10 })).toEqual({ returnImmediately: true, ack: [], setErrs: new Map() });
    });

    it.each([
      ['__proto__', JSON.parse('{"__proto__": {"maxEvents": 1}, "ack": ["a"]}')],
      ['constructor', { constructor: 1, ack: ['a'] }],
      ['sets', { sets: {}, ack: ['a'] }],
      ['events', { events: 5, ack: ['a'] }],
      ['an empty name', { '': 1, ack: ['a'] }],
      ['an unknown setErrs member', { ack: ['a'], setErrs: { b: { err: 'x', lang: 'en' } } }],
    ])('ignores %s and applies the rest', (_name, body) => {
      const out = parsePollRequest(body);
      expect(out.ack).toEqual(['a']);
      expect(out.maxEvents).toBeUndefined();
    });

    it.each([
      ['acks', 'ack'],
      ['Ack', 'ack'],
      ['ACK', 'ack'],
      ['ak', 'ack'],
      ['max_events', 'maxEvents'],
      ['maxevents', 'maxEvents'],
      ['MaxEvents', 'maxEvents'],
      ['max-events', 'maxEvents'],
      ['maxEvent', 'maxEvents'],
      ['maxEventz', 'maxEvents'],
      ['set_errs', 'setErrs'],
      ['seterrs', 'setErrs'],
      ['setErr', 'setErrs'],
      ['setErrors', 'setErrs'],
      ['return_immediately', 'returnImmediately'],
      ['returnImmediatly', 'returnImmediately'],
      ['ReturnImmediately', 'returnImmediately'],
    ])('refuses the near-miss %s, naming %s', (given, meant) => {
      const error = refusal({ [given]: ['x'] });
      expect(error.message).toBe(`Unknown member ${JSON.stringify(given)}: did you mean ${JSON.stringify(meant)}?`);
    });

    it('refuses a near-miss even beside the member it resembles: {"ack": [...], "acks": [...]}', () => {
      expect(refusal({ ack: ['a'], acks: ['b'] }).message).toBe('Unknown member "acks": did you mean "ack"?');
    });

    it('refuses a near-miss of a setErrs member, naming it', () => {
      expect(refusal({ setErrs: { a: { err: 'x', descripton: 'y' } } }).message).toBe('Unknown setErrs member "descripton": did you mean "description"?');
    });
  });

  describe('the near-miss rule (property-based)', () => {
    const member = fc.constantFrom(...POLL_MEMBERS);
    const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');

    /** One edit: insert, delete or substitute a letter, or swap the case of one. */
    const edited = (name: string) =>
      fc.tuple(fc.nat(name.length), fc.integer({ min: 0, max: 3 }), letter).map(([at, kind, c]) => {
        const i = Math.min(at, name.length - 1);
        if (kind === 0) return name.slice(0, at) + c + name.slice(at);
        if (kind === 1) return name.slice(0, i) + name.slice(i + 1);
        if (kind === 2) return name.slice(0, i) + c + name.slice(i + 1);
        const ch = name[i]!;
        return name.slice(0, i) + (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) + name.slice(i + 1);
      });

    it('a case variant or a name with _ - . or spaces added is refused, naming the member', () => {
      fc.assert(
        fc.property(
          member,
          fc.array(fc.boolean(), { minLength: 17, maxLength: 17 }),
          fc.array(fc.constantFrom('', '_', '-', '.', ' '), { minLength: 18, maxLength: 18 }),
          (name, upper, separators) => {
            const variant = [...name].map((c, i) => separators[i]! + (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('') + separators[name.length]!;
            fc.pre(variant !== name);
            expect(refusal({ [variant]: 1 }).message).toContain(`did you mean ${JSON.stringify(name)}?`);
          },
        ),
        { numRuns: 500 },
      );
    });

    it('one edit of a member name is refused, naming that member', () => {
      fc.assert(
        fc.property(member.chain((name) => fc.tuple(fc.constant(name), edited(name))), ([name, variant]) => {
          fc.pre(variant !== name);
          expect(refusal({ [variant]: 1 }).message).toMatch(/did you mean "(maxEvents|returnImmediately|ack|setErrs)"\?$/);
          // The nearest member is named: for one edit, that is the member edited.
          expect(intendedMember(variant, POLL_MEMBERS)).toBe(name);
        }),
        { numRuns: 1000 },
      );
    });

    it('two edits of a long member name are refused; of `ack`, only one is', () => {
      fc.assert(
        fc.property(
          member.chain((name) => fc.tuple(fc.constant(name), edited(name).chain((once) => edited(once)))),
          ([name, variant]) => {
            const d = distance(normaliseMemberName(variant), normaliseMemberName(name));
            fc.pre(d === 2 && !POLL_MEMBERS.some((m) => m !== name && distance(normaliseMemberName(variant), normaliseMemberName(m)) <= 2));
            if (name === 'ack') expect(parsePollRequest({ [variant]: 1 })).toEqual({ returnImmediately: false, ack: [], setErrs: new Map() });
            else expect(refusal({ [variant]: 1 }).message).toContain(`did you mean ${JSON.stringify(name)}?`);
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('any other name is ignored: the request reads as if it were absent', () => {
      const far = (key: string) =>
        POLL_MEMBERS.every((m) => distance(normaliseMemberName(key), normaliseMemberName(m)) > (normaliseMemberName(m).length <= 5 ? 1 : 2));
      fc.assert(
        fc.property(
          fc.string({ maxLength: 30 }).filter(far),
          fc.jsonValue(),
          fc.record({ returnImmediately: fc.boolean(), maxEvents: fc.nat(50), ack: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 3 }) }, { requiredKeys: [] }),
          (key, value, request) => {
            fc.pre(!(key in request));
            expect(parsePollRequest({ ...request, [key]: value })).toEqual(parsePollRequest(request));
          },
        ),
        { numRuns: 1000 },
      );
    });

    it('never throws anything but InvalidRequest, whatever the member names and values', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.oneof(member, fc.string({ maxLength: 20 })), fc.jsonValue({ maxDepth: 2 })), (body) => {
          try {
            parsePollRequest(body);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidRequest);
          }
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('null members (clients that serialise nulls)', () => {
    it('reads {"ack": null, "setErrs": null, "maxEvents": null, "returnImmediately": null} as {}', () => {
      expect(parsePollRequest({ ack: null, setErrs: null, maxEvents: null, returnImmediately: null })).toEqual(parsePollRequest({}));
    });

    it('reads a null setErrs description as omitted', () => {
      expect(parsePollRequest({ setErrs: { a: { err: 'x', description: null } } }).setErrs).toEqual(new Map([['a', { err: 'x' }]]));
    });

    it('still refuses a null err: a setErrs entry needs one', () => {
      expect(refusal({ setErrs: { a: { err: null } } }).message).toBe('setErrs err must be a string of 1 to 40 characters');
    });
  });

  describe('long setErrs descriptions (RFC 8935 sets no limit)', () => {
    it('keeps the acks and cuts a 300-character description to 256', () => {
      const out = parsePollRequest({ ack: ['a'], setErrs: { b: { err: 'invalid_key', description: 'd'.repeat(300) } } });
      expect(out.ack).toEqual(['a']);
      expect(out.setErrs.get('b')).toEqual({ err: 'invalid_key', description: 'd'.repeat(256) });
    });

    it('never cuts a surrogate pair in half', () => {
      expect(truncate(`${'d'.repeat(255)}😀`, 256)).toBe('d'.repeat(255));
      expect(truncate('😀'.repeat(200), 256)).toBe('😀'.repeat(128));
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (text, max) => {
          const cut = truncate(text, max);
          expect(cut.length).toBeLessThanOrEqual(max);
          expect(text.startsWith(cut)).toBe(true);
          expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
          expect(cut.length).toBeGreaterThanOrEqual(Math.min(text.length, max) - 1);
        }),
        { numRuns: 500 },
      );
    });
  });
});
