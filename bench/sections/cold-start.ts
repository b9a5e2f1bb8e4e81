/**
 * Part 5: the poll handler bundled as the CDK bundles it, its size and what it is made of, and
 * the time a fresh Node process takes to import it and answer a first request.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { LAMBDA_BUNDLE_ALIASES } from '../../lib/constructs/function-defaults.ts';
import { toApiGatewayEvent } from '../../local/https-server.ts';
import type { BenchEnv, Recipient } from '../lib/env.ts';
import { median } from '../lib/stats.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(ROOT, 'lambdas/handlers/poll.ts');
const CHILD = fileURLToPath(new URL('../cold-start-child.mjs', import.meta.url));
/** lib/constructs/poll-function.ts: `bundling.banner`. */
const BANNER = "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

export interface BundleInfo {
  readonly label: string;
  readonly flags: string;
  readonly bytes: number;
  readonly packages: readonly Contributor[];
  readonly files: readonly Contributor[];
}

export interface ColdRun {
  readonly variant: string;
  readonly description: string;
  readonly status: number;
  /** Medians over the runs, ms. */
  readonly nodeStart: number;
  readonly importMs: number;
  readonly firstMs: number;
  /** Import + first response: the part the bundle decides. */
  readonly totalMs: number;
  /** Spawn to exit, from outside: Node's own start, import, first request, exit. */
  readonly wallMs: number;
  readonly secondMs: number;
  readonly runs: number;
  readonly totalRange: readonly [number, number];
}

export interface ColdStartResult {
  readonly bundles: readonly BundleInfo[];
  readonly runs: readonly ColdRun[];
  readonly node: string;
}

