/** Renders the benchmark's results as Markdown (bench/results/latest.md) and two SVG charts. */
import { PRICES, PRICE_ROWS } from './prices.ts';
import type { CpuWindow, MachineInfo } from './lib/machine.ts';
import { fmt, usd } from './lib/stats.ts';
import { barChart, lineChart } from './lib/svg.ts';
import { BATCHES, SIZES, type CapacityResult } from './sections/capacity.ts';
import type { ColdStartResult } from './sections/cold-start.ts';
import type { CostRow, Duration } from './sections/cost.ts';
import type { LatencyResult2, LatencyVariant } from './sections/latency.ts';
import type { LongPollResult } from './sections/long-poll.ts';
import type { ThroughputResult2 } from './sections/throughput.ts';

export interface BenchResults {
  readonly startedAt: Date;
  readonly seconds: number;
  readonly quick: boolean;
  /** Set when the run waited for an idle machine (--wait-idle). */
  readonly idle?: { readonly waited: number; readonly busy: number } | undefined;
  readonly machine: MachineInfo;
  readonly cpu: readonly { readonly part: string; readonly window: CpuWindow }[];
  readonly settings: { readonly leaseSeconds: number; readonly longPollSeconds: number; readonly maxEvents: number; readonly maxInFlight: number };
  readonly capacity: CapacityResult;
  readonly durations: readonly Duration[];
  readonly cost: readonly CostRow[];
  readonly latency: LatencyResult2;
  readonly throughput: ThroughputResult2;
  readonly coldStart: ColdStartResult;
  readonly longPoll: LongPollResult;
}

export const TARGETS = {
  wcuPerSet: 2.5,
  rcuPerSet: 0.3,
  handlerOverBare: 1.3,
  bundleKiB: 300,
  coldStartMs: 150,
} as const;

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const mark = (ok: boolean) => (ok ? '✅ meets' : '❌ misses');
const KIND_LABEL: Record<string, string> = { 'poll-only': 'poll-only', 'poll-ack': 'poll+ack', 'ack-only': 'ack-only', jwks: 'GET /jwks.json' };
const PATH_LABEL: Record<string, string> = { https: 'HTTPS round trip (client)', server: 'handler, timed in the server', bare: 'bare DynamoDB calls' };

