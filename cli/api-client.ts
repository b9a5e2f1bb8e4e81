/**
 * The management API over HTTPS, for `setpoll destinations` and `setpoll notify`: mutual TLS with
 * the Data Provider's client certificate, and a client-credentials access token fetched from the
 * token endpoint with the same certificate (RFC 8705 tls_client_auth), sent as a Bearer token.
 *
 * Where the API is: the local stack by default (`.setpoll/local.json`: its origin, tokenUrl,
 * caCertFile and `providers`), or a deployment named with --url, --cert, --key, --token-url.
 * The one place that builds HTTPS connections for the CLI.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CONFIG_FILE_NAME, readLocalConfig, type LocalClientConfig, type LocalConfig } from '../local/config.ts';
import type { OptionsConfig } from './args.ts';
import { defaultStateDir } from './connection.ts';
import { CliFailure, UsageError } from './errors.ts';

/** What the CLI asks the authorization server for: it both reads and changes. */
export const MANAGEMENT_SCOPE = 'notifications:write notifications:read';

const DEFAULT_TIMEOUT_MS = 30_000;

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

export const API_HELP = `Target (default: the local stack, as its first provider, provider-demo):
  --config FILE      local stack configuration (default: $SETPOLL_STATE_DIR/local.json, i.e. .setpoll/local.json)
  --client ID        act as this provider: one of local.json's providers; with --url, the
                     client_id sent to the token endpoint (default: the certificate's CN)
  --url URL          a deployment's management API, e.g. https://events.bank.example; with:
  --cert FILE        the provider's client certificate (PEM)
  --key FILE         its private key (PEM)
  --token-url URL    the authorization server's token endpoint (client credentials over mTLS)
  --ca FILE          also trust this CA (PEM) for the API and the token endpoint`;

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the API's base URL, already encoded, e.g. `/destinations/tpp-alpha`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** An entity tag as the API returns it in ETag, e.g. `"3"`. */
  readonly ifMatch?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as received ('' when there is none). */
  readonly text: string;
  /** The body parsed as JSON; undefined when empty. */
  readonly json: unknown;
}

interface Endpoint {
  readonly baseUrl: URL;
  readonly tokenUrl: URL;
  readonly clientId: string;
  readonly cert: string;
  readonly key: string;
  /** Trusted CAs; undefined: the system's. */
  readonly ca?: string[];
  /** Where the settings came from, for messages. */
  readonly local?: { readonly configFile: string };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** The management API client of one command: one TLS agent, one access token. */
export class ManagementApi {
  readonly clientId: string;
  readonly baseUrl: URL;
  readonly #endpoint: Endpoint;
  readonly #agent: Agent;
  #token: Promise<string> | undefined;

