import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../lambdas/producer/uuidv7.ts';
import { jtiCreatedAt } from '../../lambdas/store/set-age.ts';

describe('uuidv7 (jtis)', () => {
  it('keeps 10,000 ids made in one millisecond in the order they were made, all distinct and dated that millisecond', () => {
    // Prepare: more than the 4,096 a 12-bit counter could order.
    const at = Date.UTC(2026, 0, 1);
    // Act
    const ids = Array.from({ length: 10_000 }, () => uuidv7(at));
    // Assess
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => jtiCreatedAt(id) === at)).toBe(true);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts ids of a later millisecond after those of an earlier one', () => {
    // Prepare / Act
    const early = uuidv7(1_000_000);
    const late = uuidv7(1_000_001);
    // Assess
    expect(early < late).toBe(true);
  });
});
