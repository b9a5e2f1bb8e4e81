/**
 * The load worker: recipients polling over real mTLS (one keep-alive connection each), the same
 * work as bare DynamoDB calls, and a producer. Started by load.ts; see load-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NewSet } from '../../lambdas/store/queue-store.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { createDocumentClient } from '../../local/dynamodb.ts';
import { BareQueue } from './bare.ts';
import { BenchClient, type PollBody } from './https-client.ts';
import type { DeliveryResult, Job, LatencyResult, Path, ThroughputResult, WorkerMessage, WorkerRecipient, WorkerSetup } from './load-protocol.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);
const dynamo = createDocumentClient(setup.endpoint);
const bare = new BareQueue(dynamo, setup.tableName, setup.leaseSeconds);
/** The product's store, for housekeeping on HTTPS-path queues (so the lease encoding is always its own). */
const store = new DynamoQueueStore({ client: dynamo, tableName: setup.tableName });

interface State {
  readonly clientId: string;
  readonly path: Path;
  readonly client: BenchClient | undefined;
  readonly pool: Map<string, NewSet>;
  /** Delivered by the last poll and not acked yet. */
  outstanding: string[];
}
const states = new Map<string, State>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stateOf = (id: string): State => {
  const s = states.get(id);
  if (!s) throw new Error(`unknown recipient ${id}`);
  return s;
};

async function add(recipients: readonly WorkerRecipient[]): Promise<void> {
  for (const r of recipients) {
    const client =
      r.path === 'https' ? new BenchClient({ clientId: r.clientId, cert: r.cert ?? '', key: r.key ?? '', ca: r.ca ?? '' }, setup.origin, setup.tokenUrl) : undefined;
    const state: State = { clientId: r.clientId, path: r.path, client, pool: new Map(r.pool.map((s) => [s.jti, s])), outstanding: [] };
    states.set(r.clientId, state);
    if (r.preload) await bare.putSets(r.clientId, r.pool);
    await clearLease(state);
    await client?.token();
  }
}

function clearLease(s: State): Promise<void> {
  if (s.path === 'bare') return bare.clearLease(s.clientId);
  return store.readLease(s.clientId, true).then((lease) => store.writeLease(s.clientId, lease.version, new Map()));
}

function httpsClient(s: State): BenchClient {
  if (!s.client) throw new Error(`${s.clientId} is a bare-path recipient`);
  return s.client;
}

/** Back to a clean queue: outstanding SETs acked and put back, lease record empty. Untimed. */
async function settle(s: State): Promise<void> {
  if (s.outstanding.length > 0) {
    await Promise.all(s.outstanding.map((jti) => bare.deleteSet(s.clientId, jti)));
    await refill(s, s.outstanding);
    s.outstanding = [];
  }
  await clearLease(s);
}

/** Puts acked SETs back (same jti, same JWS), so the queue never runs dry. Untimed. */
function refill(s: State, jtis: readonly string[]): Promise<void> {
  return bare.putSets(s.clientId, jtis.map((jti) => s.pool.get(jti)!));
}

function headers(tag: string, kind: string) {
  return { 'x-bench-tag': tag, 'x-bench-kind': kind };
}

async function httpsPoll(s: State, body: PollBody, tag: string, kind: string): Promise<{ ms: number; jtis: string[] }> {
  const client = httpsClient(s);
  const authorization = `Bearer ${await client.token()}`;
  const res = await client.send('POST', setup.pollPath, JSON.stringify(body), {
    'content-type': 'application/json',
    authorization,
    ...headers(tag, kind),
  });
  if (res.status !== 200) throw new Error(`${kind} as ${s.clientId} answered ${res.status}: ${res.body.slice(0, 200)}`);
  return { ms: res.ms, jtis: Object.keys((JSON.parse(res.body) as { sets: Record<string, string> }).sets) };
}

/**
 * At most this many producer PutItems at once, for the HTTPS run's producer and `recycle` alike:
 * enough that the producer keeps up and the pollers, not the producer, set the throughput.
 */
