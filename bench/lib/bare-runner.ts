/**
 * The bare-DynamoDB side of the latency and throughput comparisons, run on the main thread: the
 * thread where the poll handler issues its own DynamoDB calls, so bare and handler use the same
 * event loop and the same kind of SDK client. The producer of the throughput run stays in the load
 * worker, as it does for the HTTPS run.
 */
import type { NewSet } from '../../lambdas/store/queue-store.ts';
import { createDocumentClient } from '../../local/dynamodb.ts';
import { BareQueue } from './bare.ts';
import type { LoadWorker } from './load.ts';
import type { LatencyResult, ThroughputResult } from './load-protocol.ts';

interface State {
  readonly clientId: string;
  readonly pool: Map<string, NewSet>;
  outstanding: string[];
}

export class BareRunner {
  readonly #client;
  readonly #bare: BareQueue;
  readonly #states = new Map<string, State>();

  constructor(endpoint: string, tableName: string, leaseSeconds: number) {
    this.#client = createDocumentClient(endpoint);
    this.#bare = new BareQueue(this.#client, tableName, leaseSeconds);
  }

  async add(clientId: string, pool: readonly NewSet[]): Promise<void> {
    this.#states.set(clientId, { clientId, pool: new Map(pool.map((s) => [s.jti, s])), outstanding: [] });
    await this.#bare.putSets(clientId, pool);
    await this.#bare.clearLease(clientId);
  }

  #state(id: string): State {
    const s = this.#states.get(id);
    if (!s) throw new Error(`unknown bare recipient ${id}`);
    return s;
  }

  async #settle(s: State): Promise<void> {
    if (s.outstanding.length > 0) {
      await Promise.all(s.outstanding.map((jti) => this.#bare.deleteSet(s.clientId, jti)));
      await this.#refill(s, s.outstanding);
      s.outstanding = [];
    }
    await this.#bare.clearLease(s.clientId);
  }

  #refill(s: State, jtis: readonly string[]): Promise<void> {
    return this.#bare.putSets(s.clientId, jtis.map((jti) => s.pool.get(jti)!));
  }

  /** The bare twin of the worker's latency job (patterns poll-ack and cycle). */
  async latency(
    pattern: 'poll-ack' | 'cycle',
    clientIds: readonly string[],
    batch: number,
    cyclesPerRecipient: number,
    progress: (fraction: number, detail: string) => void,
  ): Promise<LatencyResult> {
    const samples: Record<string, number[]> = {};
    const push = (kind: string, ms: number) => (samples[kind] ??= []).push(ms);
    let short = 0;
    let done = 0;
    const total = clientIds.length * cyclesPerRecipient;
    const states = clientIds.map((id) => this.#state(id));
    await Promise.all(states.map((s) => this.#settle(s)));
    const timed = async (maxEvents: number, s: State, ack: readonly string[]) => {
      const start = performance.now();
      const jtis = await this.#bare.poll(s.clientId, maxEvents, ack);
      return { ms: performance.now() - start, jtis };
    };
    await Promise.all(
      states.map(async (s) => {
        for (let i = 0; i < cyclesPerRecipient; i++) {
          if (pattern === 'poll-ack') {
            const acked = s.outstanding;
            const out = await timed(batch, s, acked);
            push('poll-ack', out.ms);
            if (out.jtis.length < batch) short++;
            s.outstanding = out.jtis;
            if (acked.length > 0) await this.#refill(s, acked);
          } else {
            const got = await timed(batch, s, []);
            push('poll-only', got.ms);
            if (got.jtis.length < batch) short++;
            const ack = await timed(0, s, got.jtis);
            push('ack-only', ack.ms);
            await this.#refill(s, got.jtis);
          }
          done++;
          if (done % 25 === 0) progress(done / total, `${done}/${total}`);
        }
      }),
    );
    await Promise.all(states.map((s) => this.#settle(s)));
    return { samples, short };
  }

  /** The bare twin of the worker's throughput job: loops here, producer in the worker. */
  async throughput(
    worker: LoadWorker,
    clientIds: readonly string[],
    batch: number,
    warmupMs: number,
    durationMs: number,
    progress: (fraction: number, detail: string) => void,
  ): Promise<ThroughputResult> {
    const states = clientIds.map((id) => this.#state(id));
    await Promise.all(states.map((s) => this.#settle(s)));
    const start = performance.now();
    const windowStart = start + warmupMs;
    const end = windowStart + durationMs;
    let acked = 0;
    let polls = 0;
    let enqueued = 0;
    const pollMs: number[] = [];
    const recycling: Promise<void>[] = [];
    const ticker = setInterval(() => progress(Math.min(1, (performance.now() - start) / (end - start)), `${acked} SETs acked`), 500);
    try {
      await Promise.all(
        states.map(async (s) => {
          while (performance.now() < end) {
            const ack = s.outstanding;
            const t = performance.now();
            const got = await this.#bare.poll(s.clientId, batch, ack);
            const now = performance.now();
            if (now >= windowStart && now < end) {
              acked += ack.length;
              polls++;
              pollMs.push(now - t);
            }
            if (ack.length > 0) {
              recycling.push(
                worker.run<{ at: number[] }>({ kind: 'recycle', clientId: s.clientId, sets: ack.map((jti) => s.pool.get(jti)!) }).then((r) => {
                  // Count puts that completed inside the window (worker clock offsets cancel: both use epoch ms).
                  for (const at of r.at) if (at >= performance.timeOrigin + windowStart && at < performance.timeOrigin + end) enqueued++;
                }),
              );
            }
            s.outstanding = got;
          }
        }),
      );
    } finally {
      clearInterval(ticker);
      await Promise.all(recycling);
    }
    await Promise.all(states.map((s) => this.#settle(s)));
    return { acked, polls, enqueued, seconds: durationMs / 1000, pollMs };
  }

  stop(): void {
    this.#client.destroy();
  }
}
