/**
 * Messages between the benchmark's main thread (which hosts the local stack: HTTPS server, poll
 * handler) and the load worker (which plays the recipients and the producer on its own event
 * loop, so client-side work never delays the server's, and vice versa).
 */
import type { NewSet } from '../../lambdas/store/queue-store.ts';

export interface WorkerRecipient {
  readonly clientId: string;
  /** https: polls over mTLS with this certificate (housekeeping through the product's store); bare: DynamoDB calls only. */
  readonly path: Path;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  /** The SETs this recipient's queue cycles through (recycled after acks). */
  readonly pool: readonly NewSet[];
  /** Enqueue the whole pool when the recipient is added (not for the long-poll delivery test). */
  readonly preload: boolean;
}

export interface WorkerSetup {
  readonly endpoint: string;
  readonly tableName: string;
  readonly leaseSeconds: number;
  readonly origin: string;
  readonly tokenUrl: string;
  readonly pollPath: string;
}

/** `poll-ack`: each poll acks the previous batch. `cycle`: a poll-only, then an ack-only of what it got. */
export type Pattern = 'poll-ack' | 'cycle' | 'jwks';
/** https: the worker polls over mTLS; bare: the main thread issues the DynamoDB calls (bare-runner.ts). */
export type Path = 'https' | 'bare';

export type Job =
  | { readonly kind: 'add'; readonly recipients: readonly WorkerRecipient[] }
  | {
      readonly kind: 'latency';
      readonly path: 'https';
      readonly pattern: Pattern;
      readonly clientIds: readonly string[];
      readonly batch: number;
      readonly cyclesPerRecipient: number;
      /** Sent as x-bench-tag so the server side can file its own timings with the same label. */
      readonly tag: string;
    }
  | {
      readonly kind: 'throughput';
      readonly path: 'https';
      readonly clientIds: readonly string[];
      readonly batch: number;
      readonly warmupMs: number;
      readonly durationMs: number;
    }
  /** The producer for the bare throughput run: put these SETs back (conditional PutItem, 8 at a time overall). */
  | { readonly kind: 'recycle'; readonly clientId: string; readonly sets: readonly NewSet[] }
  | {
      readonly kind: 'delivery';
      readonly clientIds: readonly string[];
      readonly eventsPerRecipient: number;
      readonly gapMs: readonly [number, number];
    };

/** Client-side samples (ms) by request kind: poll-ack, poll-only, ack-only, jwks. */
export interface LatencyResult {
  readonly samples: Record<string, number[]>;
  /** Polls that delivered fewer SETs than asked (should be 0: the queues never run dry). */
  readonly short: number;
}

export interface ThroughputResult {
  /** SETs delivered and then acked inside the window. */
  readonly acked: number;
  readonly polls: number;
  readonly enqueued: number;
  readonly seconds: number;
  readonly pollMs: number[];
}

export interface DeliveryResult {
  /** Enqueue (before the PutItem) to the response that carried the SET, ms. */
  readonly latencies: number[];
  readonly longPolls: number;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly id: number; readonly fraction: number; readonly detail: string }
  | { readonly type: 'result'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
