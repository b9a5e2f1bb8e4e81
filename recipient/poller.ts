/**
 * The recipient's loop: poll, verify each SET, hand the valid ones to the application, and answer
 * for every SET on the next request (RFC 8936 §2.4): `ack` for the ones the application took,
 * `setErrs` for the ones that failed verification (those never reach the application).
 *
 * - Acknowledgements ride on the next poll by default (combined acknowledge-and-poll, §2.4.3);
 *   with `acknowledge: 'separately'` each batch is answered by an acknowledge-only request
 *   (`maxEvents: 0`, `returnImmediately: true`, §2.4.2) before the next poll, and flush() sends
 *   one whenever the application asks.
 * - Long polling by default; `returnImmediately: true` short-polls, waiting `shortPollIntervalMs`
 *   when the transmitter has nothing more or sent an empty batch (whatever its moreAvailable).
 * - 429, 5xx, network failures and an unreachable key set back off with full jitter, never
 *   sooner than the server's Retry-After. Anything else (400, 401 after a fresh token, 403) stops
 *   the loop: retrying the same request cannot fix it.
 * - A SET redelivered after its lease ran out (the transmitter may, §2.4) is acknowledged again
 *   but not handed to the application twice, as long as this process remembers its jti.
 * - Stopping (the signal aborts, or the queue is empty with `untilEmpty`) sends what is still
 *   unanswered in a final acknowledge-only request, so nothing already handled is redelivered;
 *   so does a run that ends with an error (best effort: the run's error is what it throws).
 */
import { Backoff, sleep, type BackoffOptions } from './backoff.ts';
import { HandlerFailed, KeySetUnavailable, MalformedSet, RecipientError, SetVerificationError, type SetErr } from './errors.ts';
import { JtiCache } from './jti-cache.ts';
import type { Answers, PollClient, PollResult } from './poll-client.ts';
import type { SetVerification, VerifiedSet } from './set-verifier.ts';

export type AcknowledgeMode = 'with-next-poll' | 'separately';

/** What PollFailed and TokenRequestFailed carry when the server sent Retry-After: the floor of the backoff. */
type RetryAfter = { readonly retryAfterMs?: number };

export interface PollerOptions {
  readonly client: Pick<PollClient, 'poll' | 'acknowledge'>;
  readonly verifier: SetVerification;
  /**
   * Receives each verified SET once. When it resolves the SET is acknowledged (on the next
   * request). Throwing a SetVerificationError (e.g. SetAccessDenied) reports the SET in setErrs
   * instead; throwing anything else stops the loop with HandlerFailed, and that SET and the rest of
   * its batch stay unacknowledged, so the transmitter redelivers them after the lease.
   */
  readonly handle: (set: VerifiedSet) => void | Promise<void>;
  /** A SET failed verification (or the handler refused it); it is reported in setErrs. */
  readonly onRejected?: (jti: string, error: SetVerificationError) => void;
  /** A retryable failure; the loop waits `delayMs` before retry number `attempt` (1-based). */
  readonly onRetry?: (error: RecipientError, delayMs: number, attempt: number) => void;
  /**
   * At most this many SETs per poll, a positive integer, sent as `maxEvents` on every poll.
   * Omitted: not sent, so the transmitter's cap applies. 0 is refused (TypeError): a poll with
   * maxEvents 0 receives nothing, ever; acknowledge-only requests are what `acknowledge:
   * 'separately'` and flush() send.
   */
  readonly maxEvents?: number;
  /** true: short polling. @default false (long polling) */
  readonly returnImmediately?: boolean;
  /**
   * The pause after a poll that left nothing more to fetch or brought no SET (even with
   * moreAvailable: the in-flight cap, lease conflicts), when short polling; and after a long poll
   * that came back empty sooner than this, so a transmitter without long polling is not hammered.
   * @default 1000, docs/server-policies.md: "no more often than once a second"
   */
  readonly shortPollIntervalMs?: number;
  /** @default 'with-next-poll' */
  readonly acknowledge?: AcknowledgeMode;
  /**
   * Redelivery dedupe: how many handed-over jtis to remember (least recently used out), a cache
   * shared by several pollers of this process, or false for none. @default 10 000
   */
  readonly dedupe?: number | JtiCache | false;
  readonly backoff?: BackoffOptions | Backoff;
  /** Consecutive retryable failures tolerated before run() rejects with the last one. @default Infinity */
  readonly maxRetries?: number;
  /** How long the final acknowledge-only request on stop may take, retries included. @default 10 000 */
  readonly flushTimeoutMs?: number;
}

export interface RunOptions {
  /** Aborting stops the loop (an outstanding long poll is cancelled) and sends the pending answers. */
  readonly signal?: AbortSignal;
  /** Short-poll until the transmitter has nothing more to deliver, then answer and return. */
  readonly untilEmpty?: boolean;
}