export function renderMarkdown(r: BenchResults): string {
  const L: string[] = [];
  const cap1k10 = r.capacity.rows.find((x) => x.limitBytes === 1024 && x.batch === 10)!;
  const ratioC1 = r.latency.ratios.find((x) => x.concurrency === 1 && x.kind === 'poll-ack');
  const cdkBundle = r.coldStart.bundles[0]!;
  const cold405 = r.coldStart.runs.find((x) => x.variant === '405')!;
  const cold403 = r.coldStart.runs.find((x) => x.variant === '403')!;
  const cold200 = r.coldStart.runs.find((x) => x.variant === '200')!;
  const v = (c: number, path: string, kind: string) => r.latency.variants.find((x) => x.concurrency === c && x.path === path && x.kind === kind);

  L.push('# setpoll benchmark: latest run', '');
  L.push(
    `Run ${r.startedAt.toISOString()} with \`npm run bench${r.quick ? ' -- --quick' : ''}\`${r.quick ? ' (**quick smoke run: small samples, figures indicative only**)' : ''}; it took ${Math.round(r.seconds)} s.`,
    'Everything ran in one process against its own DynamoDB Local (in memory) and the local mTLS stack (`startLocalStack`), on the machine below.',
    '',
  );

  L.push('## Summary against the targets', '');
  L.push('| Target | Measured | |', '|---|---|---|');
  L.push(`| DynamoDB write units per 1 KB SET at batch 10 ≤ ${TARGETS.wcuPerSet} | ${fmt(cap1k10.wcu, 3)} WCU | ${mark(cap1k10.wcu <= TARGETS.wcuPerSet)} |`);
  L.push(`| DynamoDB read units per 1 KB SET at batch 10 ≤ ${TARGETS.rcuPerSet} | ${fmt(cap1k10.rcu, 3)} RCU | ${mark(cap1k10.rcu <= TARGETS.rcuPerSet)} |`);
  for (const ratio of r.latency.ratios) {
    L.push(
      `| Handler / bare DynamoDB at p50 ≤ ${TARGETS.handlerOverBare}: ${KIND_LABEL[ratio.kind]}, ${ratio.concurrency} recipient${ratio.concurrency > 1 ? 's' : ''} | ${fmt(ratio.https)} over HTTPS (${fmt(ratio.server)} timed in the server) | ${mark(ratio.https <= TARGETS.handlerOverBare)} |`,
    );
  }
  L.push(`| Minified bundle ≤ ${TARGETS.bundleKiB} KB (KiB) | ${kib(cdkBundle.bytes)} as the CDK bundles it | ${mark(cdkBundle.bytes <= TARGETS.bundleKiB * 1024)} |`);
  L.push(`| Cold start, import + first request ≤ ${TARGETS.coldStartMs} ms (median of ${cold405.runs}): 405, no network | ${fmt(cold405.totalMs, 0)} ms | ${mark(cold405.totalMs <= TARGETS.coldStartMs)} |`);
  L.push(`| Cold start, import + first request ≤ ${TARGETS.coldStartMs} ms: 403 after a DynamoDB Query | ${fmt(cold403.totalMs, 0)} ms | ${mark(cold403.totalMs <= TARGETS.coldStartMs)} |`);
  L.push(`| Cold start, import + first request ≤ ${TARGETS.coldStartMs} ms: a real 200 poll (Query, JWKS fetch, head Query) | ${fmt(cold200.totalMs, 0)} ms | ${mark(cold200.totalMs <= TARGETS.coldStartMs)} |`);
  L.push('');
  if (ratioC1) L.push(`The handler/bare ratio for poll+ack with one recipient, trial by trial: ${ratioC1.perTrial.map((x) => fmt(x)).join(', ')}.`, '');

  L.push('## Machine and conditions', '');
  L.push('| | |', '|---|---|');
  L.push(`| CPU | ${r.machine.cpuModel}, ${r.machine.cores} cores |`);
  L.push(`| RAM | ${r.machine.ramGiB} GiB |`);
  L.push(`| OS / arch | ${r.machine.platform} |`);
  L.push(`| Node.js | ${r.machine.node} (Lambda runs nodejs24.x on arm64: absolute times there differ) |`);
  L.push(`| DynamoDB Local | ${r.machine.dynamoLocal}; ${r.machine.java} |`);
  L.push(`| Settings | lease ${r.settings.leaseSeconds} s, long poll ${r.settings.longPollSeconds} s, maxEvents cap ${r.settings.maxEvents}, in-flight cap ${r.settings.maxInFlight}, unlimited delivery attempts (the README defaults) |`);
  L.push('');
  if (r.idle) {
    L.push(`Before starting, the run waited ${fmt(r.idle.waited, 0)} s for the machine to be idle (--wait-idle); it was ${pct(r.idle.busy)} busy when it began.`, '');
  }
  L.push(
    'CPU use during each part, as a share of all cores. *Other* is every process that is not the benchmark or its DynamoDB Local (on a shared machine: other work, which turns into latency here; in part 5 it includes the cold-start children themselves).',
    '',
  );
  L.push('| Part | Seconds | Machine busy | Bench process | DynamoDB Local | Other | Load avg (1 min) at end |', '|---|---|---|---|---|---|---|');
  for (const { part, window: w } of r.cpu) {
    L.push(`| ${part} | ${fmt(w.seconds, 0)} | ${pct(w.machine)} | ${pct(w.bench)} | ${pct(w.dynamoLocal)} | ${pct(w.other)} | ${fmt(w.loadAvg1m)} |`);
  }
  L.push('');

  // 1. Capacity
  L.push('## 1. DynamoDB capacity per SET over its whole life', '');
  L.push(
    `Each SET is enqueued (a real ${r.capacity.alg}-signed SET through \`Publisher\` and \`DynamoQueueStore.enqueue\`), delivered by a poll that leases it and acked by the next poll, which also takes the next batch: \`PollService.poll\` with \`returnImmediately: true\`, \`maxEvents\` = the batch and \`ack\` = the previous batch. Units come from \`ReturnConsumedCapacity\` through the store's \`onCapacity\` listener, with billing floors DynamoDB Local does not apply: every read at least 0.5 unit (Local reports 0 for a Query that finds nothing), every write at least 1, and a TransactWriteItems item 2 units (none occur in this flow).`,
    '',
    '**Sizes.** A SET of "0.5 KB", "1 KB" or "4 KB" is one whose *stored queue item* (`pk`, `sk`, `jti`, `set`, `ttl`, sized by DynamoDB\'s rules: attribute names plus values, strings as UTF-8 bytes) is at most 512, 1024 or 4096 bytes, padded to within a few bytes of that limit: the largest SET of its class. The compact JWS is ~105 bytes shorter than the item. All three use one issuer-defined event with a padded member and ES256, because no PS256 SET fits 0.5 KB (its signature alone is 342 characters).',
    '',
    '**Per SET** = the enqueue over all SETs, plus the steady-state polls (those that acked a full batch, delivered a full batch and left SETs queued behind them; the poll that empties the queue reads a varying share of the SETs it acks, a race with their deletes, and is left out) over the SETs they delivered. *Whole run* divides everything, including the first poll (nothing to ack) and the last (nothing to deliver), by the SETs.',
    '',
  );
  L.push('| SET | Item bytes | Batch | SETs | Steady polls | **WCU / SET** | **RCU / SET** | Local reported W / R | Whole run W / R | Items read per Query |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const row of r.capacity.rows) {
    L.push(
      `| ${row.size} | ${row.itemBytes.max} | ${row.batch} | ${row.sets} | ${row.steadyPolls} | **${fmt(row.wcu, 3)}** | **${fmt(row.rcu, 3)}** | ${fmt(row.wcuReported, 3)} / ${fmt(row.rcuReported, 3)} | ${fmt(row.wholeRun.wcu, 3)} / ${fmt(row.wholeRun.rcu, 3)} | ${fmt(row.queryItemsPerPoll, 1)} |`,
    );
  }
  L.push('');
  L.push('Where the units of a 1 KB SET at batch 10 go:', '');
  L.push('| Operation | Calls per SET | Units per SET |', '|---|---|---|');
  for (const op of cap1k10.ops) L.push(`| ${op.op} (${op.kind}) | ${fmt(op.calls, 3)} | ${fmt(op.units, 3)} |`);
  L.push('');
  L.push(
    `The Query of a poll+ack asks for \`maxEvents + 1 + acks\` items (${10 + 1 + 10} at batch 10) because it runs beside the acks' deletes and may still see the acked SETs; it read ${fmt(cap1k10.queryItemsPerPoll, 1)} items per poll here, so at 1 KB it pays for ~${fmt(cap1k10.queryItemsPerPoll, 0)} KB where the batch is 10 KB.`,
    '',
  );
  const w = r.capacity.acksFirst;
  L.push(
    `**What-if, measured with bare DynamoDB calls (1 KB, batch 10, ${w.sets} SETs, ${w.steadyPolls} steady polls): the acks' deletes first, then the head Query (lease record and queue) of \`maxEvents + 1\`.** ${fmt(w.wcu, 3)} WCU and **${fmt(w.rcu, 3)} RCU per SET**, ${fmt(w.queryItemsPerPoll, 1)} items per Query. Its price is one more sequential round trip: p50 ${fmt(w.acksFirst.p50)} ms against ${fmt(w.today.p50)} ms for today's order (p90 ${fmt(w.acksFirst.p90)} vs ${fmt(w.today.p90)} ms; ${w.today.n} alternating pairs on DynamoDB Local).`,
    '',
  );
  const a = r.capacity.ackOnly;
  const cap = `${a.maxInFlight}${a.maxInFlight !== r.settings.maxInFlight ? ` in this quick run; the default is ${r.settings.maxInFlight}` : ''}`;
  if (a.cyclesUntilStall === undefined) {
    L.push(
      `**Ack-only requests (RFC 8936 §2.4.3), regression check.** ${Math.round((a.queued - a.remainingInQueue) / a.batch)} cycles of a poll-only request (batch ${a.batch}) followed by an ack-only request (\`maxEvents: 0\`) moved ${a.queued - a.remainingInQueue} SETs in ${fmt(a.seconds, 1)} s, more than the in-flight cap (${cap}) within one ${r.settings.leaseSeconds} s lease, without a stall: an ack-only request takes the jtis it acks off the lease record (${a.leaseEntriesAtStall === 0 ? 'it was empty at the end' : `${a.leaseEntriesAtStall} entries at the end`}). That costs one lease write per ack-only request: in this pattern a 1 KB SET costs ${fmt(a.wcuPerSet, 2)} WCU and ${fmt(a.rcuPerSet, 2)} RCU, against ${fmt(cap1k10.wcu, 2)} / ${fmt(cap1k10.rcu, 2)} when each poll acks the previous batch.`,
      '',
    );
  } else {
    L.push(
      `**Finding: separate ack-only requests fill the lease record.** An ack-only request (\`maxEvents: 0\`, RFC 8936 §2.4.3) left the jtis it acked listed in the lease record until their ${r.settings.leaseSeconds} s leases ran out, counted against the in-flight cap (${cap}). Alternating poll-only (batch ${a.batch}) and ack-only requests, the poll-only request of cycle ${a.cyclesUntilStall} returned **no SETs** although ${a.remainingInQueue} were queued and none was in flight (after ${fmt(a.seconds, 1)} s; the lease record held ${a.leaseEntriesAtStall} jtis, each lease write cost ${fmt(a.leaseWriteUnits, 0)} WCU and each lease read ${fmt(a.leaseReadUnits, 1)} RCU); over the cycles a 1 KB SET cost ${fmt(a.wcuPerSet, 2)} WCU and ${fmt(a.rcuPerSet, 2)} RCU (poll+ack: ${fmt(cap1k10.wcu, 2)} / ${fmt(cap1k10.rcu, 2)}).`,
      '',
    );
  }
  L.push('![Capacity units per SET against batch size](capacity.svg)', '');

  // 2. Cost
  L.push('## 2. Cost per million SETs delivered and acked', '');
  L.push(`Prices (one table, \`bench/prices.ts\`, ${PRICES.region}, as of ${PRICES.asOf}):`, '');
  L.push('| Item | Price |', '|---|---|');
  for (const [item, price] of PRICE_ROWS) L.push(`| ${item} | ${price} |`);
  L.push('');
  L.push(
    'Per million SETs in the steady state: DynamoDB from the units above; one HTTP API request and one Lambda invocation per poll (a poll delivers a batch and acks the previous one: 1/batch requests per SET; HTTP API meters 512 KB increments, no response here exceeds one); Lambda duration from the **measured** handler durations below (timed in the server, each rounded up to a whole ms as Lambda bills, × 512 MB). The enqueue is a producer\'s PutItem, with no API or Lambda cost. SQS reference: SendMessageBatch, ReceiveMessage (10) and DeleteMessageBatch per 10 SETs = 0.3 requests per SET, with each send/receive billed per 64 KB chunk.',
    '',
  );
  L.push('| SET | Batch | Handler ms (mean, billed) | DynamoDB W | DynamoDB R | HTTP API | Lambda requests | Lambda duration | **setpoll total** | DynamoDB alone | SQS alone |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of r.cost) {
    L.push(
      `| ${c.size} | ${c.batch} | ${fmt(c.billedMs, 1)} | ${usd(c.dynamoWrites)} | ${usd(c.dynamoReads)} | ${usd(c.httpApi)} | ${usd(c.lambdaRequests)} | ${usd(c.lambdaDuration)} | **${usd(c.total)}** | ${usd(c.dynamoWrites + c.dynamoReads)} | ${usd(c.sqs)} |`,
    );
  }
  L.push('');
  L.push(
    'SQS alone is not a drop-in alternative: an RFC 8936 endpoint still needs the mTLS API and the function in front of it, so the like-for-like comparison is the *DynamoDB alone* column against *SQS alone*. Handler durations are measured on DynamoDB Local on this machine; in AWS each DynamoDB round trip is a few ms, and the duration column scales with them. CloudWatch Logs ingestion of the handler\'s one INFO line per poll (and Lambda\'s START/END/REPORT lines) is not included.',
    '',
  );
  L.push('Handler durations behind the Lambda column (server-side, steady-state poll+ack over mTLS):', '');
  L.push('| SET | Batch | n | p50 ms | p90 ms | p99 ms | mean ms |', '|---|---|---|---|---|---|---|');
  for (const d of r.durations) {
    const label = SIZES.find((s) => s.limitBytes === d.limitBytes)?.label ?? `${d.limitBytes} B`;
    L.push(`| ${label} | ${d.batch} | ${d.server.n} | ${fmt(d.server.p50)} | ${fmt(d.server.p90)} | ${fmt(d.server.p99)} | ${fmt(d.server.mean)} |`);
  }
  L.push('');

  // 3. Latency
  L.push('## 3. Poll latency over real mTLS (batch 10)', '');
  L.push(
    `Each recipient holds one keep-alive TLS 1.3 connection with its own client certificate and a certificate-bound token from the local authorization server; the recipients run in a worker thread, so their work never shares an event loop with the server's. SETs are ${r.latency.setBytes}-byte items (${r.latency.alg}, the stack's own key, a CAEP event). **poll+ack**: each poll acks the previous batch and takes the next 10. **poll-only** then **ack-only**: a poll of 10 without acks, then a \`maxEvents: 0\` request acking them; after each cycle the bench puts the acked SETs back (untimed). **Bare**: the same DynamoDB calls with the same parameters (acks' DeleteItems ‖ one Query of the lease record and the queue head, then PutItem lease) issued straight from the benchmark's main thread, the thread where the handler issues its own, on queues of their own. **GET /jwks.json**: the transport floor on the same connection (TLS + HTTP, a static body, no handler work). Every HTTPS request is also timed inside the server from its headers to the last byte written (*handler, timed in the server*).`,
    '',
    `${r.latency.trials} interleaved trial${r.latency.trials > 1 ? 's' : ''}; each runs every variant once, each HTTPS block immediately followed by its bare twin. Figures are **medians over the trials** of each trial's percentile; *pooled p99* is over all samples. ${r.latency.short === 0 ? 'Every poll delivered a full batch.' : `${r.latency.short} polls delivered less than a full batch.`}`,
    '',
  );
  for (const c of [1, 8]) {
    L.push(`### ${c} concurrent recipient${c > 1 ? 's' : ''}`, '');
    L.push('| Request | Measured as | n | p50 ms | p90 ms | p99 ms | pooled p99 ms | trial p50s |', '|---|---|---|---|---|---|---|---|');
    for (const kind of ['poll-only', 'poll-ack', 'ack-only', 'jwks'] as const) {
      for (const path of ['https', 'server', 'bare'] as const) {
        const x = v(c, path, kind);
        if (!x) continue;
        L.push(`| ${KIND_LABEL[kind]} | ${PATH_LABEL[path]} | ${x.stats.n} | ${fmt(x.stats.p50)} | ${fmt(x.stats.p90)} | ${fmt(x.stats.p99)} | ${fmt(x.stats.pooled.p99)} | ${fmt(x.stats.p50Range[0])}–${fmt(x.stats.p50Range[1])} |`);
      }
    }
    L.push('');
  }
  L.push('Handler / bare at p50 (ratio per trial of neighbouring blocks, then the median):', '');
  L.push('| Request | Recipients | HTTPS / bare | Server-timed / bare |', '|---|---|---|---|');
  for (const ratio of r.latency.ratios) L.push(`| ${KIND_LABEL[ratio.kind]} | ${ratio.concurrency} | ${fmt(ratio.https)} | ${fmt(ratio.server)} |`);
  L.push('');
  const bd = breakdown(r.latency, v);
  if (bd) {
    L.push('Where the time goes with one recipient. Each figure is its own median, so rows add up only approximately; the in-process rows were timed separately.', '');
    L.push(...bd, '');
  }
  L.push('![Latency percentiles](latency.svg)', '');

  // 4. Throughput
  const t = r.throughput;
  const med = (path: string, f: (x: (typeof t.runs)[number]) => number) => {
    const xs = t.runs.filter((x) => x.path === path).map(f).sort((p, q) => p - q);
    return xs.length % 2 ? xs[(xs.length - 1) / 2]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2;
  };
  L.push('## 4. Throughput', '');
  L.push(
    `${r.throughput.runs.length / 2} round${t.rounds > 1 ? 's' : ''} of ${fmt(t.runs[0]?.seconds ?? 0, 0)} s after warm-up: 8 recipients each long polling in a loop (\`maxEvents: ${t.batch}\`, acking the previous batch) while a producer in the load worker (up to 32 concurrent conditional PutItems) enqueues every acked SET again, so each SET counted went through put, lease, read and delete; each queue starts with ${t.poolPerRecipient} SETs (1 KB, ES256) so the pollers, not the producer, set the pace. The bare run does the same DynamoDB calls from the main thread (where the handler runs them), without HTTP, token or handler, with the same producer.`,
    '',
  );
  L.push('| Path | SETs/s delivered + acked (median) | Polls/s | Enqueued/s | Poll p50 ms | Poll p99 ms |', '|---|---|---|---|---|---|');
  for (const path of ['https', 'bare'] as const) {
    const one = t.runs.filter((x) => x.path === path);
    L.push(
      `| ${path === 'https' ? 'End to end over mTLS' : 'Bare DynamoDB calls'} | **${fmt(med(path, (x) => x.setsPerSecond), 0)}** (${one.map((x) => fmt(x.setsPerSecond, 0)).join(', ')}) | ${fmt(med(path, (x) => x.pollsPerSecond), 1)} | ${fmt(med(path, (x) => x.enqueuedPerSecond), 0)} | ${fmt(med(path, (x) => x.poll.p50))} | ${fmt(med(path, (x) => x.poll.p99))} |`,
    );
  }
  L.push('', `End to end / bare: **${fmt(t.ratio)}** (median of the per-round ratios). Both are bound by this machine's 2 cores shared with DynamoDB Local, not by anything in AWS.`, '');

  // 5. Cold start
  L.push('## 5. Bundle size and cold start', '');
  L.push('`lambdas/handlers/poll.ts` bundled with esbuild as `lib/constructs/poll-function.ts` asks (`--bundle --platform=node --target=node24 --format=esm --minify`, the `createRequire` banner, no externals: the AWS SDK is bundled).', '');
  L.push('| Bundle | Flags | Minified size |', '|---|---|---|');
  for (const b of r.coldStart.bundles) L.push(`| ${b.label} | \`${b.flags}\` | **${kib(b.bytes)}** (${b.bytes} bytes) |`);
  L.push('');
  L.push(
    `The CDK construct sets \`mainFields: ['module', 'main']\`, which picks the SDK's ES module builds: ${kib(cdkBundle.bytes)}. Without it esbuild's Node default (\`main\` first) takes the CommonJS builds, which tree-shake worse: ${kib(r.coldStart.bundles[1]!.bytes)} (the ~610 KB figure in the issue).`,
    '',
  );
  L.push('Top contributors to the CDK bundle (bytes in the output, from the esbuild metafile):', '');
  L.push('| Package | Bytes | Share |', '|---|---|---|');
  for (const p of cdkBundle.packages.slice(0, 16)) L.push(`| ${p.name} | ${p.bytes} | ${pct(p.bytes / cdkBundle.bytes)} |`);
  L.push('');
  L.push(
    `In Lambda the function's credentials are always in environment variables, so the bundles resolve \`@aws-sdk/credential-provider-node\` (the SDK's default chain: SSO, ini files, web identity, IMDS, process, login) to \`lambdas/runtime/credentials-from-env.ts\`, which exports the environment provider alone (an esbuild alias, set in \`lib/constructs/function-defaults.ts\`). Without it the bundle is ${kib(r.coldStart.bundles[2]!.bytes)}. With the SDK left to the runtime it would be ${kib(r.coldStart.bundles[3]!.bytes)} (the construct bundles the SDK deliberately, to pin its version).`,
    '',
  );
  L.push('Largest files:', '');
  L.push('| File | Bytes |', '|---|---|');
  for (const f of cdkBundle.files.slice(0, 10)) L.push(`| \`${f.name}\` | ${f.bytes} |`);
  L.push('');
  L.push(
    `Cold start: a fresh \`node\` process (${r.coldStart.node}) imports the bundle and serves one request (the handler wires its clients on first use), then a second one; medians of ${cold405.runs} runs per variant, the variants interleaved, after one untimed run that warms the OS file cache. *Import + first* is the part the bundle decides and the one held against the target; *Node start* is Node's own boot before the script runs; *wall* is spawn to exit as seen from outside. The JWKS in the 200 case comes from a local HTTPS server (in AWS: the bank's authorization server, over the internet), and DynamoDB is DynamoDB Local.`,
    '',
  );
  L.push('| First request | Status | Node start | Import | First request | **Import + first** (range) | Second request | Wall |', '|---|---|---|---|---|---|---|---|');
  for (const c of r.coldStart.runs) {
    L.push(`| ${c.variant}: ${c.description} | ${c.status} | ${fmt(c.nodeStart, 0)} | ${fmt(c.importMs, 0)} | ${fmt(c.firstMs, 0)} | **${fmt(c.totalMs, 0)}** (${fmt(c.totalRange[0], 0)}–${fmt(c.totalRange[1], 0)}) | ${fmt(c.secondMs, 1)} | ${fmt(c.wallMs, 0)} |`);
  }
  L.push('');

  // 6. Long poll
  const lp = r.longPoll;
  L.push('## 6. Long-poll cost and wake-up latency', '');
  L.push(
    `**A ${lp.longPollSeconds} s long poll that finds nothing** (\`PollService.poll\` on an empty queue, through the bench store's capacity listener): ${fmt(lp.idle.seconds, 2)} s, ${lp.idle.rounds} rounds of reads = ${lp.idle.queries} Queries (each reads the lease record and the queue head) = **${fmt(lp.idle.readUnits, 1)} read units** billed (DynamoDB Local reported ${fmt(lp.idle.readUnitsReported, 1)}: it bills an empty Query 0). Lambda: **${fmt(lp.idle.seconds, 2)} s = ${fmt(lp.idle.gbSeconds, 2)} GB-s** at 512 MB.`,
    '',
  );
  L.push('| | DynamoDB reads | Lambda (request + GB-s) | HTTP API | Total |', '|---|---|---|---|---|');
  L.push(`| One idle long poll | ${usd(lp.idle.costPerPoll.dynamo)} | ${usd(lp.idle.costPerPoll.lambda)} | ${usd(lp.idle.costPerPoll.httpApi)} | ${usd(lp.idle.costPerPoll.total)} |`);
  L.push(`| One recipient long polling around the clock with nothing to deliver, 30 days | ${usd(lp.idle.costPerRecipientMonth.dynamo)} | ${usd(lp.idle.costPerRecipientMonth.lambda)} | ${usd(lp.idle.costPerRecipientMonth.httpApi)} | **${usd(lp.idle.costPerRecipientMonth.total)}** |`);
  L.push('');
  L.push(
    `Each round is one Query that reads the lease record with the queue head, so an idle round costs the 0.5-unit minimum. A waiting Lambda is billed for its wall time, so the Lambda line is the same for any long-poll length: $${((PRICES.lambdaMemoryGb * PRICES.lambdaArmGbSecond * 86400 * 30)).toFixed(2)} per always-waiting recipient-month at 512 MB.`,
    '',
  );
  L.push(
    `**Enqueue → delivery to a waiting long poll**, over mTLS: ${lp.recipients} recipients long polling back to back (each poll acking the previous delivery), a producer per recipient enqueuing ${lp.events / lp.recipients} SETs at random gaps of ${lp.gapMs[0] / 1000}–${lp.gapMs[1] / 1000} s, timed from just before the PutItem to the response that carried the SET (${lp.events} events, ${lp.longPolls} long polls):`,
    '',
  );
  L.push('| Events | p50 ms | p90 ms | p99 ms | max ms |', '|---|---|---|---|---|');
  L.push(`| ${lp.delivery.n} | ${fmt(lp.delivery.p50, 0)} | ${fmt(lp.delivery.p90, 0)} | ${fmt(lp.delivery.p99, 0)} | ${fmt(lp.delivery.max, 0)} |`);
  L.push('', 'The wait re-reads after 100, 200, 400 and 700 ms, then every second: a SET that arrives after the first 1.4 s waits up to a second for the next read.', '');

  L.push(...scaleOnPaper(r));
  L.push(...recommendations(r));

  L.push('## Method notes', '');
  L.push(
    '- The local server stands in for API Gateway: the *server-timed* figures are what API Gateway would report as integration latency, minus its own overhead; the client round trip adds TLS record work and loopback, not a network.',
    '- The stack runs with its logger silent: in Lambda the handler writes one INFO line per poll, which is not timed here.',
    '- DynamoDB Local is a single Java process on the same 2 cores; it serialises concurrent writes. Ten parallel acks cost about ten times one DeleteItem there, unlike in DynamoDB, so absolute latencies (and the 8-recipient figures above all) are this machine\'s, not AWS\'s. The ratios compare like with like on the same machine.',
    '- Recycled SETs: to keep queues full without signing hundreds of thousands of SETs, the latency and throughput parts put acked SETs back into their queue unchanged (same jti, same JWS; the jti is free again once acked).',
    '',
  );
  return `${L.join('\n')}\n`;
}

