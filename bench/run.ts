/**
 * `npm run bench` (GitHub issue 5): capacity, cost, latency, throughput, cold start and long-poll
 * figures for setpoll, in one run against its own DynamoDB Local and the local mTLS stack.
 * Writes bench/results/latest.md, latency.svg and capacity.svg. `--quick`: a ~1-minute smoke run.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BareRunner } from './lib/bare-runner.ts';
import { startBenchEnv, type BenchEnv, type Recipient } from './lib/env.ts';
import { LoadWorker } from './lib/load.ts';
import { CpuMeter, machineInfo, waitForQuiet, type CpuWindow } from './lib/machine.ts';
import { Progress } from './lib/progress.ts';
import { ServerTiming } from './lib/server-timing.ts';
import { renderCapacitySvg, renderLatencySvg, renderMarkdown, TARGETS } from './report.ts';
import { runCapacity } from './sections/capacity.ts';
import { runColdStart } from './sections/cold-start.ts';
import { computeCost, measureDurations } from './sections/cost.ts';
import { runLatency } from './sections/latency.ts';
import { runLongPoll } from './sections/long-poll.ts';
import { runThroughput, THROUGHPUT_RECIPIENTS } from './sections/throughput.ts';

const args = process.argv.slice(2);
const waitArg = args.find((a) => a.startsWith('--wait-idle'));
const unknown = args.filter((a) => a !== '--quick' && a !== waitArg);
if (unknown.length > 0 || (waitArg && !/^--wait-idle(=\d+)?$/.test(waitArg))) {
  process.stderr.write(`Unknown arguments: ${unknown.join(' ')}\nUsage: npm run bench [-- [--quick] [--wait-idle[=seconds]]]\n`);
  process.exit(2);
}
const quick = args.includes('--quick');
/** --wait-idle[=s]: before starting, wait (default at most 300 s) for the machine to be mostly idle. */
const waitIdle = waitArg ? Number(waitArg.split('=')[1] ?? 300) : 0;
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

