/**
 * Which local stack or deployment a command acts on: the one resolver for every command.
 *
 * - The local stack (default): `.setpoll/local.json` as `npm start` wrote it (`--config FILE`, or
 *   `$SETPOLL_STATE_DIR/local.json`).
 * - A deployed table, for the commands that act on DynamoDB: `--table NAME [--region REGION]`.
 * - A deployment's API, for the commands that call it over mutual TLS: `--url URL --cert FILE
 *   --key FILE --token-url URL [--ca FILE]`, as a recipient (poll) or a Data Provider.
 *
 * It decides and reads the key material; it opens nothing. Clients are built by connection.ts
 * (DynamoDB) and api-client.ts (HTTPS, with the recipient library's transport and token source).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CONFIG_FILE_NAME, DEFAULT_STATE_DIR, readLocalConfig, type LocalClientConfig, type LocalConfig } from '../local/config.ts';
import type { MtlsIdentity } from '../recipient/transport.ts';
import type { OptionsConfig } from './args.ts';
import { CliFailure, UsageError } from './errors.ts';

/** The state folder `npm start` uses; the CLI looks for local.json there by default. */
export const defaultStateDir = (env: NodeJS.ProcessEnv = process.env): string => resolve(env.SETPOLL_STATE_DIR || DEFAULT_STATE_DIR);

/** A running local stack, as its local.json describes it. */
export interface LocalStack {
  readonly configFile: string;
  readonly config: LocalConfig;
}

/** Reads local.json (`--config`, or the default state folder's); `deployment` says how to target one instead. */
export async function readLocalStack(configOption: string | undefined, deployment: string): Promise<LocalStack> {
  const configFile = resolve(configOption ?? resolve(defaultStateDir(), CONFIG_FILE_NAME));
  if (!existsSync(configFile)) {
    throw new CliFailure(`No local stack configuration at ${configFile}: start the local stack with \`npm start\` (or pass --config FILE, or ${deployment})`);
  }
  try {
    return { configFile, config: await readLocalConfig(configFile) };
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
}

// --- DynamoDB: the local stack's DynamoDB Local, or a deployed table ---

export const TABLE_OPTIONS = {
  config: { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
} as const satisfies OptionsConfig;

export interface TableArgs {
  readonly config?: string | undefined;
  readonly table?: string | undefined;
  readonly region?: string | undefined;
}

export const TABLE_HELP = `Target (default: the local stack):
  --config FILE      local stack configuration (default: $SETPOLL_STATE_DIR/local.json, i.e. .setpoll/local.json)
  --table NAME       act on a deployed table instead, with the default AWS credential chain
  --region REGION    the deployed table's region (default: AWS_REGION / the profile's region)`;

export type TableTarget =
  | { readonly kind: 'aws'; readonly tableName: string; readonly region?: string }
  | { readonly kind: 'local'; readonly tableName: string; readonly endpoint: string; readonly local: LocalStack };

export async function resolveTableTarget(args: TableArgs, command: string): Promise<TableTarget> {
  if (args.table !== undefined) {
    if (args.config !== undefined) throw new UsageError('--config and --table cannot be used together', command);
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(args.table)) throw new UsageError(`--table ${JSON.stringify(args.table)} is not a DynamoDB table name`, command);
    return { kind: 'aws', tableName: args.table, ...(args.region ? { region: args.region } : {}) };
  }
  if (args.region !== undefined) throw new UsageError('--region needs --table', command);
  const local = await readLocalStack(args.config, '--table/--region for a deployed table');
  return { kind: 'local', tableName: local.config.dynamodb.tableName, endpoint: local.config.dynamodb.endpoint, local };
}

// --- An API over mutual TLS: the local stack's HTTPS server, or a deployment ---

export const API_OPTIONS = {
  config: { type: 'string' },
  client: { type: 'string' },
  url: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  'token-url': { type: 'string' },
} as const satisfies OptionsConfig;

export interface ApiArgs {
  readonly config?: string | undefined;
  readonly client?: string | undefined;
  readonly url?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly ca?: string | undefined;
  readonly 'token-url'?: string | undefined;
}

/** Who the command acts as: a recipient polls (local.json's `clients`), a Data Provider manages (`providers`). */
export type ApiRole = 'recipient' | 'provider';

/** Where to call and as whom. */
export type ApiTarget = {
  readonly clientId: string;
  readonly tokenUrl: URL;
  /** The client certificate and key, and the CAs trusted for the servers. */
  readonly identity: MtlsIdentity;
} & (
  | { readonly kind: 'local'; readonly local: LocalStack }
  /** `--url` as given: the caller knows whether it names the API's root or the poll endpoint. */
  | { readonly kind: 'deployment'; readonly url: URL }
);

const LOCAL_CLIENTS = {
  recipient: { member: 'clients', noun: 'recipient', none: (file: string) => `${file} lists no recipients` },
  provider: { member: 'providers', noun: 'provider', none: (file: string) => `${file} lists no providers: restart the local stack (npm start) to register provider-demo` },
} as const;

/** The local stack unless `--url` is given. */
export async function resolveApiTarget(args: ApiArgs, command: string, role: ApiRole): Promise<ApiTarget> {
  if (args.url === undefined) {
    for (const name of ['cert', 'key', 'ca', 'token-url'] as const) {
      if (args[name] !== undefined) throw new UsageError(`--${name} goes with --url (a deployment); the local stack's come from local.json`, command);
    }
    return localApiTarget(args, command, role);
  }
  if (args.config !== undefined) throw new UsageError('--config and --url cannot be used together', command);
  const url = httpsUrl(args.url, 'url', command);
  for (const name of ['cert', 'key', 'token-url'] as const) {
    if (args[name] === undefined || args[name].trim() === '') throw new UsageError(`--url needs --${name}`, command);
  }
  const tokenUrl = httpsUrl(args['token-url']!, 'token-url', command);
  const [cert, key, ca] = await Promise.all([
    readPem(args.cert!, 'the client certificate'),
    readPem(args.key!, 'the client key'),
    args.ca === undefined ? undefined : readPem(args.ca, 'the CA certificate'),
  ]);
  const clientId = args.client ?? commonName(cert, args.cert!);
  // A private CA is trusted besides the public roots, not instead of them.
  return { kind: 'deployment', url, tokenUrl, clientId, identity: { cert, key, ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }) } };
}

