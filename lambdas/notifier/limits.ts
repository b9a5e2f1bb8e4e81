import { NOTIFIER_LIMIT_BOUNDS, NOTIFIER_LIMIT_DEFAULTS, NOTIFIER_LIMIT_ENV, type NotifierLimits } from '../contract.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';

export type { NotifierLimits } from '../contract.ts';

/** The defaults with `given` over them, each checked against its bounds (a bad value is a ProgrammerError). */
export function resolveLimits(given: Partial<NotifierLimits> = {}): NotifierLimits {
  const limits = { ...NOTIFIER_LIMIT_DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as NotifierLimits;
  for (const [name, [min, max]] of Object.entries(NOTIFIER_LIMIT_BOUNDS) as [keyof NotifierLimits, readonly [number, number]][]) {
    const value = limits[name];
    if (!Number.isInteger(value) || value < min || value > max) throw new ProgrammerError(`${name} must be an integer from ${min} to ${max}, not ${value}`);
  }
  // One notification must always be issuable to every destination a provider may hold.
  if (limits.maxSetsPerRequest < limits.maxDestinations) throw new ProgrammerError('maxSetsPerRequest must be at least maxDestinations');
  return Object.freeze(limits);
}

/** The limits from the management function's environment (NOTIFIER_LIMIT_ENV); an unset or empty variable keeps its default. */
export function limitsFromEnv(env: NodeJS.ProcessEnv): NotifierLimits {
  const given: Partial<Record<keyof NotifierLimits, number>> = {};
  for (const [name, variable] of Object.entries(NOTIFIER_LIMIT_ENV) as [keyof NotifierLimits, string][]) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw)) throw new ProgrammerError(`${variable} must be a whole number, not ${JSON.stringify(raw)}`);
    given[name] = Number(raw);
  }
  return resolveLimits(given);
}
