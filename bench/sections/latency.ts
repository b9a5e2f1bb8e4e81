/**
 * Part 3: poll latency over real mTLS at batch 10 (poll-only, poll+ack, ack-only), with 1 and 8
 * concurrent recipients, beside the same DynamoDB calls issued bare and the HTTPS floor (GET
 * /jwks.json on the same connection). Trials are interleaved (every variant once per trial) so
 * drift on a shared machine hits all variants alike; figures are medians over trials.
 */
import { createRemoteJWKSet, customFetch } from 'jose';
import { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import { X509Certificate } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { ClientAuthenticator } from '../../lambdas/core/client-authenticator.ts';
import { PollService } from '../../lambdas/core/poll-service.ts';
import { createPollHandler } from '../../lambdas/handlers/poll.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { lambdaContext, toApiGatewayEvent } from '../../local/https-server.ts';
import { BareQueue } from '../lib/bare.ts';
import { fetchTrustingCa } from '../../local/fetch-with-ca.ts';
import type { BenchEnv, Recipient } from '../lib/env.ts';
import type { BareRunner } from '../lib/bare-runner.ts';
import type { LoadWorker } from '../lib/load.ts';
import type { LatencyResult, Path, Pattern } from '../lib/load-protocol.ts';
import type { ServerTiming } from '../lib/server-timing.ts';
import { SizedSetFactory, type SizedSet } from '../lib/sets.ts';
import { median, summarize, summarizeTrials, type Summary, type TrialSummary } from '../lib/stats.ts';

export const LATENCY_BATCH = 10;
export const CONCURRENCIES = [1, 8] as const;
/** SETs each recipient's queue cycles through: the batch in flight, the next batch, and spare. */
const POOL = 40;

export interface LatencyVariant {
  readonly concurrency: number;
  /** https: client round trip over mTLS; server: the same requests timed inside the server; bare: DynamoDB calls only. */
  readonly path: 'https' | 'server' | 'bare';
  readonly kind: 'poll-only' | 'poll-ack' | 'ack-only' | 'jwks';
  readonly stats: TrialSummary;
  /** p50 of each trial, in trial order (for ratios between neighbouring blocks). */
  readonly trialP50: readonly number[];
}

/** Handler p50 over bare-DynamoDB p50, trial by trial (neighbouring blocks), then the median. */
export interface Ratio {
  readonly concurrency: number;
  readonly kind: string;
  /** Client round trip over mTLS / bare. */
  readonly https: number;
  /** Server-side handler time / bare. */
  readonly server: number;
  readonly perTrial: readonly number[];
}

export interface Breakdown {
  /** p50 of the in-process steps the handler adds to the DynamoDB calls, ms. */
  readonly tokenVerify: Summary;
  readonly certificateCheck: Summary;
  /** The local API Gateway stand-in's event conversion (incl. parsing the client certificate). */
  readonly eventConversion: Summary;
  /**
   * Poll-only (batch 10, one recipient), alternating on one thread and one DynamoDB client: the
   * bare calls, PollService.poll, and the handler called in process (no HTTP).
   */
  readonly layers: { readonly bare: Summary; readonly service: Summary; readonly handler: Summary };
}

export interface LatencyResult2 {
  readonly variants: readonly LatencyVariant[];
  readonly ratios: readonly Ratio[];
  readonly short: number;
  readonly breakdown: Breakdown;
  readonly trials: number;
  readonly setBytes: number;
  readonly alg: string;
}

export interface LatencyOptions {
  readonly quick: boolean;
}

export async function runLatency(
  env: BenchEnv,
  worker: LoadWorker,
  bare: BareRunner,
  timing: ServerTiming,
  recipients: readonly Recipient[],
  options: LatencyOptions,
  progress: (fraction: number, detail: string) => void,
): Promise<LatencyResult2> {
  const trials = options.quick ? 1 : 4;
  // HTTPS: ≥ 2,000 timed requests per variant and concurrency over the trials. The bare calls need
  // a p50 for the ratio and get fewer (quick: a smoke run).
  const perTrial = options.quick ? 60 : 500;
  const barePerTrial = options.quick ? 40 : 100;
  const warmup = options.quick ? 10 : 30;

  const factory = new SizedSetFactory({ signer: env.stackSigner, issuer: env.stack.config.issuer, limitBytes: 1024 });
  // The bare path gets queues of its own (same id length, so the same SET sizes).
  const bareIds = recipients.map((r) => r.clientId.replace(/^lat-/, 'bar-'));
  const pools = new Map<string, SizedSet[]>();
  for (const id of [...recipients.map((r) => r.clientId), ...bareIds]) {
    const pool: SizedSet[] = [];
    for (let i = 0; i < POOL; i++) pool.push(await factory.sign(id));
    pools.set(id, pool);
  }
  await worker.run({
    kind: 'add',
    recipients: recipients.map((r) => ({ clientId: r.clientId, path: 'https' as const, cert: r.cert, key: r.key, ca: r.ca, pool: pools.get(r.clientId)!, preload: true })),
  });
  for (const id of bareIds) await bare.add(id, pools.get(id)!);
  const setBytes = Math.max(...[...pools.values()].flat().map((s) => s.itemBytes));

  const samples = new Map<string, number[][]>();
  const keep = (key: string, trial: number, values: readonly number[]) => {
    let list = samples.get(key);
    if (!list) samples.set(key, (list = []));
    (list[trial] ??= []).push(...values);
  };
  let short = 0;

  // Each HTTPS block is followed at once by its bare twin, so a ratio compares neighbours in time.
  const plan: { path: Path; pattern: Pattern }[] = [
    { path: 'https', pattern: 'jwks' },
    { path: 'https', pattern: 'poll-ack' },
    { path: 'bare', pattern: 'poll-ack' },
    { path: 'https', pattern: 'cycle' },
    { path: 'bare', pattern: 'cycle' },
  ];
  const steps = CONCURRENCIES.length * (trials + 1) * plan.length;
  let step = 0;

  for (const c of CONCURRENCIES) {
    const httpsIds = recipients.slice(0, c).map((r) => r.clientId);
    for (let trial = -1; trial < trials; trial++) {
      for (const { path, pattern } of plan) {
        const total = trial < 0 ? warmup : path === 'bare' ? barePerTrial : perTrial;
        const cycles = Math.ceil(total / c);
        const tag = trial < 0 ? 'warmup' : `c${c}-t${trial}`;
        const label = `c=${c} ${trial < 0 ? 'warm-up' : `trial ${trial + 1}/${trials}`} ${path} ${pattern}`;
        const report = (f: number, d: string) => progress((step + f) / steps, `${label} ${d}`);
        const result =
          path === 'bare'
            ? await bare.latency(pattern === 'cycle' ? 'cycle' : 'poll-ack', bareIds.slice(0, c), LATENCY_BATCH, cycles, report)
            : await worker.run<LatencyResult>({ kind: 'latency', path, pattern, clientIds: httpsIds, batch: LATENCY_BATCH, cyclesPerRecipient: cycles, tag }, report);
        step++;
        progress(step / steps, label);
        const server = (kind: string) => timing.take(tag, kind);
        if (trial < 0) {
          for (const kind of ['poll-ack', 'poll-only', 'ack-only', 'jwks']) server(kind);
          continue;
        }
        short += result.short;
        for (const [kind, values] of Object.entries(result.samples)) {
          keep(`${c}|${path}|${kind}`, trial, values);
          if (path === 'https') keep(`${c}|server|${kind}`, trial, server(kind));
        }
      }
    }
  }

  const variants: LatencyVariant[] = [];
  for (const [key, trialsOf] of samples) {
    const [c, path, kind] = key.split('|') as [string, LatencyVariant['path'], LatencyVariant['kind']];
    const present = trialsOf.filter(Boolean);
    variants.push({ concurrency: Number(c), path, kind, stats: summarizeTrials(present), trialP50: present.map((t) => summarize(t).p50) });
  }
  const find = (c: number, path: string, kind: string) => variants.find((v) => v.concurrency === c && v.path === path && v.kind === kind);
  const ratios: Ratio[] = [];
  for (const c of CONCURRENCIES) {
    for (const kind of ['poll-only', 'poll-ack', 'ack-only']) {
      const https = find(c, 'https', kind);
      const server = find(c, 'server', kind);
      const bare = find(c, 'bare', kind);
      if (!https || !server || !bare) continue;
      const per = (a: LatencyVariant) => a.trialP50.map((p, t) => p / bare.trialP50[t]!);
      ratios.push({ concurrency: c, kind, https: median(per(https)), server: median(per(server)), perTrial: per(https) });
    }
  }

  progress(1, 'in-process decomposition');
  // A recipient of its own: the handler polls the queue its certificate names.
  const breakdown = await handlerSteps(env, await env.mint('dec-hdl'), options.quick);
  return { variants, ratios, short, breakdown, trials, setBytes, alg: env.stackSigner.alg };
}

/**
 * The handler's own steps between the HTTP request and the DynamoDB calls, timed in process:
 * access-token verification (signature, claims, certificate binding; keys cached as in Lambda)
 * and the client-certificate check (thumbprint; registry lookup cached for 30 s as in Lambda).
 */
async function handlerSteps(env: BenchEnv, recipient: Recipient, quick: boolean): Promise<Breakdown> {
  const origin = env.stack.server.origin;
  const tokens = new AccessTokenVerifier({
    keys: createRemoteJWKSet(new URL(`${origin}/oauth/jwks.json`), {
      [customFetch]: fetchTrustingCa(env.stack.pki.caCertPem, { cert: recipient.cert, key: recipient.key }),
    }),
    issuer: `${origin}/oauth`,
    audience: origin,
    realm: env.settings.realm,
  });
  const authenticator = new ClientAuthenticator({ registry: env.stack.registry, realm: env.settings.realm, cacheSeconds: env.settings.identityCacheSeconds });
  const token = await recipient.client.token();
  const client = await authenticator.authenticate(recipient.cert);
  await tokens.verify(`Bearer ${token}`, client);
  const der = new X509Certificate(recipient.cert).raw;
  const body = JSON.stringify({ maxEvents: LATENCY_BATCH, returnImmediately: true });
  const event = () =>
    toApiGatewayEvent({
      method: 'POST',
      url: env.pollPath,
      rawHeaders: ['host', new URL(origin).host, 'content-type', 'application/json', 'authorization', `Bearer ${token}`, 'content-length', String(body.length)],
      body: Buffer.from(body),
      httpVersion: '1.1',
      sourceIp: '127.0.0.1',
      port: 443,
      routeKey: `POST ${env.pollPath}`,
      domainName: 'localhost',
      requestId: 'bench',
      time: new Date(),
      peerCertificate: der,
    });
  const verify: number[] = [];
  const auth: number[] = [];
  const convert: number[] = [];
  for (let i = 0; i < 600; i++) {
    let t = performance.now();
    await authenticator.authenticate(recipient.cert);
    auth.push(performance.now() - t);
    t = performance.now();
    await tokens.verify(`Bearer ${token}`, client);
    verify.push(performance.now() - t);
    t = performance.now();
    event();
    convert.push(performance.now() - t);
  }

  // The layers, on the stack's own DynamoDB client, alternating so background load hits all alike.
  const store = new DynamoQueueStore({ client: env.stack.documentClient, tableName: env.tableName });
  const service = new PollService({ store, settings: env.settings });
  const handler = createPollHandler({ store, authenticator, tokens, settings: env.settings, logger: new Logger({ serviceName: 'setpoll', logLevel: 'SILENT' }) });
  const bare = new BareQueue(env.stack.documentClient, env.tableName, env.settings.leaseSeconds);
  const factory = new SizedSetFactory({ signer: env.stackSigner, issuer: env.stack.config.issuer, limitBytes: 1024 });
  const queues = { handler: recipient.clientId, service: 'dec-svc', bare: 'dec-bar' } as const;
  const pools = new Map<string, Map<string, SizedSet>>();
  for (const q of Object.values(queues)) {
    const pool = new Map<string, SizedSet>();
    for (let i = 0; i < POOL; i++) {
      const set = await factory.sign(q);
      pool.set(set.jti, set);
    }
    pools.set(q, pool);
    await bare.putSets(q, [...pool.values()]);
  }
  const reset = async (q: string, jtis: readonly string[]) => {
    await Promise.all(jtis.map((jti) => bare.deleteSet(q, jti)));
    const lease = await store.readLease(q, true);
    await store.writeLease(q, lease.version, new Map());
    await bare.putSets(q, jtis.map((jti) => pools.get(q)!.get(jti)!));
  };
  for (const q of Object.values(queues)) await reset(q, []);
  const times = { bare: [] as number[], service: [] as number[], handler: [] as number[] };
  const rounds = quick ? 40 : 300;
  const warm = 20;
  for (let i = 0; i < rounds + warm; i++) {
    let t = performance.now();
    const viaBare = await bare.poll(queues.bare, LATENCY_BATCH, []);
    if (i >= warm) times.bare.push(performance.now() - t);
    await reset(queues.bare, viaBare);

    t = performance.now();
    const viaService = await service.poll(queues.service, { maxEvents: LATENCY_BATCH, returnImmediately: true, ack: [], setErrs: new Map() });
    if (i >= warm) times.service.push(performance.now() - t);
    await reset(queues.service, Object.keys(viaService.sets));

    const e = event();
    const context = lambdaContext({ functionName: 'setpoll-bench', timeoutMs: 30_000 });
    t = performance.now();
    const res = await handler(e, context);
    if (i >= warm) times.handler.push(performance.now() - t);
    if (res.statusCode !== 200) throw new Error(`in-process handler answered ${res.statusCode}: ${res.body}`);
    await reset(queues.handler, Object.keys((JSON.parse(res.body ?? '{}') as { sets: Record<string, string> }).sets));
  }
  return {
    tokenVerify: summarize(verify.slice(100)),
    certificateCheck: summarize(auth.slice(100)),
    eventConversion: summarize(convert.slice(100)),
    layers: { bare: summarize(times.bare), service: summarize(times.service), handler: summarize(times.handler) },
  };
}
