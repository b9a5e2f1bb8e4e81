/**
 * Part 1: DynamoDB capacity per SET over its whole life (enqueue, poll with lease, ack), from the
 * store's ConsumedCapacity, in the steady state where each poll acks the previous batch.
 */
import { PollService } from '../../lambdas/core/poll-service.ts';
import { validateSettings } from '../../lambdas/core/settings.ts';
import type { BenchEnv } from '../lib/env.ts';
import { diff, kindOf, sumKind, type CapacitySnapshot, type OperationTotals } from '../lib/capacity.ts';
import { BareQueue } from '../lib/bare.ts';
import { benchEs256Signer, SizedSetFactory, type SizedSet } from '../lib/sets.ts';
import { mean, summarize, type Summary } from '../lib/stats.ts';

export const SIZES = [
  { label: '0.5 KB', limitBytes: 512 },
  { label: '1 KB', limitBytes: 1024 },
  { label: '4 KB', limitBytes: 4096 },
] as const;
export const BATCHES = [1, 10, 100] as const;

export interface OpPerSet {
  readonly op: string;
  readonly kind: 'read' | 'write';
  /** Calls per SET. */
  readonly calls: number;
  /** Billed units per SET. */
  readonly units: number;
  /** Units per SET as DynamoDB Local reported them. */
  readonly reported: number;
}

export interface CapacityRow {
  readonly size: string;
  readonly limitBytes: number;
  readonly batch: number;
  readonly sets: number;
  readonly itemBytes: { readonly min: number; readonly max: number };
  /** Steady state, billed units per SET. */
  readonly wcu: number;
  readonly rcu: number;
  /** Steady state, as DynamoDB Local reported (before the billing floors). */
  readonly wcuReported: number;
  readonly rcuReported: number;
  /** Everything the run did (first poll without acks, last poll without SETs) over the SETs. */
  readonly wholeRun: { readonly wcu: number; readonly rcu: number };
  readonly steadyPolls: number;
  readonly ops: readonly OpPerSet[];
  /** Items each steady-state Query read, on average (the batch, the +1 probe, and acked SETs not yet deleted). */
  readonly queryItemsPerPoll: number;
}

export interface AckOnlyFinding {
  readonly batch: number;
  readonly maxInFlight: number;
  readonly queued: number;
  /** Poll-only + ack-only cycles before a poll-only returned nothing from a non-empty queue. */
  readonly cyclesUntilStall: number | undefined;
  readonly seconds: number;
  readonly leaseEntriesAtStall: number;
  /** Units of the last lease write and lease read (the record carries every acked jti). */
  readonly leaseWriteUnits: number;
  readonly leaseReadUnits: number;
  readonly remainingInQueue: number;
  /** Whole-life units per SET over the cycles before the stall (enqueue included). */
  readonly wcuPerSet: number;
  readonly rcuPerSet: number;
}

/**
 * What-if for the read-unit target, measured with bare DynamoDB calls at 1 KB, batch 10: the acks'
 * deletes first, then (lease read ‖ Query sized for the batch), then the lease write.
 */
export interface AcksFirstWhatIf {
  readonly sets: number;
  readonly steadyPolls: number;
  readonly wcu: number;
  readonly rcu: number;
  readonly queryItemsPerPoll: number;
  /** Paired timing, same thread, alternating: today's order vs acks first (bare calls, ms). */
  readonly today: Summary;
  readonly acksFirst: Summary;
}

export interface CapacityResult {
  readonly rows: readonly CapacityRow[];
  readonly alg: string;
  readonly ackOnly: AckOnlyFinding;
  readonly acksFirst: AcksFirstWhatIf;
}

interface PollRecord {
  readonly acked: number;
  readonly delivered: number;
  readonly units: Map<string, OperationTotals>;
  readonly queryItems: number;
}

