import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { InvalidRequest } from '../core/errors.ts';

/**
 * The query parameters of a request, only those `allowed` (anything else is a 400, so a misspelt
 * `limt` is refused rather than silently ignored). API Gateway joins a repeated parameter's values
 * with commas, which no parameter here accepts.
 */
export function queryParams(event: APIGatewayProxyEventV2, allowed: readonly string[]): Record<string, string> {
  const given = event.queryStringParameters ?? {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!allowed.includes(name)) throw new InvalidRequest(`Unknown query parameter ${JSON.stringify(name.slice(0, 64))}`);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** `limit` and `cursor` of a listing's query; `limit`'s range is checked by the service (1 to 100). */
export function pageParams(query: Readonly<Record<string, string>>): { limit?: number; cursor?: string } {
  const { limit, cursor } = query;
  if (limit !== undefined && !/^[0-9]{1,4}$/.test(limit)) throw new InvalidRequest('limit must be an integer from 1 to 100');
  return { ...(limit === undefined ? {} : { limit: Number(limit) }), ...(cursor === undefined ? {} : { cursor }) };
}

/** The strong entity tag of a resource version: `"3"`. */
export const etag = (version: number): string => `"${version}"`;

const STRONG_VERSION_TAG = /^"([1-9][0-9]{0,15})"$/;

/**
 * The version an `If-Match` header names: `"<version>"` as returned in `ETag`. Absent or `*`
 * (any current version): undefined. A weak tag, a list or anything else is a 400: a version
 * precondition must be exact.
 */
export function ifMatchVersion(event: APIGatewayProxyEventV2): number | undefined {
  const raw = event.headers?.['if-match'];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (value === '*') return undefined;
  const match = STRONG_VERSION_TAG.exec(value);
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(version)) throw new InvalidRequest('If-Match must be one ETag as returned, e.g. "3"');
  return version;
}
