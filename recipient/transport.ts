/**
 * HTTPS with a client certificate: the one way the recipient library talks to the transmitter
 * (token endpoint, poll endpoint, key set). Node's fetch cannot present a client certificate
 * without undici's own Agent, so this is node:https behind a small function type, which also lets
 * a test or an application wrap it (logging, fault injection, a proxy).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { NetworkError } from './errors.ts';

export interface HttpRequest {
  /** The recipient uses GET and POST (PATCH for an SSF stream); the setpoll CLI's management calls PUT and DELETE too. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: URL;
  /** Lowercase names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** No answer within this time is a NetworkError. @default the transport's timeoutMs */
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  /** Lowercase names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** One HTTP exchange. Rejects with NetworkError when no HTTP answer arrived (including on abort). */
export type HttpTransport = (request: HttpRequest) => Promise<HttpResponse>;

/** PEM strings (or buffers) of the recipient's TLS client identity. */
export interface MtlsIdentity {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /**
   * The CAs trusted for the server's certificate. Replaces the system's roots when given, so a
   * private CA does not widen trust to every public one unless the caller adds them
   * (`[...tls.rootCertificates, ca]`).
   */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

export interface MtlsTransportOptions {
  /** @default 30 000; a long poll passes its own, longer timeout */
  readonly timeoutMs?: number;
}

export interface MtlsTransport extends HttpTransport {
  /** Closes the kept-alive connections. */
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A transport over one kept-alive TLS agent presenting `identity` (TLS 1.2 at least, as the OB profile requires). */
export function mtlsTransport(identity: MtlsIdentity, options: MtlsTransportOptions = {}): MtlsTransport {
  if (!identity.cert || !identity.key) throw new TypeError('mtlsTransport needs the client certificate and key');
  const agent = new Agent({
    keepAlive: true,
    cert: identity.cert,
    key: identity.key,
    ...(identity.ca === undefined ? {} : { ca: typeof identity.ca === 'string' || Buffer.isBuffer(identity.ca) ? identity.ca : [...identity.ca] }),
    minVersion: 'TLSv1.2',
  });
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const send = (req: HttpRequest): Promise<HttpResponse> => {
    if (req.url.protocol !== 'https:') throw new TypeError(`The recipient talks HTTPS only, got ${req.url.href}`);
    const timeoutMs = req.timeoutMs ?? defaultTimeout;
    const payload = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const headers = { ...req.headers, ...(payload ? { 'content-length': String(payload.length) } : {}) };
    return new Promise<HttpResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(new NetworkError(`${req.method} ${req.url.origin} aborted`, { cause: req.signal.reason }));
        return;
      }
      const outgoing = request(req.url, { method: req.method, headers, agent, timeout: timeoutMs, ...(req.signal ? { signal: req.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(new NetworkError(`${req.method} ${req.url.origin}: ${error.message}`, { cause: error })));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flatten(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
      });
      outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const what = req.signal?.aborted ? 'aborted' : `${error.code ? `${error.code}: ` : ''}${error.message}`;
        reject(new NetworkError(`${req.method} ${req.url.origin} failed: ${what}`, { cause: error }));
      });
      outgoing.end(payload);
    });
  };
  return Object.assign(send, { close: () => agent.destroy() });
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
