/**
 * A small HTTPS client for tests: real TLS with client certificates and version limits, one fresh
 * connection per request (no pooled sessions leaking between tests), the whole body as text.
 */
import { request } from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { SecureVersion } from 'node:tls';

export interface HttpsRequestOptions {
  /** @default 'POST' */
  readonly method?: string;
  /** An array value sends the header once per element. */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>;
  /** A string or Buffer is sent as is; any other value as JSON (with content-type application/json unless given). */
  readonly body?: string | Buffer | object;
  /** Client certificate (PEM). */
  readonly cert?: string;
  /** Client key (PEM). */
  readonly key?: string;
  /** Trusted CA certificates (PEM) for the server certificate. */
  readonly ca?: string | readonly string[];
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** OpenSSL cipher list, e.g. 'DEFAULT@SECLEVEL=0' to let the client offer TLS 1.0/1.1. */
  readonly ciphers?: string;
  /** SNI / certificate name check. @default the URL's host name */
  readonly servername?: string;
  /** @default 30 000 */
  readonly timeoutMs?: number;
}

export interface HttpsResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON; throws when it is not JSON. */
  json<T = unknown>(): T;
}

/** Resolves with the response; rejects when the connection or handshake fails (no HTTP status then). */
export function httpsRequest(url: string | URL, options: HttpsRequestOptions = {}): Promise<HttpsResponse> {
  const target = new URL(url);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name] = typeof value === 'object' ? [...value] : value;
  let payload: Buffer | undefined;
  if (typeof options.body === 'string') payload = Buffer.from(options.body, 'utf8');
  else if (Buffer.isBuffer(options.body)) payload = options.body;
  else if (options.body !== undefined) {
    payload = Buffer.from(JSON.stringify(options.body), 'utf8');
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  if (payload && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = payload.length;

  return new Promise<HttpsResponse>((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method ?? 'POST',
        headers,
        agent: false,
        ...(options.cert === undefined ? {} : { cert: options.cert }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.ca === undefined ? {} : { ca: typeof options.ca === 'string' ? options.ca : [...options.ca] }),
        ...(options.minVersion === undefined ? {} : { minVersion: options.minVersion }),
        ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
        ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
        ...(options.servername === undefined ? {} : { servername: options.servername }),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T = unknown>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`No response from ${target.origin} within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