export async function runCapacity(
  env: BenchEnv,
  options: { quick: boolean },
  progress: (fraction: number, detail: string) => void,
): Promise<CapacityResult> {
  const signer = await benchEs256Signer();
  const setsFor = (batch: number) => (options.quick ? { 1: 20, 10: 100, 100: 300 } : { 1: 150, 10: 500, 100: 1000 })[batch as 1 | 10 | 100];
  const work = SIZES.length * BATCHES.reduce((a, b) => a + setsFor(b), 0);
  let done = 0;
  const rows: CapacityRow[] = [];

  for (const size of SIZES) {
    const factory = new SizedSetFactory({ signer, issuer: 'https://bank.example', limitBytes: size.limitBytes, shape: 'minimal' });
    for (const batch of BATCHES) {
      const clientId = `cap-${size.limitBytes}-b${batch}`;
      const n = setsFor(batch);
      env.meter.reset();
      const itemBytes: number[] = [];
      await inParallel(n, 16, async () => {
        itemBytes.push((await factory.publish(env.store, clientId)).itemBytes);
        done += 0.5;
        progress(done / work, `${size.label} batch ${batch}: enqueue`);
      });
      const afterEnqueue = env.meter.snapshot();

      const polls: PollRecord[] = [];
      let ack: string[] = [];
      for (;;) {
        const before = env.meter.snapshot();
        const itemsBefore = env.meter.queryItems;
        const out = await env.service.poll(clientId, { maxEvents: batch, returnImmediately: true, ack, setErrs: new Map() });
        polls.push({
          acked: out.stats.acked,
          delivered: out.stats.delivered,
          units: diff(env.meter.snapshot(), before),
          queryItems: env.meter.queryItems - itemsBefore,
        });
        ack = Object.keys(out.sets);
        done += out.stats.delivered * 0.5;
        progress(done / work, `${size.label} batch ${batch}: poll+ack`);
        if (out.stats.delivered === 0) break;
        if (polls.length > n + 5) throw new Error(`capacity run for ${clientId} did not drain`);
      }
      const delivered = polls.reduce((a, p) => a + p.delivered, 0);
      const acked = polls.reduce((a, p) => a + p.acked, 0);
      if (delivered !== n || acked !== n) throw new Error(`${clientId}: ${n} queued, ${delivered} delivered, ${acked} acked`);

      const steady = steadyPolls(polls, batch);
      if (steady.length === 0) throw new Error(`${clientId}: no steady-state polls`);
      const ops = perSet(afterEnqueue, n, steady, batch);
      const everything = diff(env.meter.snapshot(), new Map());
      rows.push({
        size: size.label,
        limitBytes: size.limitBytes,
        batch,
        sets: n,
        itemBytes: { min: Math.min(...itemBytes), max: Math.max(...itemBytes) },
        wcu: sumOps(ops, 'write', 'units'),
        rcu: sumOps(ops, 'read', 'units'),
        wcuReported: sumOps(ops, 'write', 'reported'),
        rcuReported: sumOps(ops, 'read', 'reported'),
        wholeRun: { wcu: sumKind(everything, 'write') / n, rcu: sumKind(everything, 'read') / n },
        steadyPolls: steady.length,
        ops,
        queryItemsPerPoll: mean(steady.map((p) => p.queryItems)),
      });
    }
  }

  progress(1, 'ack-only finding');
  const ackOnly = await ackOnlyFinding(env, signer, options.quick);
  progress(1, 'what-if: acks before reads');
  const acksFirst = await acksFirstWhatIf(env, signer, options.quick);
  return { rows, alg: signer.alg, ackOnly, acksFirst };
}

async function acksFirstWhatIf(env: BenchEnv, signer: Awaited<ReturnType<typeof benchEs256Signer>>, quick: boolean): Promise<AcksFirstWhatIf> {
  const batch = 10;
  const factory = new SizedSetFactory({ signer, issuer: 'https://bank.example', limitBytes: 1024, shape: 'minimal' });
  const bare = new BareQueue(env.documentClient, env.tableName, env.settings.leaseSeconds, env.meter.listener);

  // Capacity, exactly as the product rows are measured: enqueue through the store, steady polls.
  const clientId = 'wif-1024-b10';
  const n = quick ? 60 : 600;
  env.meter.reset();
  await inParallel(n, 16, async () => void (await factory.publish(env.store, clientId)));
  const enqueue = env.meter.snapshot();
  const polls: PollRecord[] = [];
  let ack: string[] = [];
  for (;;) {
    const before = env.meter.snapshot();
    const itemsBefore = env.meter.queryItems;
    const got = await bare.pollAcksFirst(clientId, batch, ack);
    const units = diff(env.meter.snapshot(), before);
    polls.push({ acked: units.get('ack')?.calls ?? 0, delivered: got.length, units, queryItems: env.meter.queryItems - itemsBefore });
    ack = got;
    if (got.length === 0) break;
  }
  const steady = steadyPolls(polls, batch);
  const ops = perSet(enqueue, n, steady, batch);

  // Latency: the two orders alternate on two queues, so background load hits both alike.
  const pairs = quick ? 20 : 150;
  const queues = ['wif-t-today', 'wif-t-first'] as const;
  const pools = new Map<string, Map<string, SizedSet>>();
  for (const q of queues) {
    const pool = new Map<string, SizedSet>();
    for (let i = 0; i < 40; i++) {
      const set = await factory.sign(q);
      pool.set(set.jti, set);
    }
    await bare.putSets(q, [...pool.values()]);
    pools.set(q, pool);
  }
  const outstanding = new Map<string, string[]>(queues.map((q) => [q, []]));
  const times = { today: [] as number[], first: [] as number[] };
  for (let i = 0; i < pairs + 20; i++) {
    for (const q of queues) {
      const acked = outstanding.get(q)!;
      const start = performance.now();
      const got = q === 'wif-t-today' ? await bare.poll(q, batch, acked) : await bare.pollAcksFirst(q, batch, acked);
      const ms = performance.now() - start;
      if (i >= 20) (q === 'wif-t-today' ? times.today : times.first).push(ms);
      outstanding.set(q, got);
      await bare.putSets(q, acked.map((jti) => pools.get(q)!.get(jti)!));
    }
  }
  return {
    sets: n,
    steadyPolls: steady.length,
    wcu: sumOps(ops, 'write', 'units'),
    rcu: sumOps(ops, 'read', 'units'),
    queryItemsPerPoll: mean(steady.map((p) => p.queryItems)),
    today: summarize(times.today),
    acksFirst: summarize(times.first),
  };
}

