/**
 * `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Answered as milliseconds from
 * `now`; undefined when absent or unreadable, so a garbled header falls back to the backoff
 * instead of stalling the poller.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // IMF-fixdate and the obsolete forms all parse with Date.parse; a bare number never gets here.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
