/**
 * `<dir>/local.json`: what a running local stack tells its users (the CLI, curl, tests) about
 * itself. The member names are a public contract. This module has no heavy imports, so the CLI
 * can read the file without loading the PKI or server code.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface LocalClientConfig {
  readonly clientId: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface LocalConfig {
  readonly pollUrl: string;
  /** The SET verification keys (JWKS) on the mTLS listener. */
  readonly jwksUrl: string;
  /**
   * The same JWKS on a second listener that asks for no client certificate: HTTPS with the same
   * server certificate (trust `caCertFile`), `GET` only, public key material only. For receivers
   * that fetch keys without a client certificate.
   */
  readonly publicJwksUrl: string;
  /** The local authorization server's token endpoint (client credentials, RFC 8705 tls_client_auth). */
  readonly tokenUrl: string;
  readonly caCertFile: string;
  readonly issuer: string;
  /** Recipients: they poll. */
  readonly clients: readonly LocalClientConfig[];
  /** Data Providers: they call the Notifier management API (`<issuer>/destinations`, `/notifications`). */
  readonly providers: readonly LocalClientConfig[];
  readonly dynamodb: { readonly endpoint: string; readonly tableName: string };
  readonly settings: {
    readonly leaseSeconds: number;
    readonly longPollSeconds: number;
    readonly maxEvents: number;
    readonly maxDeliveryAttempts: number;
  };
}

/** The default state folder, relative to the working directory. */
export const DEFAULT_STATE_DIR = '.setpoll';
export const CONFIG_FILE_NAME = 'local.json';
export const SIGNING_KEY_FILE_NAME = 'signing-key.json';
/** The local authorization server's token signing key. */
export const AS_KEY_FILE_NAME = 'as-key.json';

export const configFileIn = (dir: string): string => resolve(dir, CONFIG_FILE_NAME);
/** The SET signing key lives beside local.json. */
export const signingKeyFileFor = (configFile: string): string => join(dirname(resolve(configFile)), SIGNING_KEY_FILE_NAME);

export async function writeLocalConfig(file: string, config: LocalConfig): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`);
  await rename(tmp, file);
}

/** Reads and checks local.json; throws a readable Error when it is missing or malformed. */
export async function readLocalConfig(file: string): Promise<LocalConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`No local stack configuration at ${file}: start the local stack with \`npm start\` (or pass --config FILE, or --table/--region for a deployed table)`);
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
  const c = parsed as Partial<LocalConfig> | null;
  if (
    typeof c !== 'object' || c === null ||
    typeof c.issuer !== 'string' ||
    typeof c.pollUrl !== 'string' ||
    typeof c.dynamodb?.endpoint !== 'string' ||
    typeof c.dynamodb?.tableName !== 'string' ||
    !Array.isArray(c.clients) ||
    (c.providers !== undefined && !Array.isArray(c.providers))
  ) {
    throw new Error(`${file} is not a setpoll local stack configuration`);
  }
  // A local.json written before providers existed has none.
  return { ...c, providers: c.providers ?? [] } as LocalConfig;
}