function breakdown(lat: LatencyResult2, v: (c: number, path: string, kind: string) => LatencyVariant | undefined): string[] | undefined {
  const kinds = ['poll-only', 'poll-ack', 'ack-only'] as const;
  const cells = (f: (kind: (typeof kinds)[number]) => number | undefined) => kinds.map((k) => fmt(f(k))).join(' | ');
  const p50 = (path: string) => (kind: string) => v(1, path, kind)?.stats.p50;
  const jwks = v(1, 'https', 'jwks')?.stats.p50;
  const jwksServer = v(1, 'server', 'jwks')?.stats.p50;
  const b = lat.breakdown;
  if (jwks === undefined || jwksServer === undefined) return undefined;
  const rows = [
    '| Step (one recipient, p50 ms) | poll-only | poll+ack | ack-only |',
    '|---|---|---|---|',
    `| HTTPS round trip seen by the recipient | ${cells(p50('https'))} |`,
    `| … inside the server (stand-in for API Gateway + handler + its DynamoDB calls) | ${cells(p50('server'))} |`,
    `| … client-side TLS, HTTP, loopback (difference) | ${cells((k) => (p50('https')(k) ?? NaN) - (p50('server')(k) ?? NaN))} |`,
    `| Bare DynamoDB calls, same work | ${cells(p50('bare'))} |`,
    `| Server minus bare | ${cells((k) => (p50('server')(k) ?? NaN) - (p50('bare')(k) ?? NaN))} |`,
    `| of which: the local server's floor (GET /jwks.json timed inside it: event conversion, routing, writing) | ${fmt(jwksServer)} | | |`,
    `| of which: API Gateway event conversion alone (incl. parsing the certificate), in process | ${fmt(b.eventConversion.p50)} | | |`,
    `| of which: token verification (jose, ES256, keys cached), in process | ${fmt(b.tokenVerify.p50)} | | |`,
    `| of which: client-certificate check (parse + SHA-256, registry cached), in process | ${fmt(b.certificateCheck.p50)} | | |`,
    `| HTTPS floor: GET /jwks.json round trip on the same connection | ${fmt(jwks)} | | |`,
  ];
  const l = b.layers;
  return [
    ...rows,
    '',
    `The same poll-only in process, on one thread and one DynamoDB client, the three alternating (${l.bare.n} each): bare calls p50 **${fmt(l.bare.p50)}** ms, \`PollService.poll\` **${fmt(l.service.p50)}** ms (×${fmt(l.service.p50 / l.bare.p50)}), the handler called directly with an API Gateway event (certificate check, token, body, poll, response JSON; no HTTP) **${fmt(l.handler.p50)}** ms (×${fmt(l.handler.p50 / l.bare.p50)}). p90: ${fmt(l.bare.p90)} / ${fmt(l.service.p90)} / ${fmt(l.handler.p90)} ms.`,
  ];
}

