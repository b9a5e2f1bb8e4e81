/**
 * How long to wait before retrying: exponential backoff with full jitter (a uniformly random delay
 * between 0 and the exponential cap), so many recipients that failed together do not come back
 * together. A server's Retry-After is a floor: the wait is never shorter than what it asked for.
 */
export interface BackoffOptions {
  /** The cap of the first retry. @default 500 */
  readonly baseMs?: number;
  /** The largest cap. @default 30 000 */
  readonly maxMs?: number;
  /** A Retry-After above this is cut to it, so a wrong header cannot park the poller for hours. @default 300 000 */
  readonly maxRetryAfterMs?: number;
  /** A number in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export class Backoff {
  readonly #base: number;
  readonly #max: number;
  readonly #maxRetryAfter: number;
  readonly #random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.#base = options.baseMs ?? 500;
    this.#max = options.maxMs ?? 30_000;
    this.#maxRetryAfter = options.maxRetryAfterMs ?? 300_000;
    this.#random = options.random ?? Math.random;
    for (const [name, value] of [['baseMs', this.#base], ['maxMs', this.#max], ['maxRetryAfterMs', this.#maxRetryAfter]] as const) {
      if (!Number.isFinite(value) || value < 0) throw new TypeError(`backoff ${name} must be a non-negative number, got ${value}`);
    }
  }

  /** The delay before retry number `attempt` (0 for the first retry). */
  delay(attempt: number, retryAfterMs?: number): number {
    if (!Number.isInteger(attempt) || attempt < 0) throw new TypeError(`attempt must be a non-negative integer, got ${attempt}`);
    // 2 ** attempt overflows to Infinity long after the cap is reached; min() keeps it finite.
    const cap = Math.min(this.#max, this.#base * 2 ** Math.min(attempt, 52));
    const jittered = Math.floor(this.#random() * cap);
    return retryAfterMs === undefined ? jittered : Math.max(Math.min(retryAfterMs, this.#maxRetryAfter), jittered);
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts: the caller checks signal.aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
