/**
 * Server policies (the "documented polling policies" of the OB profile). One source for the
 * Lambda, the local stack and the tests: every value can be overridden by a SETPOLL_* variable.
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
  /** `realm` of WWW-Authenticate challenges. */
  readonly realm: string;
}

export const DEFAULT_SETTINGS: PollSettings = Object.freeze({
  leaseSeconds: 30,
  longPollSeconds: 20,
  maxEvents: 100,
  maxDeliveryAttempts: 0,
  maxResponseBytes: 1_000_000,
  maxRequestBytes: 1_048_576,
  maxInFlight: 1000,
  identityCacheSeconds: 30,
  realm: 'setpoll',
});

/** The longest long poll whose Lambda timeout (wait + 5 s) stays under API Gateway's 30 s limit. */
export const MAX_LONG_POLL_SECONDS = 24;

const ENV_NAMES: Record<keyof Omit<PollSettings, 'realm'>, string> = {
  leaseSeconds: 'SETPOLL_LEASE_SECONDS',
  longPollSeconds: 'SETPOLL_LONG_POLL_SECONDS',
  maxEvents: 'SETPOLL_MAX_EVENTS',
  maxDeliveryAttempts: 'SETPOLL_MAX_DELIVERY_ATTEMPTS',
  maxResponseBytes: 'SETPOLL_MAX_RESPONSE_BYTES',
  maxRequestBytes: 'SETPOLL_MAX_REQUEST_BYTES',
  maxInFlight: 'SETPOLL_MAX_IN_FLIGHT',
  identityCacheSeconds: 'SETPOLL_IDENTITY_CACHE_SECONDS',
};

/** Reads settings from the environment. A malformed value is a deployment error: TypeError. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env, base: PollSettings = DEFAULT_SETTINGS): PollSettings {
  const out: Record<string, number | string> = { ...base };
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) {
      throw new TypeError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    }
    out[key] = value;
  }
  if (env.SETPOLL_REALM) out.realm = env.SETPOLL_REALM;
  return validateSettings(out as unknown as PollSettings);
}

export function validateSettings(s: PollSettings): PollSettings {
  if (s.longPollSeconds > MAX_LONG_POLL_SECONDS) {
    throw new TypeError(`longPollSeconds must be at most ${MAX_LONG_POLL_SECONDS} (API Gateway's 30 s limit)`);
  }
  if (s.leaseSeconds < 1) throw new TypeError('leaseSeconds must be at least 1');
  if (s.maxEvents < 1) throw new TypeError('maxEvents must be at least 1');
  if (s.maxInFlight < s.maxEvents) throw new TypeError('maxInFlight must be at least maxEvents');
  return Object.freeze({ ...s });
}