export const DEFAULT_DEDUPE_SIZE = 10_000;
/** The transmitter refuses longer jtis in ack and setErrs with a 400 for the whole request. */
const JTI_MAX_LENGTH = 128;
const FLUSH_ATTEMPTS = 3;

export class Poller {
  readonly #client: PollerOptions['client'];
  readonly #verifier: SetVerification;
  readonly #handle: PollerOptions['handle'];
  readonly #onRejected: PollerOptions['onRejected'];
  readonly #onRetry: PollerOptions['onRetry'];
  readonly #maxEvents: number | undefined;
  readonly #returnImmediately: boolean;
  readonly #interval: number;
  readonly #mode: AcknowledgeMode;
  readonly #seen: JtiCache | undefined;
  readonly #backoff: Backoff;
  readonly #maxRetries: number;
  readonly #flushTimeoutMs: number;
  /** Answers not sent yet. They survive a failed request and a stopped run(). */
  readonly #acks = new Set<string>();
  readonly #errs = new Map<string, SetErr>();
  #running = false;

  constructor(options: PollerOptions) {
    const { maxEvents } = options;
    if (maxEvents !== undefined) {
      if (maxEvents === 0) {
        throw new TypeError("maxEvents 0 would make every poll acknowledge-only and never receive a SET: use acknowledge: 'separately' or flush() for acknowledge-only requests");
      }
      if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new TypeError(`maxEvents must be a positive integer, got ${maxEvents}`);
    }
    const interval = options.shortPollIntervalMs ?? 1000;
    if (!Number.isFinite(interval) || interval < 0) throw new TypeError('shortPollIntervalMs must be a non-negative number');
    const maxRetries = options.maxRetries ?? Infinity;
    if (!(maxRetries === Infinity || (Number.isSafeInteger(maxRetries) && maxRetries >= 0))) throw new TypeError('maxRetries must be a non-negative integer');
    const mode = options.acknowledge ?? 'with-next-poll';
    if (mode !== 'with-next-poll' && mode !== 'separately') throw new TypeError(`acknowledge must be 'with-next-poll' or 'separately', got ${String(mode)}`);
    if (typeof options.handle !== 'function') throw new TypeError('handle must be a function');

    this.#client = options.client;
    this.#verifier = options.verifier;
    this.#handle = options.handle;
    this.#onRejected = options.onRejected;
    this.#onRetry = options.onRetry;
    this.#maxEvents = maxEvents;
    this.#returnImmediately = options.returnImmediately ?? false;
    this.#interval = interval;
    this.#mode = mode;
    const dedupe = options.dedupe ?? DEFAULT_DEDUPE_SIZE;
    this.#seen = dedupe === false ? undefined : dedupe instanceof JtiCache ? dedupe : new JtiCache(dedupe);
    this.#backoff = options.backoff instanceof Backoff ? options.backoff : new Backoff(options.backoff);
    this.#maxRetries = maxRetries;
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 10_000;
  }

