import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SetSigner } from '../producer/signer.ts';
import { DynamoStreamStore } from '../store/dynamo-stream-store.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { StreamQueueStore } from './stream-queue-store.ts';
import { StreamService } from './stream-service.ts';

/** The SSF transmitter's services: the stream-aware queue every producer path enqueues through, and the streams. */
export interface SsfServices {
  readonly streamQueue: StreamQueueStore;
  readonly streams: StreamService;
}

export interface SsfParts {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The queues without the stream filter. */
  readonly store: QueueStore;
  readonly signer: SetSigner;
  /** The SETs' `iss`. */
  readonly issuer: string;
  /** The RFC 8936 poll endpoint: every stream's `delivery.endpoint_url`. */
  readonly pollUrl: string;
  readonly now?: () => number;
}

/** Builds the SSF services; called by the composition root (lambdas/composition.ts) only. */
export function createSsfServices(parts: SsfParts): SsfServices {
  const { client, tableName, store, signer, issuer, pollUrl, now } = parts;
  const streamStore = new DynamoStreamStore({ client, tableName });
  const streamQueue = new StreamQueueStore({ queue: store, streams: streamStore, issuer, ...(now ? { now } : {}) });
  const streams = new StreamService({ streams: streamStore, queue: streamQueue, signer, issuer, pollUrl, ...(now ? { now } : {}) });
  return { streamQueue, streams };
}

export type SsfFactory = typeof createSsfServices;
