/**
 * The management API over HTTPS, for `setpoll destinations` and `setpoll notify`: mutual TLS with
 * the Data Provider's client certificate, and a client-credentials access token fetched from the
 * token endpoint with the same certificate (RFC 8705 tls_client_auth), sent as a Bearer token.
 * Both come from the recipient library (its mTLS transport and token source); where the API is
 * and as whom comes from target.ts.
 */
import { ClientCredentialsTokenSource } from '../recipient/token-source.ts';
import { NetworkError, TokenRequestFailed } from '../recipient/errors.ts';
import { mtlsTransport, type HttpRequest, type MtlsTransport } from '../recipient/transport.ts';
import { NETWORK_ERROR_CODES } from '../lambdas/shared/helpers.ts';
import { CliFailure } from './errors.ts';
import { resolveApiTarget, type ApiArgs, type ApiRole, type ApiTarget } from './target.ts';

/** What the CLI asks the authorization server for: it both reads and changes. */
export const MANAGEMENT_SCOPE = 'notifications:write notifications:read';

export interface ApiRequest {
  readonly method: HttpRequest['method'];
  /** Path below the API's base URL, already encoded, e.g. `/destinations/tpp-alpha`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** An entity tag as the API returns it in ETag, e.g. `"3"`; none: the change is unconditional. */
  readonly ifMatch?: string | undefined;
}

export interface ApiResponse {
  readonly status: number;
  /** Lowercase names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as received ('' when there is none). */
  readonly text: string;
  /** The body parsed as JSON; undefined when empty. */
  readonly json: unknown;
}

/** The management API client of one command: one TLS agent, one access token. */
export class ManagementApi {
  readonly clientId: string;
  readonly baseUrl: URL;
  readonly #target: ApiTarget;
  readonly #transport: MtlsTransport;
  readonly #tokens: ClientCredentialsTokenSource;

  private constructor(target: ApiTarget, scope: string) {
    this.#target = target;
    this.clientId = target.clientId;
    // Locally the management API is served beside the poll endpoint, at the root of the same origin.
    this.baseUrl = target.kind === 'deployment' ? target.url : new URL(new URL(target.local.config.pollUrl).origin);
    this.#transport = mtlsTransport(target.identity);
    this.#tokens = new ClientCredentialsTokenSource({ tokenUrl: target.tokenUrl, clientId: target.clientId, scope, transport: this.#transport });
  }

  /**
   * Resolves the target from the command line (usage errors) and reads the key material (failures).
   * As a Data Provider with the notifier scopes, unless `as` says otherwise (a receiver's SSF calls).
   */
  static async open(args: ApiArgs, command: string, as: { readonly role: ApiRole; readonly scope: string } = { role: 'provider', scope: MANAGEMENT_SCOPE }): Promise<ManagementApi> {
    return new ManagementApi(await resolveApiTarget(args, command, as.role), as.scope);
  }

  /**
   * Sends one request with the access token. A 2xx answer is returned; any other status throws a
   * CliFailure with the API's `err: description` (or the status when the body is not an error body).
   * `accept` names other statuses the caller reads itself.
   */
  async send(req: ApiRequest, accept: readonly number[] = []): Promise<ApiResponse> {
    const url = new URL(`${this.baseUrl.pathname.replace(/\/$/, '')}${req.path}`, this.baseUrl);
    for (const [name, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    // One token per command: the source fetches it on first use and keeps it.
    const token = await this.#tokens.token().catch((error: unknown) => {
      throw this.#explain(error, this.#target.tokenUrl);
    });
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (req.ifMatch !== undefined) headers['if-match'] = req.ifMatch;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const body = req.body === undefined ? {} : { body: JSON.stringify(req.body) };
    const res = await this.#transport({ method: req.method, url, headers, ...body }).catch((error: unknown) => {
      throw this.#explain(error, url);
    });
    const answer = { status: res.status, headers: res.headers, text: res.body, json: parseJson(res.body) };
    if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return answer;
    throw apiFailure(answer, `${req.method} ${url.pathname}`);
  }

  close(): void {
    this.#transport.close();
  }

  #explain(error: unknown, url: URL): Error {
    if (error instanceof TokenRequestFailed) return new CliFailure(error.message, { cause: error });
    if (!(error instanceof NetworkError)) return error instanceof Error ? error : new Error(String(error));
    // The transport's NetworkError wraps what node:https raised, with its code.
    const cause = (error.cause instanceof Error ? error.cause : error) as NodeJS.ErrnoException;
    const code = cause.code ?? '';
    if (NETWORK_ERROR_CODES.has(code)) {
      const hint = this.#target.kind === 'local' ? ': is the local stack running (npm start)?' : '';
      return new CliFailure(`Cannot reach ${url.origin} (${code})${hint}`, { cause: error });
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|SSL|alert/i.test(`${code} ${cause.message}`)) {
      const hint = this.#target.kind === 'local' ? '' : ' (is the server certificate from a private CA? pass --ca FILE)';
      return new CliFailure(`TLS with ${url.origin} failed: ${cause.message}${hint}`, { cause: error });
    }
    return new CliFailure(`Request to ${url.origin} failed: ${cause.message}`, { cause: error });
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

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
