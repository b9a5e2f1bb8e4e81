/**
 * A progress bar on stderr: one line rewritten in place on a terminal, or a plain line every few
 * seconds when stderr is a file or a pipe (CI logs stay readable).
 */
export class Progress {
  readonly #weights: ReadonlyMap<string, number>;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #tty = process.stderr.isTTY === true;
  #done = 0;
  #step = '';
  #stepWeight = 0;
  #fraction = 0;
  #detail = '';
  #lastPlain = 0;
  #lastDraw = 0;

  /** `steps`: name -> relative weight (roughly expected seconds). */
  constructor(steps: Readonly<Record<string, number>>) {
    this.#weights = new Map(Object.entries(steps));
    this.#total = [...this.#weights.values()].reduce((a, b) => a + b, 0);
  }

  /** Starts a step; the previous one counts as done. */
  step(name: string): void {
    if (this.#step) this.#done += this.#stepWeight;
    this.#step = name;
    this.#stepWeight = this.#weights.get(name) ?? 0;
    this.#fraction = 0;
    this.#detail = '';
    this.#draw(true);
  }

  /** Progress within the current step, 0..1, and a short note. */
  update(fraction: number, detail = ''): void {
    this.#fraction = Math.max(0, Math.min(1, fraction));
    this.#detail = detail;
    this.#draw(false);
  }

  /** A line of its own, above the bar. */
  log(message: string): void {
    if (this.#tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${message}\n`);
    this.#draw(true);
  }

  finish(message: string): void {
    if (this.#step) this.#done += this.#stepWeight;
    this.#step = '';
    if (this.#tty) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${this.#bar(1)} ${elapsed(performance.now() - this.#started)} ${message}\n`);
  }

  #draw(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const overall = this.#total === 0 ? 0 : (this.#done + this.#stepWeight * this.#fraction) / this.#total;
    const line = `${this.#bar(overall)} ${elapsed(now - this.#started)} ${this.#step}${this.#detail ? ` · ${this.#detail}` : ''}`;
    if (this.#tty) {
      const width = process.stderr.columns ?? 120;
      process.stderr.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
    } else if (force || now - this.#lastPlain > 5000) {
      this.#lastPlain = now;
      process.stderr.write(`${line}\n`);
    }
  }

  #bar(fraction: number): string {
    const width = 24;
    const filled = Math.round(fraction * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
  }
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
