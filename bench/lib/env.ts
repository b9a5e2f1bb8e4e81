/**
 * The benchmark's world: its own DynamoDB Local (in memory), the local mTLS stack in front of it,
 * recipients minted from the dev CA, and the bench's own store (with a capacity listener) and
 * PollService over the same table for the parts that measure below HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JWK } from 'jose';
import { DEFAULT_SETTINGS, validateSettings, type PollSettings } from '../../lambdas/core/settings.ts';
import { PollService } from '../../lambdas/core/poll-service.ts';
import { JwkSigner, type SetSigner } from '../../lambdas/producer/signer.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { createDocumentClient, startDynamoLocal, type DynamoLocal } from '../../local/dynamodb.ts';
import { issueClientCertificate } from '../../local/pki.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { CapacityMeter } from './capacity.ts';
import { BenchClient, type ClientMaterial } from './https-client.ts';

export interface Recipient extends ClientMaterial {
  readonly fingerprint: string;
  readonly client: BenchClient;
}

export interface BenchEnv {
  readonly dynamo: DynamoLocal;
  readonly stack: LocalStack;
  readonly settings: PollSettings;
  readonly tableName: string;
  /** The bench's own client: its store reports capacity to `meter`. */
  readonly documentClient: DynamoDBDocumentClient;
  readonly meter: CapacityMeter;
  readonly store: DynamoQueueStore;
  readonly service: PollService;
  /** The stack's own PS256 SET signing key (the OB profile's algorithm). */
  readonly stackSigner: SetSigner;
  readonly pollPath: string;
  /** Registers a recipient (unless `register: false`) with a new certificate from the dev CA. */
  mint(clientId: string, options?: { register?: boolean }): Promise<Recipient>;
  stop(): Promise<void>;
}

/** The deployed defaults (docs/configuration.md): 30 s lease, 20 s long poll, 100 max events, unlimited attempts. */
export const BENCH_SETTINGS: PollSettings = validateSettings({ ...DEFAULT_SETTINGS });
const TABLE = 'setpoll-bench';

export async function startBenchEnv(): Promise<BenchEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'setpoll-bench-'));
  const dynamo = await startDynamoLocal();
  const clients: BenchClient[] = [];
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      dir,
      port: 0,
      dynamoEndpoint: dynamo.endpoint,
      tableName: TABLE,
      settings: BENCH_SETTINGS,
      // Silent: a log line per request would be the bench's own noise (see the report's notes).
      logger: new Logger({ serviceName: 'setpoll', logLevel: (process.env.BENCH_LOG_LEVEL ?? 'SILENT') as 'SILENT' }),
    });
    const documentClient = createDocumentClient(dynamo.endpoint);
    const meter = new CapacityMeter();
    // Counts the items each Query read, to explain its read units.
    documentClient.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'QueryCommand') meter.queryItems += Number((out.output as { ScannedCount?: number }).ScannedCount ?? 0);
        return out;
      },
      { step: 'initialize', name: 'benchQueryItems' },
    );
    const store = new DynamoQueueStore({ client: documentClient, tableName: TABLE, onCapacity: meter.listener });
    const service = new PollService({ store, settings: BENCH_SETTINGS });
    const stackSigner = await JwkSigner.fromJwk(JSON.parse(await readFile(stack.signingKeyFile, 'utf8')) as JWK);
    const started = stack;
    return {
      dynamo,
      stack,
      settings: BENCH_SETTINGS,
      tableName: TABLE,
      documentClient,
      meter,
      store,
      service,
      stackSigner,
      pollPath: new URL(stack.config.pollUrl).pathname,
      async mint(clientId, options = {}) {
        const issued = await issueClientCertificate(started.pki.ca, clientId);
        if (options.register !== false) await started.registry.register(clientId, issued.fingerprint);
        const material = { clientId, cert: issued.certPem, key: issued.keyPem, ca: started.pki.caCertPem };
        const client = new BenchClient(material, started.server.origin, started.config.tokenUrl);
        clients.push(client);
        return { ...material, fingerprint: issued.fingerprint, client };
      },
      async stop() {
        for (const c of clients) c.close();
        documentClient.destroy();
        await started.stop();
        await dynamo.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stack?.stop();
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
