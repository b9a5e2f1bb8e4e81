/**
 * Part 2: dollars per million SETs delivered and acked, from the measured capacity units, the
 * measured handler durations (steady-state poll+ack over mTLS, timed inside the server) and the
 * one price table (prices.ts), beside SQS doing the same send / receive / delete in batches of 10.
 */
import { PRICES } from '../prices.ts';
import type { BenchEnv, Recipient } from '../lib/env.ts';
import type { LoadWorker } from '../lib/load.ts';
import type { LatencyResult } from '../lib/load-protocol.ts';
import type { ServerTiming } from '../lib/server-timing.ts';
import { benchEs256Signer, SizedSetFactory, type SizedSet } from '../lib/sets.ts';
import { mean, summarize, type Summary } from '../lib/stats.ts';
import { BATCHES, SIZES, type CapacityRow } from './capacity.ts';

export interface Duration {
  readonly limitBytes: number;
  readonly batch: number;
  readonly server: Summary;
  /** Mean of the durations rounded up to whole ms, as Lambda bills them. */
  readonly billedMs: number;
  /** Body of one full response, bytes (for API Gateway's 512 KB metering). */
  readonly responseBytes: number;
}

export interface CostRow {
  readonly size: string;
  readonly batch: number;
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
  readonly httpApi: number;
  readonly lambdaRequests: number;
  readonly lambdaDuration: number;
  readonly total: number;
  readonly sqs: number;
  readonly billedMs: number;
}

const HTTP_API_METERING_BYTES = 512 * 1024;
const SQS_CHUNK_BYTES = 64 * 1024;

export async function measureDurations(
  env: BenchEnv,
  worker: LoadWorker,
  timing: ServerTiming,
  mint: (id: string) => Promise<Recipient>,
  options: { quick: boolean },
  progress: (fraction: number, detail: string) => void,
): Promise<Duration[]> {
  const cycles = (batch: number) => (options.quick ? { 1: 15, 10: 10, 100: 4 } : { 1: 80, 10: 60, 100: 15 })[batch as 1 | 10 | 100];
  const signer = await benchEs256Signer();
  const out: Duration[] = [];
  const total = SIZES.length * BATCHES.length;
  let done = 0;
  for (const size of SIZES) {
    const factory = new SizedSetFactory({ signer, issuer: 'https://bank.example', limitBytes: size.limitBytes, shape: 'minimal' });
    for (const batch of BATCHES) {
      const id = `dur-${size.limitBytes}-b${batch}`;
      const r = await mint(id);
      const pool: SizedSet[] = [];
      for (let i = 0; i < 3 * batch + 1; i++) pool.push(await factory.sign(id));
      await worker.run({ kind: 'add', recipients: [{ clientId: id, path: 'https', cert: r.cert, key: r.key, ca: r.ca, pool, preload: true }] });
      const tag = `dur-${size.limitBytes}-${batch}`;
      // Warm this shape up first (JIT, pools), then time it.
      await worker.run<LatencyResult>({ kind: 'latency', path: 'https', pattern: 'poll-ack', clientIds: [id], batch, cyclesPerRecipient: options.quick ? 2 : 5, tag: `${tag}-warm` });
      timing.take(`${tag}-warm`, 'poll-ack');
      await worker.run<LatencyResult>({ kind: 'latency', path: 'https', pattern: 'poll-ack', clientIds: [id], batch, cyclesPerRecipient: cycles(batch), tag }, (f) =>
        progress((done + f) / total, `${size.label} batch ${batch}`),
      );
      const samples = timing.take(tag, 'poll-ack');
      const itemBytes = Math.max(...pool.map((s) => s.itemBytes));
      out.push({
        limitBytes: size.limitBytes,
        batch,
        server: summarize(samples),
        billedMs: mean(samples.map((ms) => Math.ceil(ms))),
        // {"sets":{"<jti>":"<jws>",…},"moreAvailable":true}: about the SETs themselves.
        responseBytes: batch * (itemBytes + 8) + 32,
      });
      done++;
    }
  }
  return out;
}

export function computeCost(rows: readonly CapacityRow[], durations: readonly Duration[]): CostRow[] {
  return rows.map((row) => {
    const d = durations.find((x) => x.limitBytes === row.limitBytes && x.batch === row.batch);
    const perMillion = 1e6;
    const requests = perMillion / row.batch;
    const increments = d ? Math.max(1, Math.ceil(d.responseBytes / HTTP_API_METERING_BYTES)) : 1;
    const billedMs = d?.billedMs ?? Number.NaN;
    const dynamoWrites = row.wcu * perMillion * PRICES.dynamoWriteUnit;
    const dynamoReads = row.rcu * perMillion * PRICES.dynamoReadUnit;
    const httpApi = requests * increments * PRICES.httpApiRequest;
    const lambdaRequests = requests * PRICES.lambdaRequest;
    const lambdaDuration = requests * (billedMs / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaArmGbSecond;
    // SQS: SendMessageBatch, ReceiveMessage (10), DeleteMessageBatch: 3 requests per 10 SETs,
    // each billed per 64 KB chunk of payload (deletes carry only receipt handles).
    const chunks = Math.max(1, Math.ceil((10 * row.limitBytes) / SQS_CHUNK_BYTES));
    const sqs = (perMillion / 10) * (2 * chunks + 1) * PRICES.sqsRequest;
    return {
      size: row.size,
      batch: row.batch,
      dynamoWrites,
      dynamoReads,
      httpApi,
      lambdaRequests,
      lambdaDuration,
      total: dynamoWrites + dynamoReads + httpApi + lambdaRequests + lambdaDuration,
      sqs,
      billedMs,
    };
  });
}