async function localApiTarget(args: ApiArgs, command: string, role: ApiRole): Promise<ApiTarget> {
  const local = await readLocalStack(args.config, '--url URL --cert FILE --key FILE --token-url URL for a deployment');
  const { configFile, config } = local;
  const kind = LOCAL_CLIENTS[role];
  // local.json from before the management API has no providers member.
  const clients: readonly LocalClientConfig[] = Array.isArray(config[kind.member]) ? config[kind.member] : [];
  if (clients.length === 0) throw new CliFailure(kind.none(configFile));
  const client = args.client === undefined ? clients[0]! : clients.find((c) => c.clientId === args.client);
  if (!client) {
    throw new UsageError(`--client ${JSON.stringify(args.client)} is not a ${kind.noun} of the local stack: use ${clients.map((c) => c.clientId).join(', ')}`, command);
  }
  if (typeof config.tokenUrl !== 'string' || typeof config.caCertFile !== 'string') {
    throw new CliFailure(`${configFile} has no tokenUrl or caCertFile: restart the local stack (npm start)`);
  }
  const [cert, key, ca] = await Promise.all([
    readPem(client.certFile, `the certificate of ${client.clientId}`),
    readPem(client.keyFile, `the key of ${client.clientId}`),
    readPem(config.caCertFile, 'the local CA certificate'),
  ]);
  // Only the dev CA: the local stack's certificates come from it.
  return { kind: 'local', local, tokenUrl: new URL(config.tokenUrl), clientId: client.clientId, identity: { cert, key, ca } };
}

export function httpsUrl(value: string, name: string, command: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${name} must be an absolute https URL, got ${JSON.stringify(value)}`, command);
  }
  // The token and the certificate-bound requests must never travel in the clear.
  if (url.protocol !== 'https:') throw new UsageError(`--${name} must use https, got ${JSON.stringify(value)}`, command);
  return url;
}

export async function readPem(file: string, what: string): Promise<string> {
  const path = resolve(file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliFailure(`Cannot read ${what} ${path}: ${reason}`);
  }
}

/** The subject CN of a PEM certificate: the client id when the CA names clients that way. */
export function commonName(pem: string, file: string): string {
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch {
    throw new CliFailure(`${resolve(file)} is not a PEM certificate`);
  }
  const cn = subject.split('\n').find((line) => line.startsWith('CN='))?.slice(3);
  if (!cn) throw new CliFailure(`The certificate ${resolve(file)} has no CN: pass --client ID`);
  return cn;
}
