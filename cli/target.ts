/**
 * Which local stack or deployment a command acts on: the one resolver for every command.
 *
 * - The local stack (default): `.setpoll/local.json` as `npm start` wrote it (`--config FILE`, or
 *   `$SETPOLL_STATE_DIR/local.json`).
 * - A deployed table, for the commands that act on DynamoDB: `--table NAME [--region REGION]
 *   [--profile NAME]`.
 * - A deployment's API, for the commands that call it over mutual TLS: `--url URL --cert FILE
 *   --key FILE --token-url URL [--ca FILE]`, as a recipient (poll) or a Data Provider.
 *
 * Each of those flags may come from the environment instead (TARGET_ENV); a flag wins over its
 * variable, and `--config` (the local stack) wins over every target variable.
 *
 * It decides and reads the key material; it opens nothing. Clients are built by connection.ts
 * (DynamoDB) and api-client.ts (HTTPS, with the recipient library's transport and token source).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CONFIG_FILE_NAME, DEFAULT_STATE_DIR, readLocalConfig, type LocalClientConfig, type LocalConfig } from '../local/config.ts';
import type { MtlsIdentity } from '../recipient/transport.ts';
import { COMMON_OPTIONS, type OptionsConfig, type ParsedOptions } from './args.ts';
import { CliFailure, UsageError } from './errors.ts';
import { readTextFile } from './files.ts';

/**
 * The environment variables that stand for target flags, as AWS_PROFILE and AWS_REGION do for the
 * AWS CLI. AWS_REGION and AWS_PROFILE themselves are left to the SDK's own resolution.
 */
export const TARGET_ENV = Object.freeze({
  table: 'SETPOLL_TABLE',
  region: 'SETPOLL_REGION',
  url: 'SETPOLL_URL',
  cert: 'SETPOLL_CERT',
  key: 'SETPOLL_KEY',
  'token-url': 'SETPOLL_TOKEN_URL',
  ca: 'SETPOLL_CA',
} as const);

/** A variable's value; unset and empty are the same (`SETPOLL_TABLE= setpoll ...` targets the local stack). */
function fromEnv(env: NodeJS.ProcessEnv, name: keyof typeof TARGET_ENV): string | undefined {
  const value = env[TARGET_ENV[name]]?.trim();
  return value ? value : undefined;
}

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
  profile: { type: 'string' },
} as const satisfies OptionsConfig;

export type TableArgs = Readonly<ParsedOptions<typeof TABLE_OPTIONS>>;

/** What every command on the table takes: its common options and the table target. */
export const TABLE_COMMAND_OPTIONS = { ...COMMON_OPTIONS, ...TABLE_OPTIONS } as const satisfies OptionsConfig;

const CONFIG_HELP = `  --config FILE      local stack configuration (default: $SETPOLL_STATE_DIR/local.json, i.e.
                     .setpoll/local.json)`;

export const TABLE_HELP = `Target (default: the local stack):
${CONFIG_HELP}
  --table NAME       act on a deployed table instead (default: $SETPOLL_TABLE), with the AWS SDK's
                     default credential chain
  --region REGION    the deployed table's region (default: $SETPOLL_REGION, AWS_REGION, the
                     profile's)
  --profile NAME     the AWS profile for credentials and region (default: AWS_PROFILE)`;

/** How the AWS SDK clients of a deployed target are configured: given members only. */
export interface AwsClientOptions {
  readonly region?: string;
  /** The shared config files' profile, as AWS_PROFILE names it but for this client only. */
  readonly profile?: string;
}

export type TableTarget =
  | ({ readonly kind: 'aws'; readonly tableName: string } & AwsClientOptions)
  | { readonly kind: 'local'; readonly tableName: string; readonly endpoint: string; readonly local: LocalStack };

export async function resolveTableTarget(args: TableArgs, command: string, env: NodeJS.ProcessEnv = process.env): Promise<TableTarget> {
  if (args.table !== undefined && args.config !== undefined) throw new UsageError('--config and --table cannot be used together', command);
  // --config names the local stack: it wins over SETPOLL_TABLE as any flag wins over its variable.
  const table = args.table ?? (args.config === undefined ? fromEnv(env, 'table') : undefined);
  if (table !== undefined) {
    const source = args.table === undefined ? TARGET_ENV.table : '--table';
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) throw new UsageError(`${source} ${JSON.stringify(table)} is not a DynamoDB table name`, command);
    for (const name of ['region', 'profile'] as const) {
      if (args[name] !== undefined && args[name].trim() === '') throw new UsageError(`--${name} cannot be empty`, command);
    }
    const region = args.region ?? fromEnv(env, 'region');
    return { kind: 'aws', tableName: table, ...(region ? { region } : {}), ...(args.profile ? { profile: args.profile } : {}) };
  }
  for (const name of ['region', 'profile'] as const) {
    if (args[name] !== undefined) throw new UsageError(`--${name} needs --table (or ${TARGET_ENV.table}): the local stack has neither`, command);
  }
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

export type ApiArgs = Readonly<ParsedOptions<typeof API_OPTIONS>>;

/** What every command over the API takes: its common options and the API target. */
export const API_COMMAND_OPTIONS = { ...COMMON_OPTIONS, ...API_OPTIONS } as const satisfies OptionsConfig;

/** The last lines of the API commands' target help. */
export const API_ENV_HELP = `  Each of --url, --cert, --key, --token-url and --ca defaults to ${TARGET_ENV.url}, ${TARGET_ENV.cert},
  ${TARGET_ENV.key}, ${TARGET_ENV['token-url']} and ${TARGET_ENV.ca}; a flag wins over its variable, --config over all.`;

