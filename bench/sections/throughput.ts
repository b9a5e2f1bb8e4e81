/**
 * Part 4: SETs per second delivered and acked end to end, 8 recipients polling in a loop (long
 * polls of 10 that ack the previous batch) while a producer enqueues, beside the same DynamoDB
 * calls issued bare. The producer puts every acked SET back with the documented conditional
 * PutItem, so each SET in the window costs its whole life: put, lease, read, delete.
 */
import type { BenchEnv, Recipient } from '../lib/env.ts';
import type { BareRunner } from '../lib/bare-runner.ts';
import type { LoadWorker } from '../lib/load.ts';
import type { ThroughputResult } from '../lib/load-protocol.ts';
import { benchEs256Signer, SizedSetFactory, type SizedSet } from '../lib/sets.ts';
import { summarize, type Summary } from '../lib/stats.ts';

export const THROUGHPUT_RECIPIENTS = 8;


export interface ThroughputRun {
  readonly path: 'https' | 'bare';
  readonly setsPerSecond: number;
  readonly pollsPerSecond: number;
  readonly enqueuedPerSecond: number;
  readonly seconds: number;
  readonly poll: Summary;
}

export interface ThroughputResult2 {
  readonly runs: readonly ThroughputRun[];
  readonly poolPerRecipient: number;
  /** End to end over bare, SETs/s (median over the rounds). */
  readonly ratio: number;
  readonly rounds: number;
  readonly batch: number;
}

export async function runThroughput(
  env: BenchEnv,
  worker: LoadWorker,
  bareRunner: BareRunner,
  recipients: readonly Recipient[],
  options: { quick: boolean },
  progress: (fraction: number, detail: string) => void,
): Promise<ThroughputResult2> {
  const batch = 10;
  // SETs per queue: the batch in flight, the batch being put back, and a backlog that never runs dry.
  const POOL = options.quick ? 60 : 250;
  const rounds = options.quick ? 1 : 2;
  const durationMs = options.quick ? 4000 : 8000;
  const warmupMs = options.quick ? 1000 : 2000;
  // ES256 (0.2 ms a signature, against PS256's 1.2 ms): thousands of SETs are signed up front.
  const factory = new SizedSetFactory({ signer: await benchEs256Signer(), issuer: env.stack.config.issuer, limitBytes: 1024 });
  const bareIds = recipients.map((r) => r.clientId.replace(/^tp-/, 'tb-'));
  const pool = async (id: string) => {
    const sets: SizedSet[] = [];
    for (let i = 0; i < POOL; i++) sets.push(await factory.sign(id));
    return sets;
  };
  const https = [];
  for (const r of recipients) https.push({ clientId: r.clientId, path: 'https' as const, cert: r.cert, key: r.key, ca: r.ca, pool: await pool(r.clientId), preload: true });
  await worker.run({ kind: 'add', recipients: https });
  for (const id of bareIds) await bareRunner.add(id, await pool(id));

  const runs: ThroughputRun[] = [];
  const steps = rounds * 2;
  let step = 0;
  for (let round = 0; round < rounds; round++) {
    for (const path of ['https', 'bare'] as const) {
      const report = (f: number, d: string) => progress((step + f) / steps, `${path} round ${round + 1}/${rounds}: ${d}`);
      const res =
        path === 'https'
          ? await worker.run<ThroughputResult>(
              { kind: 'throughput', path, clientIds: recipients.map((r) => r.clientId), batch, warmupMs, durationMs },
              report,
            )
          : await bareRunner.throughput(worker, bareIds, batch, warmupMs, durationMs, report);
      step++;
      runs.push({
        path,
        setsPerSecond: res.acked / res.seconds,
        pollsPerSecond: res.polls / res.seconds,
        enqueuedPerSecond: res.enqueued / res.seconds,
        seconds: res.seconds,
        poll: summarize(res.pollMs),
      });
    }
  }
  const ratios: number[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) ratios.push(runs[i]!.setsPerSecond / runs[i + 1]!.setsPerSecond);
  ratios.sort((a, b) => a - b);
  const ratio = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
  return { runs, ratio, rounds, batch, poolPerRecipient: POOL };
}
