import { describe, expect, it } from 'vitest';
import { SET_PROVIDER_CLAIM } from '../../lambdas/contract.ts';
import { PROVIDER_CLAIM } from '../../recipient/set-verifier.ts';

describe('the Data Provider claim', () => {
  it('is the one name the Notifier signs and the recipient library reads', () => {
    expect([SET_PROVIDER_CLAIM, PROVIDER_CLAIM]).toEqual(['data_provider', 'data_provider']);
  });
});