export function renderLatencySvg(lat: LatencyResult2): string {
  const kinds = ['poll-only', 'poll-ack', 'ack-only'] as const;
  const panels = [1, 8].map((c) => {
    const groups: string[] = [];
    const p50: number[] = [];
    const p90: number[] = [];
    const p99: number[] = [];
    const add = (label: string, x: LatencyVariant | undefined) => {
      if (!x) return;
      groups.push(label);
      p50.push(x.stats.p50);
      p90.push(x.stats.p90);
      p99.push(x.stats.p99);
    };
    for (const kind of kinds) {
      for (const path of ['https', 'server', 'bare'] as const) {
        add(`${KIND_LABEL[kind]}\n${path === 'https' ? 'HTTPS' : path === 'server' ? 'in server' : 'bare DDB'}`, lat.variants.find((x) => x.concurrency === c && x.path === path && x.kind === kind));
      }
    }
    add('GET /jwks\nHTTPS', lat.variants.find((x) => x.concurrency === c && x.path === 'https' && x.kind === 'jwks'));
    return {
      title: `${c} concurrent recipient${c > 1 ? 's' : ''}`,
      yLabel: 'ms',
      groups,
      series: [
        { name: 'p50', values: p50 },
        { name: 'p90', values: p90 },
        { name: 'p99', values: p99 },
      ],
    };
  });
  return barChart('setpoll poll latency at batch 10 (median over trials)', panels, 'HTTPS = client round trip over mTLS; in server = handler timed inside the server; bare DDB = the same DynamoDB calls without HTTP');
}

