/**
 * A recipient's HTTPS client for the benchmark: real mutual TLS with its own certificate, one
 * keep-alive connection per recipient (as a polling recipient would hold), a client-credentials
 * token from the local authorization server, refreshed before it runs out.
 */
import { Agent, request } from 'node:https';

export interface ClientMaterial {
  readonly clientId: string;
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface Timed {
  readonly status: number;
  readonly body: string;
  /** Client-side round trip: request written to last byte of the response read. */
  readonly ms: number;
}

/** Tokens of the local authorization server live 300 s; take a new one well before. */
const TOKEN_REUSE_MS = 200_000;

export class BenchClient {
  readonly clientId: string;
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #tokenPath: string;
  #token: { value: string; at: number } | undefined;

  /** `origin` is the stack's https://localhost:<port>; the client connects to 127.0.0.1 with SNI localhost. */
  constructor(material: ClientMaterial, origin: string, tokenUrl: string) {
    this.clientId = material.clientId;
    const url = new URL(origin);
    this.#host = '127.0.0.1';
    this.#port = Number(url.port);
    this.#tokenPath = new URL(tokenUrl).pathname;
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      servername: url.hostname,
    });
  }

  send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Timed> {
    return new Promise<Timed>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const start = performance.now();
      const req = request(
        {
          host: this.#host,
          port: this.#port,
          method,
          path,
          agent: this.#agent,
          headers: { ...headers, ...(payload ? { 'content-length': payload.length } : {}) },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async token(): Promise<string> {
    const now = Date.now();
    if (this.#token && now - this.#token.at < TOKEN_REUSE_MS) return this.#token.value;
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'accounts', client_id: this.clientId }).toString();
    const res = await this.send('POST', this.#tokenPath, form, { 'content-type': 'application/x-www-form-urlencoded' });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.body}`);
    this.#token = { value: (JSON.parse(res.body) as { access_token: string }).access_token, at: now };
    return this.#token.value;
  }

  /** POSTs a poll body; throws on anything but 200 so a broken run cannot pass for a fast one. */
  async poll(path: string, body: PollBody): Promise<{ ms: number; sets: Record<string, string>; moreAvailable: boolean }> {
    const authorization = `Bearer ${await this.token()}`;
    const res = await this.send('POST', path, JSON.stringify(body), { 'content-type': 'application/json', authorization });
    if (res.status !== 200) throw new Error(`poll as ${this.clientId} answered ${res.status}: ${res.body.slice(0, 200)}`);
    const parsed = JSON.parse(res.body) as { sets: Record<string, string>; moreAvailable: boolean };
    return { ms: res.ms, sets: parsed.sets, moreAvailable: parsed.moreAvailable };
  }

  close(): void {
    this.#agent.destroy();
  }
}

export interface PollBody {
  maxEvents?: number;
  returnImmediately?: boolean;
  ack?: string[];
}