  /** The answers waiting for the next request. */
  get pending(): { readonly ack: readonly string[]; readonly setErrs: Readonly<Record<string, SetErr>> } {
    return { ack: [...this.#acks], setErrs: Object.fromEntries(this.#errs) };
  }

  /** Polls until the signal aborts (or, with untilEmpty, the queue is empty); then sends the pending answers. */
  async run(options: RunOptions = {}): Promise<void> {
    if (this.#running) throw new TypeError('This Poller is already running');
    this.#running = true;
    try {
      await this.#loop(options);
    } catch (error) {
      // What the application already handled should not come back: answer it on the way out,
      // whatever ended the run (HandlerFailed, retries run out, a 403, KeySetUnavailable). The
      // flush's own failure is ignored: the run's error is the one to report, and the answers
      // stay pending for flush().
      if (error instanceof RecipientError) await this.#flushOnExit().catch(() => undefined);
      throw error;
    } finally {
      this.#running = false;
    }
    await this.#flushOnExit();
  }

  /**
   * Sends the pending answers now in an acknowledge-only request (maxEvents 0, returnImmediately
   * true). On failure they stay pending and the error is thrown.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    const answers = this.#take();
    if (!answers.ack && !answers.setErrs) return;
    try {
      await this.#client.acknowledge({ ...answers, ...(signal ? { signal } : {}) });
    } catch (error) {
      this.#restore(answers);
      throw error;
    }
  }

  async #loop({ signal, untilEmpty = false }: RunOptions): Promise<void> {
    const shortPolling = untilEmpty || this.#returnImmediately;
    let failures = 0;
    while (!signal?.aborted) {
      let result: PollResult;
      const started = performance.now();
      const answers = this.#mode === 'with-next-poll' ? this.#take() : {};
      try {
        if (this.#mode === 'separately') await this.flush(signal);
        result = await this.#client.poll({
          ...answers,
          ...(this.#maxEvents === undefined ? {} : { maxEvents: this.#maxEvents }),
          returnImmediately: shortPolling,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        this.#restore(answers);
        if (signal?.aborted) return;
        failures = await this.#afterFailure(error, failures, signal);
        continue;
      }

      try {
        await this.#process(result.sets, signal);
      } catch (error) {
        if (!(error instanceof KeySetUnavailable)) throw error;
        failures = await this.#afterFailure(error, failures, signal);
        continue;
      }
      failures = 0;

      if (untilEmpty && !result.moreAvailable) return;
      // An empty batch is idle whatever moreAvailable says: the transmitter answers
      // {"sets":{},"moreAvailable":true} when the in-flight cap is reached or after lease
      // conflicts, and polling again at once would only loop hot until the leases run out.
      const idle =
        result.sets.size === 0 ? shortPolling || performance.now() - started < this.#interval : !result.moreAvailable && shortPolling;
      if (idle) await sleep(this.#interval, signal);
    }
  }

  /** Verifies and hands over one batch, in the transmitter's order, collecting the answers. */
  async #process(sets: ReadonlyMap<string, string>, signal: AbortSignal | undefined): Promise<void> {
    for (const [jti, set] of sets) {
      // Stopping: the rest of the batch is not handed over; it comes back after its lease.
      if (signal?.aborted) return;
      if (jti.length < 1 || jti.length > JTI_MAX_LENGTH) {
        // Answering it would make the transmitter refuse the whole request: leave it to its lease.
        this.#onRejected?.(jti, new MalformedSet(`jti ${JSON.stringify(jti.slice(0, 64))}… is longer than ${JTI_MAX_LENGTH} characters and cannot be answered`));
        continue;
      }
      let verified: VerifiedSet;
      try {
        verified = await this.#verifier.verify(jti, set);
      } catch (error) {
        if (!(error instanceof SetVerificationError)) throw error;
        this.#reject(jti, error);
        continue;
      }
      if (this.#seen?.has(jti)) {
        // RFC 8936 §2.4: a repeat is acknowledged again, whatever we think we acknowledged before.
        this.#acks.add(jti);
        continue;
      }
      if (this.#seen?.inProgress(jti)) {
        // Another poller sharing the cache is still handling it (its lease ran out meanwhile). Not
        // acknowledged: that handler may yet fail, and an ack now would lose the SET. Not handed
        // over either; it comes back after this lease, by when the first handler has settled.
        continue;
      }
      // Remembered as done only once the handler resolved; until then only marked in progress.
      this.#seen?.begin(jti);
      try {
        await this.#handle(verified);
      } catch (error) {
        this.#seen?.end(jti, false);
        if (error instanceof SetVerificationError) {
          this.#reject(jti, error);
          continue;
        }
        throw new HandlerFailed(jti, error);
      }
      this.#seen?.end(jti, true);
      this.#acks.add(jti);
    }
  }

  #reject(jti: string, error: SetVerificationError): void {
    this.#acks.delete(jti);
    this.#errs.set(jti, error.toSetErr());
    this.#onRejected?.(jti, error);
  }

  /** Waits before the next attempt, or rethrows when retrying cannot help or the retries ran out. */
  async #afterFailure(error: unknown, failures: number, signal: AbortSignal | undefined): Promise<number> {
    if (!(error instanceof RecipientError) || !error.retryable || failures >= this.#maxRetries) throw error;
    const delayMs = this.#backoff.delay(failures, (error as RetryAfter).retryAfterMs);
    this.#onRetry?.(error, delayMs, failures + 1);
    await sleep(delayMs, signal);
    return failures + 1;
  }

  /** The final acknowledge-only request, with its own deadline: the run's signal has aborted already. */
  async #flushOnExit(): Promise<void> {
    const deadline = AbortSignal.timeout(this.#flushTimeoutMs);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.flush(deadline);
        return;
      } catch (error) {
        const retryable = error instanceof RecipientError && error.retryable;
        if (!retryable || attempt + 1 >= FLUSH_ATTEMPTS || deadline.aborted) throw error;
        await sleep(this.#backoff.delay(attempt, (error as RetryAfter).retryAfterMs), deadline);
      }
    }
  }

  #take(): Answers {
    const answers: Answers = {
      ...(this.#acks.size > 0 ? { ack: [...this.#acks] } : {}),
      ...(this.#errs.size > 0 ? { setErrs: Object.fromEntries(this.#errs) } : {}),
    };
    this.#acks.clear();
    this.#errs.clear();
    return answers;
  }

  #restore(answers: Answers): void {
    for (const jti of answers.ack ?? []) if (!this.#errs.has(jti)) this.#acks.add(jti);
    for (const [jti, err] of Object.entries(answers.setErrs ?? {})) if (!this.#errs.has(jti)) this.#errs.set(jti, err);
  }
}
