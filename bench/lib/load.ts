/** The main thread's handle on the load worker (load-worker.ts). */
import { Worker } from 'node:worker_threads';
import type { Job, WorkerMessage, WorkerSetup } from './load-protocol.ts';

export class LoadWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: (f: number, d: string) => void }>();
  readonly #ready: Promise<void>;
  #next = 1;

  constructor(setup: WorkerSetup) {
    // tsx's loader does not reach worker threads on Node 20: load the TypeScript entry through its API.
    const entry = new URL('./load-worker.ts', import.meta.url).href;
    const api = import.meta.resolve('tsx/esm/api');
    this.#worker = new Worker(`import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`, {
      eval: true,
      workerData: setup,
    });
    let markReady: () => void = () => undefined;
    let failReady: (e: Error) => void = () => undefined;
    this.#ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.#worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') return markReady();
      const pending = this.#pending.get(m.id);
      if (!pending) return;
      if (m.type === 'progress') pending.progress?.(m.fraction, m.detail);
      else if (m.type === 'result') {
        this.#pending.delete(m.id);
        pending.resolve(m.result);
      } else {
        this.#pending.delete(m.id);
        pending.reject(new Error(`load worker: ${m.message}`));
      }
    });
    this.#worker.on('error', (error) => {
      failReady(error);
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    });
  }

  async run<T>(job: Job, progress?: (fraction: number, detail: string) => void): Promise<T> {
    await this.#ready;
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(progress ? { progress } : {}) });
      this.#worker.postMessage({ id, job });
    });
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
