import { describe, expect, it } from 'vitest';
import { ProgrammerError } from '../../lambdas/core/errors.ts';
import { DEFAULT_SETTINGS, settingsFromEnv } from '../../lambdas/core/settings.ts';

describe('settingsFromEnv: SETPOLL_ERRORED_SETS', () => {
  it('defaults to final (RFC 8936: a setErrs report is the final answer)', () => {
    expect(settingsFromEnv({}).erroredSets).toBe('final');
    expect(DEFAULT_SETTINGS.erroredSets).toBe('final');
  });

  it('reads redeliver (the OB reading) together with a delivery-attempt limit', () => {
    expect(settingsFromEnv({ SETPOLL_ERRORED_SETS: 'redeliver', SETPOLL_MAX_DELIVERY_ATTEMPTS: '5' })).toMatchObject({ erroredSets: 'redeliver', maxDeliveryAttempts: 5 });
  });

  it('refuses redeliver without a delivery-attempt limit: an errored SET would come back for its whole retention', () => {
    expect(() => settingsFromEnv({ SETPOLL_ERRORED_SETS: 'redeliver' })).toThrow(
      new ProgrammerError('SETPOLL_ERRORED_SETS=redeliver needs SETPOLL_MAX_DELIVERY_ATTEMPTS of at least 1: errored SETs are delivered again until their attempts run out'),
    );
  });

  it('refuses another value', () => {
    expect(() => settingsFromEnv({ SETPOLL_ERRORED_SETS: 'retry' })).toThrow(new ProgrammerError('SETPOLL_ERRORED_SETS must be final or redeliver, got "retry"'));
  });

  it('is not read when the function does not ask for it (the management function)', () => {
    expect(settingsFromEnv({ SETPOLL_ERRORED_SETS: 'retry' }, DEFAULT_SETTINGS, []).erroredSets).toBe('final');
  });
});
