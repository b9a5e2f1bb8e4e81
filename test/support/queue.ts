/** A recipient's queue on the test stack: SETs published to it, read back, and emptied between tests. */
import type { PublishInput } from '../../lambdas/producer/publish.ts';
import type { TestStack } from './local-stack.ts';

/** A SET as published: its jti and its compact JWS. */
export interface PublishedSet {
  readonly jti: string;
  readonly set: string;
}

/**
 * Publishes `count` SETs to clientId through the stack's publisher, one at a time: their UUIDv7
 * jtis are then in the queue's (oldest first) order.
 */
export async function publishSets(stack: TestStack, clientId: string, count: number, input: Omit<PublishInput, 'recipients'>): Promise<PublishedSet[]> {
  const out: PublishedSet[] = [];
  for (let i = 0; i < count; i++) {
    const { jti, set } = await stack.publisher.publish({ ...input, recipients: [clientId] });
    out.push({ jti, set });
  }
  return out;
}

/** Empties a recipient's queue (consistent reads), so a test starts from a known state. */
export async function drain(stack: TestStack, clientId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const page = await stack.store.readQueue(clientId, 100, undefined, true);
    if (page.items.length === 0) return;
    await stack.store.deleteSets(clientId, page.items.map((item) => item.jti));
  }
}

/** The jtis still queued for a recipient (consistent read). */
export async function queued(stack: TestStack, clientId: string): Promise<string[]> {
  return (await stack.store.readQueue(clientId, 100, undefined, true)).items.map((item) => item.jti);
}