/**
 * The polls of the steady state: each acked a full batch, delivered a full batch, and left SETs
 * queued behind it (the next poll delivered some), as a queue that keeps being fed does. The poll
 * that empties the queue is left out: its head Query finds fewer items than it asks for, and how
 * many depends on whether the acks' deletes, which run beside it, land first (a race), so its read
 * units vary from run to run (docs/benchmark.md, "Read units per SET").
 */
function steadyPolls(polls: readonly PollRecord[], batch: number): PollRecord[] {
  return polls.filter((p, i) => p.acked === batch && p.delivered === batch && (polls[i + 1]?.delivered ?? 0) > 0);
}

/** Per-SET calls and units: the enqueue over all SETs, the polls over the steady-state ones. */
function perSet(enqueue: CapacitySnapshot, n: number, steady: readonly PollRecord[], batch: number): OpPerSet[] {
  const out = new Map<string, { calls: number; units: number; reported: number }>();
  for (const [op, t] of enqueue) out.set(op, { calls: t.calls / n, units: t.billed / n, reported: t.reported / n });
  const sets = steady.length * batch;
  for (const poll of steady) {
    for (const [op, t] of poll.units) {
      const o = out.get(op) ?? { calls: 0, units: 0, reported: 0 };
      o.calls += t.calls / sets;
      o.units += t.billed / sets;
      o.reported += t.reported / sets;
      out.set(op, o);
    }
  }
  return [...out].map(([op, o]) => ({ op, kind: kindOf(op), ...o }));
}

function sumOps(ops: readonly OpPerSet[], kind: 'read' | 'write', field: 'units' | 'reported'): number {
  return ops.filter((o) => o.kind === kind).reduce((a, o) => a + o[field], 0);
}

/**
 * RFC 8936 §2.4.3 lets a recipient acknowledge in a request of its own (maxEvents 0). Such a
 * request writes no lease record, so the acked jtis stay listed there until their leases run out
 * and count against the in-flight cap. This drives poll-only / ack-only cycles at batch 10 until a
 * poll-only gets nothing from a queue that still holds SETs, and sums what the cycles cost.
 */
async function ackOnlyFinding(env: BenchEnv, signer: Awaited<ReturnType<typeof benchEs256Signer>>, quick: boolean): Promise<AckOnlyFinding> {
  const batch = 10;
  const clientId = 'cap-ack-only';
  // Quick: the same mechanism against an in-flight cap of 100 instead of 1000 (ten times fewer SETs).
  const settings = quick ? validateSettings({ ...env.settings, maxInFlight: 100 }) : env.settings;
  const service = quick ? new PollService({ store: env.store, settings }) : env.service;
  const queued = settings.maxInFlight + 3 * batch;
  const factory = new SizedSetFactory({ signer, issuer: 'https://bank.example', limitBytes: 1024, shape: 'minimal' });
  await inParallel(queued, 16, async () => void (await factory.publish(env.store, clientId)));
  const start = performance.now();
  const cyclesStart = env.meter.snapshot();
  let remaining = queued;
  let acked = 0;
  let cyclesUntilStall: number | undefined;
  let leaseEntriesAtStall = 0;
  let leaseWriteUnits = 0;
  for (let cycle = 1; cycle <= queued / batch; cycle++) {
    const before = env.meter.snapshot();
    const got = await service.poll(clientId, { maxEvents: batch, returnImmediately: true, ack: [], setErrs: new Map() });
    const write = diff(env.meter.snapshot(), before).get('writeLease');
    if (write) leaseWriteUnits = write.billed;
    const jtis = Object.keys(got.sets);
    if (jtis.length === 0) {
      cyclesUntilStall = cycle;
      leaseEntriesAtStall = (await env.store.readLease(clientId, true)).entries.size;
      break;
    }
    const answer = await service.poll(clientId, { maxEvents: 0, returnImmediately: true, ack: jtis, setErrs: new Map() });
    acked += answer.stats.acked;
    remaining -= jtis.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const cycles = diff(env.meter.snapshot(), cyclesStart);
  const before = env.meter.snapshot();
  await env.store.readLease(clientId, false);
  const leaseReadUnits = diff(env.meter.snapshot(), before).get('readLease')?.billed ?? 0;
  return {
    batch,
    maxInFlight: settings.maxInFlight,
    queued,
    cyclesUntilStall,
    seconds,
    leaseEntriesAtStall,
    leaseWriteUnits,
    leaseReadUnits,
    remainingInQueue: remaining,
    // Enqueue (1 unit for these ≤ 1 KB SETs) plus everything the cycles did, over the SETs acked.
    wcuPerSet: 1 + sumKind(cycles, 'write') / acked,
    rcuPerSet: sumKind(cycles, 'read') / acked,
  };
}

/** Runs `task` n times with at most `concurrency` at once. */
export async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}