  private constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    this.clientId = endpoint.clientId;
    this.baseUrl = endpoint.baseUrl;
    this.#agent = new Agent({
      keepAlive: true,
      cert: endpoint.cert,
      key: endpoint.key,
      ...(endpoint.ca ? { ca: endpoint.ca } : {}),
      minVersion: 'TLSv1.2',
    });
  }

  /** Resolves the target from the command line (usage errors) and reads the key material (failures). */
  static async open(args: ApiArgs, command: string): Promise<ManagementApi> {
    return new ManagementApi(await resolveEndpoint(args, command));
  }

  /**
   * Sends one request with the access token. A 2xx answer is returned; any other status throws a
   * CliFailure with the API's `err: description` (or the status when the body is not an error body).
   * `accept` names other statuses the caller reads itself.
   */
  async send(req: ApiRequest, accept: readonly number[] = []): Promise<ApiResponse> {
    const token = await this.#accessToken();
    const url = new URL(`${this.baseUrl.pathname.replace(/\/$/, '')}${req.path}`, this.baseUrl);
    for (const [name, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: OutgoingHttpHeaders = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (req.ifMatch !== undefined) headers['if-match'] = req.ifMatch;
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), 'utf8');
    if (payload) headers['content-type'] = 'application/json';
    const res = await this.#exchange(url, req.method, headers, payload);
    if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
    throw apiFailure(res, `${req.method} ${url.pathname}`);
  }

  close(): void {
    this.#agent.destroy();
  }

  /** One token per command, fetched on first use. */
  #accessToken(): Promise<string> {
    this.#token ??= this.#fetchToken();
    return this.#token;
  }

  async #fetchToken(): Promise<string> {
    const { tokenUrl, clientId } = this.#endpoint;
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: MANAGEMENT_SCOPE, client_id: clientId });
    const payload = Buffer.from(form.toString(), 'utf8');
    const res = await this.#exchange(tokenUrl, 'POST', { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, payload);
    const body = res.json as { access_token?: unknown; error?: unknown; error_description?: unknown } | undefined;
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      const reason =
        typeof body?.error === 'string'
          ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`
          : `HTTP ${res.status}`;
      throw new CliFailure(`The token endpoint ${tokenUrl.href} refused ${clientId}: ${reason}`);
    }
    return body.access_token;
  }

  #exchange(url: URL, method: string, headers: OutgoingHttpHeaders, payload: Buffer | undefined): Promise<ApiResponse> {
    const all: OutgoingHttpHeaders = { ...headers, ...(payload ? { 'content-length': payload.length } : {}) };
    return new Promise<ApiResponse>((done, fail) => {
      const req = request(url, { method, headers: all, agent: this.#agent, timeout: DEFAULT_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', fail);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (text.trim() !== '') {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          done({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no response within ${DEFAULT_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      req.on('error', fail);
      req.end(payload);
    }).catch((error: unknown) => {
      throw error instanceof CliFailure ? error : this.#explain(error, url);
    });
  }

  #explain(error: unknown, url: URL): CliFailure {
    const e = error instanceof Error ? (error as NodeJS.ErrnoException) : new Error(String(error));
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (NETWORK_CODES.has(code)) {
      const hint = this.#endpoint.local ? ': is the local stack running (npm start)?' : '';
      return new CliFailure(`Cannot reach ${url.origin} (${code})${hint}`, { cause: e });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|SSL|alert/i.test(`${code} ${e.message}`)) {
      const hint = this.#endpoint.local ? '' : ' (is the server certificate from a private CA? pass --ca FILE)';
      return new CliFailure(`TLS with ${url.origin} failed: ${e.message}${hint}`, { cause: e });
    }
    return new CliFailure(`Request to ${url.origin} failed: ${e.message}`, { cause: e });
  }
}

/** Opens the API, runs `work`, closes. */
export async function withManagementApi<T>(args: ApiArgs, command: string, work: (api: ManagementApi) => Promise<T>): Promise<T> {
  const api = await ManagementApi.open(args, command);
  try {
    return await work(api);
  } finally {
    api.close();
  }
}

/** The CliFailure of a non-2xx answer: the API's `err: description` when it sent one. */
export function apiFailure(res: ApiResponse, what: string): CliFailure {
  const body = res.json as { err?: unknown; description?: unknown } | undefined;
  if (typeof body?.err === 'string') {
    return new CliFailure(typeof body.description === 'string' && body.description !== '' ? `${body.err}: ${body.description}` : body.err);
  }
  const text = res.text.trim().slice(0, 200);
  return new CliFailure(`${what} answered HTTP ${res.status}${text ? `: ${text}` : ''}`);
}

async function resolveEndpoint(args: ApiArgs, command: string): Promise<Endpoint> {
  if (args.url === undefined) {
    for (const name of ['cert', 'key', 'ca', 'token-url'] as const) {
      if (args[name] !== undefined) throw new UsageError(`--${name} goes with --url (a deployment); the local stack's come from local.json`, command);
    }
    return localEndpoint(args, command);
  }
  if (args.config !== undefined) throw new UsageError('--config and --url cannot be used together', command);
  const baseUrl = httpsUrl(args.url, 'url', command);
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
  return { baseUrl, tokenUrl, clientId, cert, key, ...(ca === undefined ? {} : { ca: [...rootCertificates, ca] }) };
}

async function localEndpoint(args: ApiArgs, command: string): Promise<Endpoint> {
  const configFile = resolve(args.config ?? resolve(defaultStateDir(), CONFIG_FILE_NAME));
  if (!existsSync(configFile)) {
    throw new CliFailure(
      `No local stack configuration at ${configFile}: start the local stack with \`npm start\` (or pass --config FILE, or --url URL --cert FILE --key FILE --token-url URL for a deployment)`,
    );
  }
  let config: LocalConfig & { readonly managementUrl?: string };
  try {
    config = await readLocalConfig(configFile);
  } catch (error) {
    throw new CliFailure((error as Error).message);
  }
  const providers: readonly LocalClientConfig[] = Array.isArray(config.providers) ? config.providers : [];
  if (providers.length === 0) {
    throw new CliFailure(`${configFile} lists no providers: restart the local stack (npm start) to register provider-demo`);
  }
  const provider = args.client === undefined ? providers[0]! : providers.find((p) => p.clientId === args.client);
  if (!provider) {
    throw new UsageError(`--client ${JSON.stringify(args.client)} is not a provider of the local stack: use ${providers.map((p) => p.clientId).join(', ')}`, command);
  }
  if (typeof config.tokenUrl !== 'string' || typeof config.caCertFile !== 'string') {
    throw new CliFailure(`${configFile} has no tokenUrl or caCertFile: restart the local stack (npm start)`);
  }
  const [cert, key, ca] = await Promise.all([
    readPem(provider.certFile, `the certificate of ${provider.clientId}`),
    readPem(provider.keyFile, `the key of ${provider.clientId}`),
    readPem(config.caCertFile, 'the local CA certificate'),
  ]);
  return {
    // The management API is served beside the poll endpoint, at the root of the same origin.
    baseUrl: new URL(config.managementUrl ?? new URL(config.pollUrl).origin),
    tokenUrl: new URL(config.tokenUrl),
    clientId: provider.clientId,
    cert,
    key,
    // Only the dev CA: the local stack's certificates come from it.
    ca: [ca],
    local: { configFile },
  };
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
