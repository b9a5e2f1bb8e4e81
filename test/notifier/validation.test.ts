import { describe, expect, it } from 'vitest';
import { isEventTypeUri } from '../../lambdas/notifier/validation.ts';

describe('isEventTypeUri', () => {
  it('gives the same verdict however often it is asked (Node 20 URL.canParse changes its answer once optimised)', () => {
    // Prepare: a host outside ASCII, which the WHATWG parser accepts (punycode).
    const verdicts = new Set<boolean>();
    // Act: enough calls for V8 to optimise the caller.
    for (let i = 0; i < 200_000; i++) verdicts.add(isEventTypeUri('https://ü.example/e'));
    // Assess
    expect([...verdicts]).toEqual([true]);
  });

  it('refuses what the WHATWG URL parser refuses, and values that are not 1 to 256 characters', () => {
    expect([isEventTypeUri('https://a.example:99999/e'), isEventTypeUri('not a uri'), isEventTypeUri(''), isEventTypeUri(`https://a.example/${'x'.repeat(240)}`), isEventTypeUri(42)]).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(isEventTypeUri('https://schemas.openid.net/secevent/caep/event-type/session-revoked')).toBe(true);
  });
});
