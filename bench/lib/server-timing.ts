/**
 * Server-side time of each request the load worker tags (x-bench-tag, x-bench-kind): from the
 * request's headers being parsed to the last byte of the response handed to the socket. It covers
 * what API Gateway's integration latency would (event conversion, the handler, its DynamoDB calls)
 * and none of the TLS record work or network of the client side.
 */
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class ServerTiming {
  readonly #samples = new Map<string, number[]>();
  readonly #server: Server;
  readonly #listener = (req: IncomingMessage, res: ServerResponse) => {
    const tag = req.headers['x-bench-tag'];
    const kind = req.headers['x-bench-kind'];
    if (typeof tag !== 'string' || typeof kind !== 'string') return;
    const start = performance.now();
    res.once('finish', () => {
      const key = `${tag}|${kind}`;
      let list = this.#samples.get(key);
      if (!list) this.#samples.set(key, (list = []));
      list.push(performance.now() - start);
    });
  };

  constructor(server: Server) {
    this.#server = server;
    server.on('request', this.#listener);
  }

  /** Samples of one tag and kind, removed from the store. */
  take(tag: string, kind: string): number[] {
    const key = `${tag}|${kind}`;
    const list = this.#samples.get(key) ?? [];
    this.#samples.delete(key);
    return list;
  }

  stop(): void {
    this.#server.off('request', this.#listener);
  }
}