export const PRODUCER_CONCURRENCY = 32;
let producing = 0;
const waiting: (() => void)[] = [];
async function produce(clientId: string, set: NewSet): Promise<number> {
  if (producing >= PRODUCER_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  producing++;
  try {
    await bare.putSet(clientId, set);
    return performance.timeOrigin + performance.now();
  } finally {
    producing--;
    waiting.shift()?.();
  }
}

async function latency(id: number, job: Extract<Job, { kind: 'latency' }>): Promise<LatencyResult> {
  const samples: Record<string, number[]> = {};
  const push = (kind: string, ms: number) => (samples[kind] ??= []).push(ms);
  let short = 0;
  let done = 0;
  const total = job.clientIds.length * job.cyclesPerRecipient;
  const recipients = job.clientIds.map(stateOf);
  if (job.pattern !== 'jwks') await Promise.all(recipients.map(settle));

  const poll = (s: State, maxEvents: number, ack: string[], kind: string) =>
    httpsPoll(s, { maxEvents, returnImmediately: true, ...(ack.length > 0 ? { ack } : {}) }, job.tag, kind);

  await Promise.all(
    recipients.map(async (s) => {
      for (let i = 0; i < job.cyclesPerRecipient; i++) {
        if (job.pattern === 'jwks') {
          const res = await httpsClient(s).send('GET', '/jwks.json', undefined, headers(job.tag, 'jwks'));
          if (res.status !== 200) throw new Error(`GET /jwks.json answered ${res.status}`);
          push('jwks', res.ms);
        } else if (job.pattern === 'poll-ack') {
          const acked = s.outstanding;
          const out = await poll(s, job.batch, acked, 'poll-ack');
          push('poll-ack', out.ms);
          if (out.jtis.length < job.batch) short++;
          s.outstanding = out.jtis;
          if (acked.length > 0) await refill(s, acked);
        } else {
          const got = await poll(s, job.batch, [], 'poll-only');
          push('poll-only', got.ms);
          if (got.jtis.length < job.batch) short++;
          const ack = await poll(s, 0, got.jtis, 'ack-only');
          push('ack-only', ack.ms);
          // The ack-only request takes its jtis off the lease record itself; a product that did
          // not would stall this loop at the in-flight cap, and `short` would say so.
          await refill(s, got.jtis);
        }
        done++;
        if (done % 25 === 0) post({ type: 'progress', id, fraction: done / total, detail: `${done}/${total}` });
      }
    }),
  );
  if (job.pattern !== 'jwks') await Promise.all(recipients.map(settle));
  return { samples, short };
}

async function throughput(id: number, job: Extract<Job, { kind: 'throughput' }>): Promise<ThroughputResult> {
  const recipients = job.clientIds.map(stateOf);
  await Promise.all(recipients.map(settle));
  const start = performance.now();
  const windowStart = start + job.warmupMs;
  const end = windowStart + job.durationMs;
  let acked = 0;
  let polls = 0;
  let enqueued = 0;
  const pollMs: number[] = [];
  // The producer: every acked SET is enqueued again with the documented conditional PutItem.
  const producing: Promise<void>[] = [];
  const recycle = (s: State, jtis: readonly string[]) => {
    for (const jti of jtis) {
      producing.push(
        produce(s.clientId, s.pool.get(jti)!).then((at) => {
          const now = at - performance.timeOrigin;
          if (now >= windowStart && now < end) enqueued++;
        }),
      );
    }
  };
  const ticker = setInterval(() => {
    const now = performance.now();
    post({ type: 'progress', id, fraction: Math.min(1, (now - start) / (end - start)), detail: `${acked} SETs acked` });
  }, 500);
  try {
    await Promise.all(
      recipients.map(async (s) => {
        while (performance.now() < end) {
          const ack = s.outstanding;
          const out = await httpsPoll(s, { maxEvents: job.batch, returnImmediately: false, ...(ack.length > 0 ? { ack } : {}) }, 'throughput', 'poll-ack');
          const now = performance.now();
          if (now >= windowStart && now < end) {
            acked += ack.length;
            polls++;
            pollMs.push(out.ms);
          }
          recycle(s, ack);
          s.outstanding = out.jtis;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    await Promise.all(producing);
  }
  await Promise.all(recipients.map(settle));
  return { acked, polls, enqueued, seconds: job.durationMs / 1000, pollMs };
}

async function delivery(id: number, job: Extract<Job, { kind: 'delivery' }>): Promise<DeliveryResult> {
  const latencies: number[] = [];
  const total = job.clientIds.length * job.eventsPerRecipient;
  let longPolls = 0;
  await Promise.all(
    job.clientIds.map(async (clientId) => {
      const s = stateOf(clientId);
      const pool = [...s.pool.values()];
      const sentAt = new Map<string, number>();
      let received = 0;
      const producer = (async () => {
        for (let k = 0; k < job.eventsPerRecipient; k++) {
          await sleep(job.gapMs[0] + Math.random() * (job.gapMs[1] - job.gapMs[0]));
          const set = pool[k]!;
          sentAt.set(set.jti, performance.now());
          await bare.putSet(clientId, set);
        }
      })();
      // The recipient: long polls back to back, each acking what the previous one delivered.
      while (received < job.eventsPerRecipient) {
        const ack = s.outstanding;
        const res = await httpsPoll(s, { maxEvents: 10, ...(ack.length > 0 ? { ack } : {}) }, 'delivery', 'long-poll');
        const now = performance.now();
        longPolls++;
        for (const jti of res.jtis) {
          const t0 = sentAt.get(jti);
          if (t0 === undefined) continue;
          sentAt.delete(jti);
          latencies.push(now - t0);
          received++;
        }
        s.outstanding = res.jtis;
        post({ type: 'progress', id, fraction: latencies.length / total, detail: `${latencies.length}/${total} delivered` });
      }
      await producer;
      if (s.outstanding.length > 0) {
        await httpsPoll(s, { maxEvents: 0, returnImmediately: true, ack: s.outstanding }, 'delivery', 'ack-only');
        s.outstanding = [];
      }
    }),
  );
  return { latencies, longPolls };
}

port.on('message', (message: { id: number; job: Job }) => {
  const { id, job } = message;
  const run = async (): Promise<unknown> => {
    switch (job.kind) {
      case 'add':
        return add(job.recipients);
      case 'latency':
        return latency(id, job);
      case 'throughput':
        return throughput(id, job);
      case 'delivery':
        return delivery(id, job);
      case 'recycle':
        return Promise.all(job.sets.map((set) => produce(job.clientId, set))).then((at) => ({ at }));
    }
  };
  run().then(
    (result) => post({ type: 'result', id, result: result ?? null }),
    (error: unknown) => post({ type: 'error', id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
post({ type: 'ready' });
