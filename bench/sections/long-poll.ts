/**
 * Part 6: what a long poll costs when it finds nothing (read units from the store's listener,
 * Lambda-seconds from its duration), and how soon a waiting long poll delivers a SET enqueued
 * during its wait (over mTLS, enqueue to response).
 */
import { PRICES } from '../prices.ts';
import type { BenchEnv, Recipient } from '../lib/env.ts';
import type { LoadWorker } from '../lib/load.ts';
import type { DeliveryResult } from '../lib/load-protocol.ts';
import { diff, sumKind } from '../lib/capacity.ts';
import { SizedSetFactory, type SizedSet } from '../lib/sets.ts';
import { summarize, type Summary } from '../lib/stats.ts';

export interface IdleLongPoll {
  readonly seconds: number;
  /** Queue reads (rounds) the wait made: one Query and one lease GetItem each. */
  readonly rounds: number;
  readonly queries: number;
  readonly leaseReads: number;
  readonly readUnits: number;
  readonly readUnitsReported: number;
  readonly gbSeconds: number;
  readonly costPerPoll: { readonly dynamo: number; readonly lambda: number; readonly httpApi: number; readonly total: number };
  /** One recipient long polling around the clock with nothing to deliver, 30 days. */
  readonly costPerRecipientMonth: { readonly dynamo: number; readonly lambda: number; readonly httpApi: number; readonly total: number };
}

export interface LongPollResult {
  readonly idle: IdleLongPoll;
  readonly delivery: Summary;
  readonly events: number;
  readonly recipients: number;
  readonly longPolls: number;
  readonly gapMs: readonly [number, number];
  readonly longPollSeconds: number;
}

export async function runLongPoll(
  env: BenchEnv,
  worker: LoadWorker,
  recipients: readonly Recipient[],
  options: { quick: boolean },
  progress: (fraction: number, detail: string) => void,
): Promise<LongPollResult> {
  const eventsPerRecipient = options.quick ? 2 : Math.ceil(100 / recipients.length);
  const gapMs: [number, number] = options.quick ? [300, 3000] : [300, 6000];
  const factory = new SizedSetFactory({ signer: env.stackSigner, issuer: env.stack.config.issuer, limitBytes: 1024 });
  const adds = [];
  for (const r of recipients) {
    const pool: SizedSet[] = [];
    for (let i = 0; i < eventsPerRecipient; i++) pool.push(await factory.sign(r.clientId));
    adds.push({ clientId: r.clientId, path: 'https' as const, cert: r.cert, key: r.key, ca: r.ca, pool, preload: false });
  }
  await worker.run({ kind: 'add', recipients: adds });

  // The idle long poll runs beside the delivery test: it has its own empty queue, and its capacity
  // is the only thing the bench store's meter sees meanwhile.
  const idle = idleLongPoll(env);
  const delivered = await worker.run<DeliveryResult>(
    { kind: 'delivery', clientIds: recipients.map((r) => r.clientId), eventsPerRecipient, gapMs },
    (f, d) => progress(f * 0.95, d),
  );
  progress(0.97, 'waiting for the idle long poll to time out');
  return {
    idle: await idle,
    delivery: summarize(delivered.latencies),
    events: delivered.latencies.length,
    recipients: recipients.length,
    longPolls: delivered.longPolls,
    gapMs,
    longPollSeconds: env.settings.longPollSeconds,
  };
}

async function idleLongPoll(env: BenchEnv): Promise<IdleLongPoll> {
  const before = env.meter.snapshot();
  const start = performance.now();
  const out = await env.service.poll('lp-idle', { maxEvents: 10, returnImmediately: false, ack: [], setErrs: new Map() });
  const seconds = (performance.now() - start) / 1000;
  const used = diff(env.meter.snapshot(), before);
  const readUnits = sumKind(used, 'read');
  const gbSeconds = seconds * PRICES.lambdaMemoryGb;
  const dynamo = readUnits * PRICES.dynamoReadUnit;
  const lambda = PRICES.lambdaRequest + gbSeconds * PRICES.lambdaArmGbSecond;
  const httpApi = PRICES.httpApiRequest;
  const perMonth = (30 * 86_400) / seconds;
  return {
    seconds,
    rounds: out.stats.waits + 1,
    queries: (used.get('readHead')?.calls ?? 0) + (used.get('readQueue')?.calls ?? 0),
    leaseReads: used.get('readLease')?.calls ?? 0,
    readUnits,
    readUnitsReported: sumKind(used, 'read', 'reported'),
    gbSeconds,
    costPerPoll: { dynamo, lambda, httpApi, total: dynamo + lambda + httpApi },
    costPerRecipientMonth: { dynamo: dynamo * perMonth, lambda: lambda * perMonth, httpApi: httpApi * perMonth, total: (dynamo + lambda + httpApi) * perMonth },
  };
}
