import { distance } from 'fastest-levenshtein';

/**
 * Near-misses of defined member names. RFC 8936 is silent on members it does not define, and
 * receivers in the field send their own (i2goSignals sends `timeoutSecs`), so an unknown member is
 * ignored. A name that looks like a misspelt defined member is not: ignoring `acks` would drop the
 * acknowledgements the receiver meant to send, so it is refused, naming the member it was meant to be.
 *
 * The rule, as documented (docs/poll-api.md, openapi/setpoll.yaml PollRequest): both names
 * are normalised (lower case, without `_`, `-`, `.` and white space); a name that is not a defined
 * member is a near-miss of one when their normalised forms are equal or within a Levenshtein
 * distance of 1 (defined names of at most 5 characters, such as `ack`) or 2 (longer ones).
 */
export function normaliseMemberName(name: string): string {
  return name.toLowerCase().replace(/[\s_.-]/g, '');
}

/** The edit distance within which a name counts as a near-miss of `defined`. */
export function nearMissDistance(defined: string): number {
  return normaliseMemberName(defined).length <= 5 ? 1 : 2;
}

/** The defined member `name` was probably meant to be, or undefined when it is a member or unrelated. */
export function intendedMember(name: string, defined: readonly string[]): string | undefined {
  if (defined.includes(name)) return undefined;
  const given = normaliseMemberName(name);
  let best: { member: string; d: number } | undefined;
  for (const member of defined) {
    const target = normaliseMemberName(member);
    // The distance is at least the difference in length: a long name needs no matrix.
    if (Math.abs(given.length - target.length) > nearMissDistance(member)) continue;
    const d = distance(given, target);
    if (d <= nearMissDistance(member) && (best === undefined || d < best.d)) best = { member, d };
  }
  return best?.member;
}