export function renderCapacitySvg(cap: CapacityResult): string {
  const x = [...BATCHES];
  const series = (field: 'wcu' | 'rcu') =>
    SIZES.map((s) => ({ name: s.label, values: x.map((b) => cap.rows.find((r) => r.limitBytes === s.limitBytes && r.batch === b)?.[field] ?? Number.NaN) }));
  return lineChart(
    'DynamoDB capacity units per SET (enqueue, lease, read, ack) against batch size',
    [
      { title: 'Write units per SET', yLabel: 'WCU / SET', x, xLabel: 'batch size (maxEvents)', series: series('wcu'), target: { y: TARGETS.wcuPerSet, label: `target for 1 KB @ 10: ≤ ${TARGETS.wcuPerSet}` } },
      { title: 'Read units per SET', yLabel: 'RCU / SET', x, xLabel: 'batch size (maxEvents)', series: series('rcu'), target: { y: TARGETS.rcuPerSet, label: `target for 1 KB @ 10: ≤ ${TARGETS.rcuPerSet}` } },
    ],
    'Steady state: each poll acks the previous batch. Billed units (DynamoDB Local figures with billing floors).',
  );
}

/** One paragraph per miss (and per finding), with this run's numbers. Product code is not changed by the bench. */
function recommendations(r: BenchResults): string[] {
  const L: string[] = ['## Misses and the product changes they point to', ''];
  const row = r.capacity.rows.find((x) => x.limitBytes === 1024 && x.batch === 10)!;
  const w = r.capacity.acksFirst;
  if (row.rcu > TARGETS.rcuPerSet) {
    L.push(
      `- **Read units (${fmt(row.rcu, 3)} > ${TARGETS.rcuPerSet} RCU per 1 KB SET at batch 10).** The Query of a poll+ack reads \`maxEvents + 1 + acks\` items (${fmt(row.queryItemsPerPoll, 1)} on average) because it runs beside the acks' deletes; at 1 KB that is 6 blocks of 4 KB (3 RCU) per poll instead of 3 (1.5 RCU). Change \`PollService.poll\` (lambdas/core/poll-service.ts): when the request carries acks or setErrs, start \`readHead\` after \`#applyAcks\` settles and ask for \`limit + 1\` items; keep excluding acked jtis in \`#select\`, which covers a stale eventually consistent read, and let its existing paging fetch more in that rare case. Measured with the same calls issued bare: **${fmt(w.rcu, 3)} RCU per SET** (${fmt(w.queryItemsPerPoll, 1)} items per Query), writes unchanged at ${fmt(w.wcu, 3)}. Cost: one more sequential DynamoDB round trip on requests that ack (p50 ${fmt(w.acksFirst.p50)} vs ${fmt(w.today.p50)} ms here, where DynamoDB Local serialises the deletes anyway; in AWS, one Query latency, a few ms).`,
      '',
    );
  }
  if (row.wcu > TARGETS.wcuPerSet) L.push(`- **Write units (${fmt(row.wcu, 3)} > ${TARGETS.wcuPerSet}).** See the per-operation table in part 1.`, '');
  for (const ratio of r.latency.ratios.filter((x) => x.https > TARGETS.handlerOverBare)) {
    const server = r.latency.variants.find((x) => x.concurrency === ratio.concurrency && x.path === 'server' && x.kind === ratio.kind);
    const https = r.latency.variants.find((x) => x.concurrency === ratio.concurrency && x.path === 'https' && x.kind === ratio.kind);
    const bare = r.latency.variants.find((x) => x.concurrency === ratio.concurrency && x.path === 'bare' && x.kind === ratio.kind);
    const jwks = r.latency.variants.find((x) => x.concurrency === ratio.concurrency && x.path === 'https' && x.kind === 'jwks');
    if (!server || !https || !bare) continue;
    const tv = r.latency.breakdown.tokenVerify.p50;
    const cc = r.latency.breakdown.certificateCheck.p50;
    L.push(
      `- **Handler/bare ${fmt(ratio.https)} for ${KIND_LABEL[ratio.kind]} with ${ratio.concurrency} recipient${ratio.concurrency > 1 ? 's' : ''}** (p50 ${fmt(https.stats.p50)} ms over HTTPS, ${fmt(server.stats.p50)} ms inside the server, ${fmt(bare.stats.p50)} ms bare; the HTTPS floor GET /jwks.json is ${fmt(jwks?.stats.p50)} ms, token verification ${fmt(r.latency.breakdown.tokenVerify.p50)} ms and the certificate check ${fmt(r.latency.breakdown.certificateCheck.p50)} ms). ${
        ratio.concurrency > 1
          ? 'With 8 recipients the server, the handler, the load and DynamoDB Local share 2 cores: the gap is CPU queueing on this machine (compare the HTTPS floor, which grows the same way), not handler work that a change could remove; in Lambda each concurrent poll has its own instance.'
          : `Inside the server the handler adds ${fmt(server.stats.p50 - bare.stats.p50)} ms to the bare calls (token ${fmt(tv)} ms, certificate ${fmt(cc)} ms, the rest body parsing, response JSON, middy and the event conversion) and the client side ${fmt(https.stats.p50 - server.stats.p50)} ms: a fixed cost per request, large against DynamoDB Local's ${fmt(bare.stats.p50)} ms here and smaller against slower DynamoDB round trips. The per-trial ratios were ${ratio.perTrial.map((x) => fmt(x)).join(', ')} (other processes took a share of the cores; see the CPU table). Token verification and the certificate check are already memoised (per token until its \`exp\`, per certificate PEM), which is why they are near zero here. In process, without HTTP, the handler took ×${fmt(r.latency.breakdown.layers.handler.p50 / r.latency.breakdown.layers.bare.p50)} the bare calls and \`PollService\` ×${fmt(r.latency.breakdown.layers.service.p50 / r.latency.breakdown.layers.bare.p50)}; the local server's own floor (a static GET timed inside it) is ${fmt(r.latency.variants.find((x) => x.concurrency === 1 && x.path === 'server' && x.kind === 'jwks')?.stats.p50)} ms, work that API Gateway does in AWS.`
      }`,
      '',
    );
  }
  const bundles = r.coldStart.bundles;
  const cdk = bundles[0]!;
  if (cdk.bytes > TARGETS.bundleKiB * 1024) {
    L.push(
      `- **Bundle (${kib(cdk.bytes)} > ${TARGETS.bundleKiB} KiB).** ${fmt((cdk.packages.filter((p) => /@aws-sdk|@smithy/.test(p.name)).reduce((a, p) => a + p.bytes, 0) / cdk.bytes) * 100, 0)}% of it is the AWS SDK; see the largest packages above.`,
      '',
    );
  }
  const coldMisses = r.coldStart.runs.filter((x) => !x.variant.includes('full credential chain') && !x.variant.includes('deployed') && x.totalMs > TARGETS.coldStartMs);
  if (coldMisses.length > 0) {
    const c405 = r.coldStart.runs.find((x) => x.variant === '405')!;
    const deployed = r.coldStart.runs.find((x) => x.variant === '405 as deployed');
    L.push(
      `- **Cold start over ${TARGETS.coldStartMs} ms for ${coldMisses.map((x) => `${x.variant} (${fmt(x.totalMs, 0)} ms)`).join(', ')}.** Importing the bundle takes ${fmt(c405.importMs, 0)} ms and the first request ${fmt(c405.firstMs, 0)} ms even when it needs no network (a 405): the handler builds its clients (\`depsFromEnv\`) on the first call, and a real poll then also opens its first DynamoDB connection and fetches the JWKS. Changes, in order of effect: the smaller bundle above (less to parse); wiring the dependencies at module scope and starting the JWKS fetch there (\`handlers/poll.ts\`), so the work happens in Lambda's init phase instead of inside the first request; and dropping \`--enable-source-maps\` from \`NODE_OPTIONS\`${deployed ? ` (with the map beside the bundle it costs ${fmt(deployed.totalMs - c405.totalMs, 0)} ms at import here)` : ''}, keeping the map for offline symbolication.`,
      '',
    );
  }
  const a = r.capacity.ackOnly;
  if (a.cyclesUntilStall !== undefined) {
    L.push(
      `- **Ack-only requests stall a recipient (finding, no target).** After ${a.cyclesUntilStall - 1} poll-only/ack-only cycles at batch ${a.batch} the recipient got nothing for up to ${r.settings.leaseSeconds} s with ${a.remainingInQueue} SETs queued, and every lease write cost ${fmt(a.leaseWriteUnits, 0)} WCU. Change \`PollService.poll\`: when a request acks or reports jtis that the lease record lists, write the record without them even if it picks nothing (one conditional PutItem, only then); or, at no extra cost, drop from the record at the next lease write every jti that sorts before the last key the Query read but was not in the page (it no longer exists).`,
      '',
    );
  }
  const lp = r.longPoll.idle;
  if (lp.leaseReads > 0) {
    L.push(
      `- **Idle long polls (finding, no target).** Each round reads the lease record as well as the queue (${lp.leaseReads} + ${lp.queries} reads, ${fmt(lp.readUnits, 1)} RCU per 20 s poll), while the README says the lease read happens only when the queue is not empty. Either correct the README or skip the lease read when the Query returns no items (it would then run after the Query: one more round trip only when there is something to deliver). The larger cost of an idle recipient is Lambda time: ${usd(lp.costPerRecipientMonth.lambda)} of the ${usd(lp.costPerRecipientMonth.total)} per always-waiting recipient-month; at 512 MB it is set by the memory size alone.`,
      '',
    );
  }
  return L;
}