/** The key material of --url, as `role` presents it, and where the flags come from. */
const apiCredentialsHelp = (role: ApiRole): string => `  --cert FILE        the ${role}'s client certificate (PEM)
  --key FILE         its private key (PEM)
  --token-url URL    the authorization server's token endpoint (client credentials over mTLS)
  --ca FILE          also trust this CA (PEM) for the deployment's servers
${API_ENV_HELP}`;

/** The target of poll and doctor: the recipient's side of a deployment. */
export const RECIPIENT_API_HELP = `Target (default: the local stack):
${CONFIG_HELP}
  --url URL          a deployment's poll endpoint, e.g. https://events.bank.example/events (an
                     origin alone means /events); with:
${apiCredentialsHelp('recipient')}`;

/** The target of destinations and notify: a Data Provider's management API. */
export const PROVIDER_API_HELP = `Target (default: the local stack, as its first provider, provider-demo):
${CONFIG_HELP}
  --client ID        act as this provider: one of local.json's providers; with --url, the
                     client_id sent to the token endpoint (default: the certificate's CN)
  --url URL          a deployment's management API, e.g. https://events.bank.example; with:
${apiCredentialsHelp('provider')}`;

/**
 * The end of a command's options help: the lines of COMMON_OPTIONS, their descriptions at `column`
 * as the command's other options' are, then (after a blank line) its target section.
 */
export function helpFooter(column: number, target: string, json = 'machine-readable output'): string {
  const line = (flag: string, what: string) => `  ${`${flag} `.padEnd(column - 2)}${what}`;
  return `${line('--json', json)}\n${line('-h, --help', 'show this help')}\n\n${target}`;
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
  recipient: { member: 'clients', noun: 'recipient', flag: '--recipient', none: (file: string) => `${file} lists no recipients` },
  provider: { member: 'providers', noun: 'provider', flag: '--client', none: (file: string) => `${file} lists no providers: restart the local stack (npm start) to register provider-demo` },
} as const;

/**
 * The local stack unless `--url` (or SETPOLL_URL) is given. Each of --url, --cert, --key,
 * --token-url and --ca falls back to its variable, unless --config names the local stack.
 */
export async function resolveApiTarget(args: ApiArgs, command: string, role: ApiRole, env: NodeJS.ProcessEnv = process.env): Promise<ApiTarget> {
  if (args.url !== undefined && args.config !== undefined) throw new UsageError('--config and --url cannot be used together', command);
  if (args.url === undefined && (args.config !== undefined || fromEnv(env, 'url') === undefined)) {
    for (const name of ['cert', 'key', 'ca', 'token-url'] as const) {
      if (args[name] !== undefined) throw new UsageError(`--${name} goes with --url (a deployment); the local stack's come from local.json`, command);
    }
    return localApiTarget(args, command, role);
  }
  const given = (name: 'url' | 'cert' | 'key' | 'token-url' | 'ca'): { value: string; source: string } | undefined => {
    if (args[name] !== undefined) return { value: args[name], source: `--${name}` };
    const value = fromEnv(env, name);
    return value === undefined ? undefined : { value, source: TARGET_ENV[name] };
  };
  const urlArg = given('url')!;
  const url = httpsUrl(urlArg.value, urlArg.source, command);
  const needed = { cert: given('cert'), key: given('key'), 'token-url': given('token-url') };
  for (const [name, value] of Object.entries(needed)) {
    if (value === undefined || value.value.trim() === '') throw new UsageError(`${urlArg.source} needs --${name} (or ${TARGET_ENV[name as keyof typeof needed]})`, command);
  }
  const tokenUrl = httpsUrl(needed['token-url']!.value, needed['token-url']!.source, command);
  const caFile = given('ca')?.value;
  const certFile = needed.cert!.value;
  const [cert, key, ca] = await Promise.all([
    readTextFile(certFile, 'the client certificate'),
    readTextFile(needed.key!.value, 'the client key'),
    caFile === undefined ? undefined : readTextFile(caFile, 'the CA certificate'),
  ]);
  const clientId = args.client ?? commonName(cert, certFile);
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
    throw new UsageError(`${kind.flag} ${JSON.stringify(args.client)} is not a ${kind.noun} of the local stack: use ${clients.map((c) => c.clientId).join(', ')}`, command);
  }
  if (typeof config.tokenUrl !== 'string' || typeof config.caCertFile !== 'string') {
    throw new CliFailure(`${configFile} has no tokenUrl or caCertFile: restart the local stack (npm start)`);
  }
  const [cert, key, ca] = await Promise.all([
    readTextFile(client.certFile, `the certificate of ${client.clientId}`),
    readTextFile(client.keyFile, `the key of ${client.clientId}`),
    readTextFile(config.caCertFile, 'the local CA certificate'),
  ]);
  // Only the dev CA: the local stack's certificates come from it.
  return { kind: 'local', local, tokenUrl: new URL(config.tokenUrl), clientId: client.clientId, identity: { cert, key, ca } };
}

/** `name` is the option (`jwks-url`, shown as --jwks-url) or where the value came from (SETPOLL_URL). */
export function httpsUrl(value: string, name: string, command: string): URL {
  const source = /^[A-Z]/.test(name) || name.startsWith('--') ? name : `--${name}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} must be an absolute https URL, got ${JSON.stringify(value)}`, command);
  }
  // The token and the certificate-bound requests must never travel in the clear.
  if (url.protocol !== 'https:') throw new UsageError(`${source} must use https, got ${JSON.stringify(value)}`, command);
  return url;
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
