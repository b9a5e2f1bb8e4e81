import { describe, expect, it } from 'vitest';
import { isClientId } from '../../lambdas/shared/client-id.ts';

describe('isClientId', () => {
  it('accepts printable ASCII ids that a decoded path can carry', () => {
    // Act
    const verdicts = ['tpp-alpha', 'org:tpp~1', 'a.b', '...', 'x'.repeat(128), '"quoted"', 'a&b=c'].map(isClientId);

    // Assess
    expect(verdicts).toEqual([true, true, true, true, true, true, true]);
  });

  it('refuses "/", "?", "%", "#", spaces, control characters, dot segments, the empty id and 129 characters', () => {
    // Act
    const verdicts = ['org/tpp', 'org?tpp', '100%', 'prov#1', 'a b', 'a\u0000b', 'a\u007fb', 'é', '.', '..', '', 'x'.repeat(129), 42].map(isClientId);

    // Assess
    expect(verdicts.every((v) => v === false)).toBe(true);
  });
});