/** DynamoDB's per-partition write limit, write units per second. */
const PARTITION_WCU_PER_SECOND = 1000;

/**
 * Part 7: one recipient's ceiling before its partition key reaches DynamoDB's per-partition write
 * limit, and the monthly bill of a large deployment, both worked out from this run's figures.
 */
export function scaleOnPaper(r: BenchResults): string[] {
  const L: string[] = ['## 7. Scale on paper', ''];
  const dollars = (x: number) => (x >= 1000 ? `$${Math.round(x).toLocaleString('en-US')}` : usd(x));
  const row = (batch: number) => r.capacity.rows.find((x) => x.limitBytes === 1024 && x.batch === batch)!;
  const cost = (batch: number) => r.cost.find((x) => x.size === '1 KB' && x.batch === batch)!;
  L.push(
    `Every write of a SET's life lands on its recipient's partition key \`Q#<clientId>\`: the put, the delete, and its share of the lease record's writes. DynamoDB serves at most ${PARTITION_WCU_PER_SECOND.toLocaleString('en-US')} write units per second per partition, and splitting a hot partition by sort key does not help here: UUIDv7 jtis make every put land at the end of the key range and every read at its head.`,
    '',
  );
  L.push('| 1 KB SETs, batch | WCU per SET on the recipient\'s partition | SETs per second per recipient | SETs per day per recipient |', '|---|---|---|---|');
  for (const batch of BATCHES) {
    const w = row(batch).wcu;
    const perSecond = PARTITION_WCU_PER_SECOND / w;
    L.push(`| ${batch} | ${fmt(w, 3)} | **${fmt(perSecond, 0)}** | ${fmt((perSecond * 86_400) / 1e6, 1)} million |`);
  }
  L.push('', `Reads are far from their limit (3,000 read units per second per partition): ${fmt(row(10).rcu, 2)} read units per SET at batch 10.`, '');

  const recipients = 100_000;
  const setsPerMonth = 1e9;
  const perRecipient = setsPerMonth / recipients;
  const month = 30 * 86_400;
  const idle = r.longPoll.idle;
  // 10,000 SETs per recipient-month is one every ~4 minutes: a waiting long poll returns each one alone.
  const delivery = (cost(1).total * setsPerMonth) / 1e6;
  const longPolls = idle.costPerRecipientMonth.total * recipients;
  const shortInterval = 60;
  const shortPollsPerMonth = month / shortInterval;
  const shortPollCost = cost(1).lambdaRequests / 1e6 + cost(1).httpApi / 1e6 + (cost(1).lambdaDuration / 1e6) + 0.5 * PRICES.dynamoReadUnit;
  const shortPolls = shortPollCost * shortPollsPerMonth * recipients;
  L.push(
    `**${recipients.toLocaleString('en-US')} recipients, ${(setsPerMonth / 1e9).toFixed(0)} billion 1 KB SETs a month** (${perRecipient.toLocaleString('en-US')} per recipient, one every ${fmt(month / perRecipient / 60, 1)} minutes on average): a recipient that waits in a long poll gets each SET in a response of its own, so delivery costs what batch 1 costs above (${usd(cost(1).total)} per million).`,
    '',
  );
  L.push('| Part of the monthly bill | How it is worked out | Per month |', '|---|---|---|');
  L.push(`| Delivering and acking the SETs | ${(setsPerMonth / 1e6).toLocaleString('en-US')} million × ${usd(cost(1).total)} per million (part 2, 1 KB, batch 1) | ${dollars(delivery)} |`);
  L.push(`| Recipients waiting in long polls around the clock | ${recipients.toLocaleString('en-US')} × ${usd(idle.costPerRecipientMonth.total)} (part 6: Lambda is billed for the wait) | ${dollars(longPolls)} |`);
  L.push(`| …or polling every ${shortInterval} s instead | ${recipients.toLocaleString('en-US')} × ${shortPollsPerMonth.toLocaleString('en-US')} polls × ${usd(shortPollCost)} (one request, one invocation of a batch-1 duration, one 0.5-unit read) | ${dollars(shortPolls)} |`);
  L.push(`| **Total with long polling** | | **${dollars(delivery + longPolls)}** |`);
  L.push(`| **Total with ${shortInterval} s short polling** | | **${dollars(delivery + shortPolls)}** |`);
  L.push(
    '',
    `Waiting dominates: a Lambda that holds a long poll is billed for its wall time, so at this scale recipients should short-poll, or long-poll only while SETs are expected. A SET then waits up to ${shortInterval} s, still within the OB profile's polling policies. Not included: CloudWatch Logs ingestion and DynamoDB storage (SETs are deleted when acked).`,
    '',
  );
  return L;
}
