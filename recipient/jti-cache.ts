/**
 * The jtis this process has handed to the application, most recent last, so a SET the transmitter
 * redelivers (its ack was late or lost, or another poller of this process got it after the lease
 * ran out) is acknowledged again without being handed over twice. Bounded: a Map keeps insertion
 * order, so the oldest entry is the first key and a hit is moved to the end (least recently used
 * first out). It does not survive a restart: the application stays the place that makes its
 * handling idempotent, this only spares it most repeats.
 */
export class JtiCache {
  readonly size: number;
  readonly #entries = new Map<string, true>();

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

  get count(): number {
    return this.#entries.size;
  }
}
