import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

const state = { msecs: Number.NaN, seq: 0 };

/**
 * A UUIDv7 (RFC 9562 §5.7) from the `uuid` package, at `now` (an injectable clock). setpoll's jtis
 * are UUIDv7 so a queue, read in jti order, is oldest first. Within one millisecond the 32-bit
 * counter (RFC 9562 §6.2 method 1, as `uuid` lays it out) starts at a random 31-bit value and
 * counts up, so ids made in the same millisecond by this process sort in the order they were made.
 * (`uuid`'s own state cannot be used with a given time: it only advances for `v7()` without options.)
 */
export function uuidv7(now: number = Date.now()): string {
  const random = randomFillSync(new Uint8Array(16));
  if (now === state.msecs && state.seq < 0xffffffff) {
    state.seq += 1;
  } else {
    state.msecs = now;
    state.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  }
  return v7({ msecs: state.msecs, seq: state.seq, random });
}