// Rough seconds per part on a 2-core machine: the progress bar's weights.
const progress = new Progress(
  quick
    ? { start: 8, capacity: 10, 'cold start': 6, durations: 6, latency: 14, throughput: 12, 'long poll': 22, report: 1 }
    : { start: 8, capacity: 70, 'cold start': 27, durations: 35, latency: 300, throughput: 40, 'long poll': 42, report: 1 },
);

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = machineInfo();
  let idle: { waited: number; busy: number } | undefined;
  if (waitIdle > 0) {
    process.stderr.write(`Waiting up to ${waitIdle} s for the machine to be idle (busy < 25% for 3 s)…\n`);
    idle = await waitForQuiet(waitIdle, 0.25, (busy, waited) => process.stderr.write(`\r  ${Math.round(waited)} s: ${Math.round(busy * 100)}% busy   `));
    process.stderr.write(`\n`);
  }
  progress.step('start');
  progress.log(`setpoll bench${quick ? ' (quick)' : ''}: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);
  const env = await startBenchEnv();
  let worker: LoadWorker | undefined;
  let timing: ServerTiming | undefined;
  const bare = new BareRunner(env.dynamo.endpoint, env.tableName, env.settings.leaseSeconds);
  const stop = async () => {
    timing?.stop();
    bare.stop();
    await worker?.stop();
    await env.stop();
  };
  const onSignal = () => {
    progress.log('Interrupted: stopping DynamoDB Local and the stack');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const cpu = new CpuMeter(env.dynamo.port);
    const cpuLog: { part: string; window: CpuWindow }[] = [];
    const part = async <T>(name: string, run: (p: (fraction: number, detail: string) => void) => Promise<T>): Promise<T> => {
      progress.step(name);
      cpu.mark();
      const result = await run((f, d) => progress.update(f, d));
      cpuLog.push({ part: name, window: cpu.mark() });
      return result;
    };
    const mint = (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => env.mint(`${prefix}-${i + 1}`)));

    const capacity = await part('capacity', (p) => runCapacity(env, { quick }, p));
    // Cold start next: its child processes compete with nothing of ours, and DynamoDB Local has
    // warmed up (its JIT compiling right after start-up made the children's first calls slow).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const coldStart = await part('cold start', (p) => runColdStart(env, env.mint, { quick }, p));

    worker = new LoadWorker({
      endpoint: env.dynamo.endpoint,
      tableName: env.tableName,
      leaseSeconds: env.settings.leaseSeconds,
      origin: env.stack.server.origin,
      tokenUrl: env.stack.config.tokenUrl,
      pollPath: env.pollPath,
    });
    timing = new ServerTiming(env.stack.server.server);
    const load = worker;
    const serverTiming = timing;

    const durations = await part('durations', (p) => measureDurations(env, load, serverTiming, (id) => env.mint(id), { quick }, p));
    const cost = computeCost(capacity.rows, durations);
    const latencyRecipients = await mint('lat', 8);
    const latency = await part('latency', (p) => runLatency(env, load, bare, serverTiming, latencyRecipients, { quick }, p));
    const throughputRecipients = await mint('tp', THROUGHPUT_RECIPIENTS);
    const throughput = await part('throughput', (p) => runThroughput(env, load, bare, throughputRecipients, { quick }, p));
    const longPollRecipients: Recipient[] = await mint('lpd', 10);
    const longPoll = await part('long poll', (p) => runLongPoll(env, load, longPollRecipients, { quick }, p));

    progress.step('report');
    const results = {
      startedAt,
      seconds: (performance.now() - t0) / 1000,
      quick,
      idle,
      machine,
      cpu: cpuLog,
      settings: settingsOf(env),
      capacity,
      durations,
      cost,
      latency,
      throughput,
      coldStart,
      longPoll,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(`${RESULTS}latest.md`, renderMarkdown(results));
    writeFileSync(`${RESULTS}latency.svg`, renderLatencySvg(latency));
    writeFileSync(`${RESULTS}capacity.svg`, renderCapacitySvg(capacity));
    progress.finish(`done: bench/results/latest.md`);
    printSummary(results);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stop();
  }
}

function settingsOf(env: BenchEnv) {
  const s = env.settings;
  return { leaseSeconds: s.leaseSeconds, longPollSeconds: s.longPollSeconds, maxEvents: s.maxEvents, maxInFlight: s.maxInFlight };
}

function printSummary(r: Parameters<typeof renderMarkdown>[0]): void {
  const row = r.capacity.rows.find((x) => x.limitBytes === 1024 && x.batch === 10)!;
  const ratio = r.latency.ratios.find((x) => x.concurrency === 1 && x.kind === 'poll-ack');
  const bundle = r.coldStart.bundles[0]!;
  const cold = r.coldStart.runs.find((x) => x.variant === '405')!;
  const lines = [
    `1 KB SET @ batch 10: ${row.wcu.toFixed(2)} WCU (target ≤ ${TARGETS.wcuPerSet}), ${row.rcu.toFixed(3)} RCU (target ≤ ${TARGETS.rcuPerSet})`,
    ratio ? `poll+ack p50 handler/bare, 1 recipient: ${ratio.https.toFixed(2)} over HTTPS, ${ratio.server.toFixed(2)} in the server (target ≤ ${TARGETS.handlerOverBare})` : '',
    `bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB (target ≤ ${TARGETS.bundleKiB}); cold start (405): ${cold.totalMs.toFixed(0)} ms (target ≤ ${TARGETS.coldStartMs})`,
    `throughput: end to end / bare = ${r.throughput.ratio.toFixed(2)}; long-poll delivery p50 ${r.longPoll.delivery.p50.toFixed(0)} ms, p99 ${r.longPoll.delivery.p99.toFixed(0)} ms`,
  ];
  process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
