import { ENV, ERRORED_SETS_MODES, MAX_LONG_POLL_SECONDS, NUMERIC_SETTING_ENV, SETTING_DEFAULTS, type ErroredSetsMode, type NumericSetting } from '../contract.ts';
import { ProgrammerError } from './errors.ts';

export { MAX_LONG_POLL_SECONDS } from '../contract.ts';

/**
 * Server policies (the "documented polling policies" of the OB profile). One source for the
 * Lambda, the local stack and the tests: every value can be overridden by a SETPOLL_* variable
 * (names and defaults in lambdas/contract.ts).
 */
export interface PollSettings {
  /** How long a delivered, unacked SET is withheld from other polls of its recipient. */
  readonly leaseSeconds: number;
  /** How long a long poll waits for a SET before answering with no SETs. Under API Gateway's 30 s. */
  readonly longPollSeconds: number;
  /** Server cap on SETs per response; also the answer when `maxEvents` is omitted. */
  readonly maxEvents: number;
  /** Deliveries before a SET moves to the failed state; 0 means unlimited. */
  readonly maxDeliveryAttempts: number;
  /** Cap on the summed SET bytes in one response: far under Lambda's 6 MB response limit. */
  readonly maxResponseBytes: number;
  /** Cap on a request body; larger bodies get 413. */
  readonly maxRequestBytes: number;
  /** Cap on delivered-but-unacked SETs per recipient (keeps the lease record small). */
  readonly maxInFlight: number;
  /** How long a certificate's registration is cached per handler: the longest a revocation takes. */
  readonly identityCacheSeconds: number;
  /** What a SET reported in `setErrs` becomes: `final` (RFC 8936) or `redeliver` (OB; ERRORED_SETS_MODES). */
  readonly erroredSets: ErroredSetsMode;
  /** `realm` of WWW-Authenticate challenges. */
  readonly realm: string;
}

/** A setting a function may read from its environment: the numeric ones and `erroredSets`. */
export type SettingKey = NumericSetting | 'erroredSets';
/** Every setting the poll function reads. */
export const POLL_SETTING_KEYS: readonly SettingKey[] = Object.freeze([...(Object.keys(NUMERIC_SETTING_ENV) as NumericSetting[]), 'erroredSets']);

export const DEFAULT_SETTINGS: PollSettings = Object.freeze({ ...SETTING_DEFAULTS });

/**
 * Reads settings from the environment: the numeric settings named in `keys` (all by default; the
 * management function reads only its own) and the realm. A malformed value is a deployment error.
 */
export function settingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  base: PollSettings = DEFAULT_SETTINGS,
  keys: readonly SettingKey[] = POLL_SETTING_KEYS,
): PollSettings {
  const out: Record<string, number | string> = { ...base };
  for (const key of keys) {
    if (key === 'erroredSets') {
      const mode = env[ENV.erroredSets];
      if (mode === undefined || mode === '') continue;
      if (!(ERRORED_SETS_MODES as readonly string[]).includes(mode)) {
        throw new ProgrammerError(`${ENV.erroredSets} must be ${ERRORED_SETS_MODES.join(' or ')}, got ${JSON.stringify(mode)}`);
      }
      out.erroredSets = mode;
      continue;
    }
    const name = NUMERIC_SETTING_ENV[key];
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      throw new ProgrammerError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    }
    out[key] = value;
  }
  const realm = env[ENV.realm];
  if (realm) out.realm = realm;
  return validateSettings(out as unknown as PollSettings);
}

export function validateSettings(s: PollSettings): PollSettings {
  if (s.longPollSeconds > MAX_LONG_POLL_SECONDS) {
    throw new ProgrammerError(`longPollSeconds must be at most ${MAX_LONG_POLL_SECONDS} (API Gateway's 30 s limit)`);
  }
  if (s.leaseSeconds < 1) throw new ProgrammerError('leaseSeconds must be at least 1');
  if (s.maxEvents < 1) throw new ProgrammerError('maxEvents must be at least 1');
  if (s.maxInFlight < s.maxEvents) throw new ProgrammerError('maxInFlight must be at least maxEvents');
  // Redelivered errored SETs are bounded by the attempts; without a limit one would come back for its whole retention.
  if (s.erroredSets === 'redeliver' && s.maxDeliveryAttempts < 1) {
    throw new ProgrammerError(`${ENV.erroredSets}=redeliver needs ${ENV.maxDeliveryAttempts} of at least 1: errored SETs are delivered again until their attempts run out`);
  }
  return Object.freeze({ ...s });
}
