/** The arithmetic of waiting: full-jitter backoff and Retry-After in both of its forms. */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../recipient/backoff.ts';
import { parseRetryAfter } from '../../recipient/retry-after.ts';

describe('Backoff', () => {
  describe('delay', () => {
    it('draws uniformly below a cap that doubles from baseMs up to maxMs (full jitter)', () => {
      // Prepare
      const draws = [0, 0.999, 0.5, 0.5, 0.5, 0.5];
      const backoff = new Backoff({ baseMs: 100, maxMs: 1000, random: () => draws.shift()! });

      // Act
      const delays = [0, 0, 1, 2, 3, 60].map((attempt) => backoff.delay(attempt));

      // Assess
      expect(delays).toEqual([0, 99, 100, 200, 400, 500]);
    });

    it('never waits less than Retry-After, and cuts an absurd one to maxRetryAfterMs', () => {
      // Prepare
      const backoff = new Backoff({ baseMs: 100, maxMs: 10_000, maxRetryAfterMs: 60_000, random: () => 0.5 });

      // Act
      const delays = [backoff.delay(0, 2000), backoff.delay(10, 2000), backoff.delay(0, 86_400_000)];

      // Assess
      expect(delays).toEqual([2000, 5000, 60_000]);
    });

    it('refuses a negative or fractional attempt and negative settings (TypeError)', () => {
      // Act / Assess
      expect(() => new Backoff().delay(-1)).toThrow(TypeError);
      expect(() => new Backoff().delay(0.5)).toThrow(TypeError);
      expect(() => new Backoff({ baseMs: -1 })).toThrow(TypeError);
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates as milliseconds from now, and nothing else', () => {
    // Prepare
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');

    // Act
    const values = [
      parseRetryAfter('120', now),
      parseRetryAfter(' 0 ', now),
      parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now),
      parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now),
      parseRetryAfter('-5', now),
      parseRetryAfter('1.5', now),
      parseRetryAfter('soon', now),
      parseRetryAfter(undefined, now),
    ];

    // Assess
    expect(values).toEqual([120_000, 0, 30_000, 0, undefined, undefined, undefined, undefined]);
  });
});
