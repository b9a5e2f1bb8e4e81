import { InvalidCursor } from './store-errors.ts';

/** The key a page ends at; a Query resumes after it (ExclusiveStartKey). */
export interface PageKey {
  readonly pk: string;
  readonly sk: string;
}

const BASE64URL = /^[A-Za-z0-9_-]{1,1024}$/;

/** An opaque page cursor: base64url of the page's last key. Not secret: only ever checked. */
export function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify({ pk: key.pk, sk: key.sk }), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor a caller sent back. It must be exactly what encodeCursor made for this listing:
 * the caller's own partition and the listed kind of item. Anything else (tampered, truncated, or a
 * cursor of another provider or another listing) is an InvalidCursor, never a read of someone else's items.
 */
export function decodeCursor(cursor: unknown, pk: string, skPrefix: string): PageKey {
  const invalid = () => new InvalidCursor('The cursor is not valid for this listing');
  if (typeof cursor !== 'string' || !BASE64URL.test(cursor)) throw invalid();
  const bytes = Buffer.from(cursor, 'base64url');
  // Buffer's decoder skips what it cannot read: insist the cursor is canonical.
  if (bytes.toString('base64url') !== cursor) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const { pk: gotPk, sk: gotSk, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || gotPk !== pk || typeof gotSk !== 'string') throw invalid();
  if (!gotSk.startsWith(skPrefix) || gotSk.length <= skPrefix.length || gotSk.length > 512) throw invalid();
  return { pk, sk: gotSk };
}
