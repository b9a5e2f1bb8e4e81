/**
 * Route keys (`METHOD /path`, API Gateway's form, with greedy `{proxy+}`) set beside the document's
 * paths: which document paths a route serves, and which routes serve a document path.
 */
import type { OpenApiDocument } from './openapi.ts';

export const LOCAL_ONLY = 'x-setpoll-local-only';

export interface RouteKey {
  readonly method: string;
  readonly path: string;
}

export function parseRouteKey(key: string): RouteKey {
  const match = /^([A-Z]+) (\/\S*)$/.exec(key);
  if (!match) throw new Error(`Not a route key: ${key}`);
  return { method: match[1]!, path: match[2]! };
}

/**
 * The OB profile's path of the poll endpoint: the document's `/events` under the name its
 * description gives it ("`/open-banking/v4.0/events` for the OB profile"); the local stack serves both.
 */
const POLL_PATH_ALIASES: Readonly<Record<string, string>> = { '/open-banking/v4.0/events': '/events' };

/** The document paths a route sends to a handler; empty when the document has none of them. */
export function documentPathsOf(doc: OpenApiDocument, route: RouteKey): string[] {
  const greedy = /^(.*\/)\{[A-Za-z0-9_]+\+\}$/.exec(route.path);
  const path = POLL_PATH_ALIASES[route.path] ?? route.path;
  const candidates = greedy ? Object.keys(doc.paths).filter((p) => p.startsWith(greedy[1]!) && p.length > greedy[1]!.length) : path in doc.paths ? [path] : [];
  return candidates.filter((p) => {
    const methods = doc.operations().filter((o) => o.path === p).map((o) => o.method);
    return route.method === 'ANY' ? methods.length > 0 : methods.includes(route.method);
  });
}

/** Whether a document path is marked as existing only in the local stack. */
export function isLocalOnly(doc: OpenApiDocument, path: string): boolean {
  return (doc.paths[path] as Record<string, unknown>)[LOCAL_ONLY] === true;
}
