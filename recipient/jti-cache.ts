/**
 * The jtis this process has handed to the application, most recent last, so a SET the transmitter
 * redelivers (its ack was late or lost, or another poller of this process got it after the lease
 * ran out) is acknowledged again without being handed over twice. Bounded: a Map keeps insertion
 * order, so the oldest entry is the first key and a hit is moved to the end (least recently used
 * first out). It does not survive a restart: the application stays the place that makes its
 * handling idempotent, this only spares it most repeats.
 *
 * Beside the remembered (done) jtis it keeps the ones a handler is still working on (`begin` …
 * `end`), so pollers sharing the cache tell "handled, acknowledge the repeat" from "still being
 * handled, leave it alone": acknowledging a SET whose handler may yet fail would lose it.
 */
export class JtiCache {
  readonly size: number;
  readonly #entries = new Map<string, true>();
  /** jtis whose handler has not settled yet; unbounded but small: at most one per running handler. */
  readonly #inProgress = new Set<string>();

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new TypeError(`The jti cache size must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Whether `jti` is remembered; a hit makes it the most recently used. */
  has(jti: string): boolean {
    if (!this.#entries.has(jti)) return false;
    this.#entries.delete(jti);
    this.#entries.set(jti, true);
    return true;
  }

  remember(jti: string): void {
    this.#entries.delete(jti);
    this.#entries.set(jti, true);
    while (this.#entries.size > this.size) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  forget(jti: string): void {
    this.#entries.delete(jti);
  }

  /** Whether a handler (of any poller sharing this cache) is still working on `jti`. */
  inProgress(jti: string): boolean {
    return this.#inProgress.has(jti);
  }

  /** A handler starts on `jti`. It is not remembered (done) until the handler resolves. */
  begin(jti: string): void {
    this.#inProgress.add(jti);
  }

  /** The handler of `jti` settled: resolved (`handled`, so it is remembered) or failed (forgotten). */
  end(jti: string, handled: boolean): void {
    this.#inProgress.delete(jti);
    if (handled) this.remember(jti);
    else this.forget(jti);
  }

  get count(): number {
    return this.#entries.size;
  }
}