export async function runColdStart(
  env: BenchEnv,
  mint: (id: string, options?: { register?: boolean }) => Promise<Recipient>,
  options: { quick: boolean },
  progress: (fraction: number, detail: string) => void,
): Promise<ColdStartResult> {
  const dir = mkdtempSync(join(tmpdir(), 'setpoll-cold-'));
  try {
    progress(0, 'bundling');
    const alias = { ...LAMBDA_BUNDLE_ALIASES };
    const cdk = await bundle(join(dir, 'cdk'), { mainFields: ['module', 'main'], sourcemap: false, alias });
    const deployed = await bundle(join(dir, 'deployed'), { mainFields: ['module', 'main'], sourcemap: true, alias });
    const literal = await bundle(join(dir, 'literal'), { sourcemap: false, alias });
    // Every alias but the credential provider's, so this row measures the credential chain alone.
    const otherAliases = Object.fromEntries(Object.entries(alias).filter(([from]) => from !== '@aws-sdk/credential-provider-node'));
    const fullChain = await bundle(join(dir, 'full-chain'), { mainFields: ['module', 'main'], sourcemap: false, alias: otherAliases });
    const sdkExternal = await bundle(join(dir, 'sdk-external'), { mainFields: ['module', 'main'], sourcemap: false, external: ['@aws-sdk/*', '@smithy/*'] });
    const aliasFlags = (aliases: Record<string, string>) => Object.entries(aliases).map(([from, to]) => ` --alias:${from}=${to}`).join('');
    const baseFlags = '--bundle --platform=node --target=node24 --format=esm --minify --main-fields=module,main --banner:js=…';
    const cdkFlags = `${baseFlags}${aliasFlags(alias)}`;
    const bundles: BundleInfo[] = [
      describe('As the CDK bundles it', cdkFlags, cdk),
      describe('Without --main-fields=module,main', cdkFlags.replace(' --main-fields=module,main', ''), literal),
      describe("Without the alias: the SDK's default credential chain", `${baseFlags}${aliasFlags(otherAliases)}`, fullChain),
      describe('What-if: AWS SDK from the runtime', `${baseFlags} --external:@aws-sdk/* --external:@smithy/*`, sdkExternal),
    ];

    progress(0.1, 'preparing requests');
    const registered = await mint('cold-1');
    const unregistered = await mint('cold-x', { register: false });
    const token = await registered.client.token();
    const jwks = await serveJwks(env, registered);
    try {
      const origin = env.stack.server.origin;
      const pollPath = env.pollPath;
      const body = JSON.stringify({ returnImmediately: true, maxEvents: 10 });
      const event = (method: string, cert: Recipient | undefined, headers: Record<string, string>, withBody: boolean) => {
        const file = join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
        const rawHeaders = Object.entries({ host: new URL(origin).host, ...headers }).flat();
        const e = toApiGatewayEvent({
          method,
          url: pollPath,
          rawHeaders,
          body: withBody ? Buffer.from(body) : Buffer.alloc(0),
          httpVersion: '1.1',
          sourceIp: '127.0.0.1',
          port: 443,
          routeKey: `${method === 'POST' ? 'POST' : 'ANY'} ${pollPath}`,
          domainName: 'localhost',
          requestId: 'cold-start',
          time: new Date(),
          ...(cert ? { peerCertificate: new X509Certificate(cert.cert).raw } : {}),
        });
        writeFileSync(file, JSON.stringify(e));
        return file;
      };
      const json = { 'content-type': 'application/json' };
      const variants = [
        { variant: '405', description: 'GET: method check, no network', file: event('GET', registered, {}, false), bundle: cdk.file, expect: 405 },
        { variant: '401', description: 'POST without a client certificate, no network', file: event('POST', undefined, json, true), bundle: cdk.file, expect: 401 },
        {
          variant: '403',
          description: 'unregistered certificate: one DynamoDB Query (registry lookup)',
          file: event('POST', unregistered, json, true),
          bundle: cdk.file,
          expect: 403,
        },
        {
          variant: '200',
          description: 'real poll: registry Query, JWKS fetch over HTTPS, token check, head Query',
          file: event('POST', registered, { ...json, authorization: `Bearer ${token}` }, true),
          bundle: cdk.file,
          expect: 200,
        },
        {
          variant: '403 full credential chain',
          description: "the 403 with the bundle that keeps the SDK's default credential chain (no alias)",
          file: event('POST', unregistered, json, true),
          bundle: fullChain.file,
          expect: 403,
        },
        {
          variant: '405 as deployed',
          description: '405 with the source map beside the bundle and NODE_OPTIONS=--enable-source-maps (the CDK sets both)',
          file: event('GET', registered, {}, false),
          bundle: deployed.file,
          expect: 405,
          nodeOptions: '--enable-source-maps',
        },
      ];
      const childEnv = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SETPOLL_TABLE_NAME: env.tableName,
        SETPOLL_DYNAMODB_ENDPOINT: env.dynamo.endpoint,
        SETPOLL_TOKEN_JWKS_URL: jwks.url,
        SETPOLL_TOKEN_ISSUER: `${origin}/oauth`,
        SETPOLL_TOKEN_AUDIENCE: origin,
        SETPOLL_TOKEN_SCOPES: 'accounts fundsconfirmations payments',
        SETPOLL_REALM: env.settings.realm,
        POWERTOOLS_SERVICE_NAME: 'setpoll',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        // The dev CA, for the JWKS fetch (in AWS the authorization server has a public certificate).
        NODE_EXTRA_CA_CERTS: env.stack.config.caCertFile,
        // Node 20 only: the SDK warns that it will need Node 22; Lambda runs Node 24 and never warns.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };

      const runsPer = options.quick ? 3 : 10;
      const results = new Map<string, ChildResult[]>();
      // One untimed run first: the OS file cache holds the bundle afterwards, as on a warm Lambda host.
      await runChild(cdk.file, variants[0]!.file, childEnv);
      let done = 0;
      for (let i = 0; i < runsPer; i++) {
        for (const v of variants) {
          const r = await runChild(v.bundle, v.file, v.nodeOptions ? { ...childEnv, NODE_OPTIONS: v.nodeOptions } : childEnv);
          if (r.status !== v.expect) throw new Error(`cold start ${v.variant}: expected ${v.expect}, got ${r.status}: ${r.output.slice(-500)}`);
          (results.get(v.variant) ?? results.set(v.variant, []).get(v.variant)!).push(r);
          done++;
          progress(0.15 + (0.85 * done) / (runsPer * variants.length), `${v.variant} run ${i + 1}/${runsPer}`);
        }
      }
      const runs: ColdRun[] = variants.map((v) => {
        const list = results.get(v.variant)!;
        const totals = list.map((r) => r.totalMs);
        return {
          variant: v.variant,
          description: v.description,
          status: v.expect,
          nodeStart: median(list.map((r) => r.nodeStart)),
          importMs: median(list.map((r) => r.importMs)),
          firstMs: median(list.map((r) => r.firstMs)),
          totalMs: median(totals),
          wallMs: median(list.map((r) => r.wallMs)),
          secondMs: median(list.map((r) => r.secondMs)),
          runs: list.length,
          totalRange: [Math.min(...totals), Math.max(...totals)],
        };
      });
      return { bundles, runs, node: process.version };
    } finally {
      await jwks.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Built {
  readonly file: string;
  readonly bytes: number;
  readonly metafile: Metafile;
}

async function bundle(
  outdir: string,
  options: { mainFields?: string[]; sourcemap: boolean; plugins?: Plugin[]; external?: string[]; alias?: Record<string, string> },
): Promise<Built> {
  const file = join(outdir, 'index.mjs');
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    sourcemap: options.sourcemap,
    banner: { js: BANNER },
    ...(options.mainFields ? { mainFields: options.mainFields } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
    // Relative alias targets resolve from absWorkingDir, the project root, as in `cdk synth`.
    ...(options.alias ? { alias: options.alias } : {}),
    // No externals (but in a what-if): the AWS SDK is bundled, as lib/constructs/poll-function.ts asks.
    ...(options.external ? { external: options.external } : {}),
    outfile: file,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  return { file, bytes: statSync(file).size, metafile: result.metafile };
}

function describe(label: string, flags: string, built: Built): BundleInfo {
  const output = Object.values(built.metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(built.metafile.outputs)[0]!;
  const packages = new Map<string, number>();
  const files: Contributor[] = [];
  for (const [path, input] of Object.entries(output.inputs)) {
    const name = packageOf(path);
    packages.set(name, (packages.get(name) ?? 0) + input.bytesInOutput);
    files.push({ name: path, bytes: input.bytesInOutput });
  }
  return {
    label,
    flags,
    bytes: built.bytes,
    packages: [...packages].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes),
    files: files.sort((a, b) => b.bytes - a.bytes).slice(0, 15),
  };
}

function packageOf(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return path.startsWith('lambdas/') ? 'setpoll (lambdas/)' : path;
  const rest = path.slice(at + 'node_modules/'.length).split('/');
  return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

interface ChildResult {
  readonly status: number;
  readonly nodeStart: number;
  readonly importMs: number;
  readonly firstMs: number;
  readonly totalMs: number;
  readonly secondMs: number;
  readonly wallMs: number;
  readonly output: string;
}

function runChild(bundleFile: string, eventFile: string, env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CHILD, bundleFile, eventFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - start;
      const line = output.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) return reject(new Error(`cold-start child exited ${code}: ${output.slice(-1000)}`));
      const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Omit<ChildResult, 'wallMs' | 'output'>;
      resolve({ ...r, wallMs, output });
    });
  });
}

/** The authorization server's keys over plain server-authenticated HTTPS, as a bank's AS serves them. */
async function serveJwks(env: BenchEnv, recipient: Recipient): Promise<{ url: string; close: () => Promise<void> }> {
  const res = await recipient.client.send('GET', '/oauth/jwks.json');
  if (res.status !== 200) throw new Error(`/oauth/jwks.json answered ${res.status}`);
  const server = createServer({ cert: env.stack.pki.server.certPem, key: env.stack.pki.server.keyPem }, (_req, out) => {
    out.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    out.end(res.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
