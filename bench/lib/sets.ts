/**
 * Real signed SETs of a chosen stored size. The size that DynamoDB bills is the item's: attribute
 * names plus values (strings as UTF-8 bytes, numbers about one byte per two significant digits
 * plus one). A "1 KB SET" here is a queued-SET item of at most 1024 such bytes, padded to within a
 * few bytes of the limit: the most a SET of that class can be.
 */
import { generateKeyPair, exportJWK, type JWK } from 'jose';
import { Publisher, type PublishInput } from '../../lambdas/producer/publish.ts';
import { JwkSigner, type SetSigner } from '../../lambdas/producer/signer.ts';
import type { NewSet, QueueStore } from '../../lambdas/store/queue-store.ts';
import { queuePk, setSk } from '../../lambdas/store/schema.ts';

export const EVENT_TYPE = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
/** An issuer-defined event type (RFC 8417 §2.2 allows any URI): short enough for a 0.5 KB SET. */
export const MINIMAL_EVENT_TYPE = 'https://bank.example/ev/ping';

/**
 * `caep`: a CAEP session-revoked event with a subject, padded in `reason_admin.en` (a PS256 SET
 * of this shape is at least ~0.9 KB stored). `minimal`: an issuer-defined event with one padded
 * member and no subject, the smallest SET there is (used where 0.5 KB must fit).
 */
export type SetShape = 'caep' | 'minimal';

/** DynamoDB's size of a number attribute value. */
export function numberSize(value: number): number {
  const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** DynamoDB's size of a queued-SET item (pk, sk, jti, set, ttl), as the store writes it. */
export function queuedItemSize(clientId: string, set: NewSet): number {
  const s = (name: string, value: string) => Buffer.byteLength(name) + Buffer.byteLength(value);
  return (
    s('pk', queuePk(clientId)) +
    s('sk', setSk(set.jti)) +
    s('jti', set.jti) +
    s('set', set.set) +
    Buffer.byteLength('ttl') +
    numberSize(set.ttl)
  );
}

/** A fresh ES256 signer with a short kid (an ES256 signature is 86 characters; PS256's is 342). */
export async function benchEs256Signer(kid = 'bench-es256'): Promise<SetSigner> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), alg: 'ES256', kid };
  return JwkSigner.fromJwk(jwk);
}

/** Captures what a Publisher would enqueue, without writing anywhere. */
class CaptureStore {
  last: NewSet | undefined;
  async enqueue(_clientId: string, set: NewSet): Promise<'queued'> {
    this.last = set;
    return 'queued';
  }
}

export interface SizedSet extends NewSet {
  readonly itemBytes: number;
}

/**
 * Publishes SETs whose stored item is at most `limitBytes` and as close to it as base64url allows.
 * The pad goes into the event payload (`reason_admin.en`), so the SET is an ordinary CAEP event.
 */
export class SizedSetFactory {
  readonly #signer: SetSigner;
  readonly #issuer: string;
  readonly #limit: number;
  readonly #pads = new Map<number, number>();

  readonly #shape: SetShape;

  constructor(options: { signer: SetSigner; issuer: string; limitBytes: number; shape?: SetShape }) {
    this.#signer = options.signer;
    this.#issuer = options.issuer;
    this.#limit = options.limitBytes;
    this.#shape = options.shape ?? 'caep';
  }

  get limitBytes(): number {
    return this.#limit;
  }

  /** Signs one SET for `clientId` (not enqueued): for pools that are enqueued and recycled later. */
  async sign(clientId: string): Promise<SizedSet> {
    const pad = await this.#padFor(clientId);
    const capture = new CaptureStore();
    await this.#publisher(capture as unknown as QueueStore).publish(this.#input(clientId, pad));
    const set = capture.last!;
    const itemBytes = queuedItemSize(clientId, set);
    if (itemBytes > this.#limit) throw new Error(`SET item of ${itemBytes} bytes exceeds ${this.#limit}`);
    return { ...set, itemBytes };
  }

  /** Signs and enqueues one SET through a real Publisher over `store`. */
  async publish(store: QueueStore, clientId: string): Promise<SizedSet> {
    const pad = await this.#padFor(clientId);
    let queued: NewSet | undefined;
    const tap = {
      enqueue: async (id: string, set: NewSet) => {
        queued = set;
        return store.enqueue(id, set);
      },
    };
    const result = await this.#publisher(tap as unknown as QueueStore).publish(this.#input(clientId, pad));
    if (result.outcomes.get(clientId) !== 'queued' || !queued) throw new Error(`SET ${result.jti} was not queued`);
    const itemBytes = queuedItemSize(clientId, queued);
    if (itemBytes > this.#limit) throw new Error(`SET item of ${itemBytes} bytes exceeds ${this.#limit}`);
    return { ...queued, itemBytes };
  }

  #publisher(store: QueueStore): Publisher {
    return new Publisher({ store, signer: this.#signer, issuer: this.#issuer });
  }

  #input(clientId: string, pad: number): PublishInput {
    if (this.#shape === 'minimal') return { recipients: [clientId], events: { [MINIMAL_EVENT_TYPE]: { p: 'x'.repeat(pad) } } };
    return {
      recipients: [clientId],
      events: { [EVENT_TYPE]: { initiating_entity: 'policy', reason_admin: { en: 'x'.repeat(pad) } } },
      sub_id: { format: 'opaque', id: 'user-0001' },
    };
  }

  /** Largest pad whose item fits the limit (item size only grows with the pad). Cached per id length. */
  async #padFor(clientId: string): Promise<number> {
    const cached = this.#pads.get(clientId.length);
    if (cached !== undefined) return cached;
    const size = async (pad: number) => {
      const capture = new CaptureStore();
      await this.#publisher(capture as unknown as QueueStore).publish(this.#input(clientId, pad));
      return queuedItemSize(clientId, capture.last!);
    };
    if ((await size(0)) > this.#limit) {
      throw new Error(`The smallest ${this.#signer.alg} SET for ${clientId} is ${await size(0)} bytes stored, over ${this.#limit}`);
    }
    let lo = 0;
    let hi = this.#limit;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((await size(mid)) <= this.#limit) lo = mid;
      else hi = mid - 1;
    }
    // A little headroom: the ttl and iat digits of later SETs can differ from the probe's.
    const pad = Math.max(0, lo - 2);
    this.#pads.set(clientId.length, pad);
    return pad;
  }
}
