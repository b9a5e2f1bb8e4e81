import { ProgrammerError } from '../shared/programmer-error.ts';
import { MethodNotAllowed, NotFound } from '../core/errors.ts';

/**
 * A route: a method and a path template of literal segments and `{name}` parameters, each
 * parameter one non-empty path segment, taken as it is: API Gateway hands over `rawPath` already
 * percent-decoded (local/payload-v2.ts, requestTarget), so decoding it again would turn a `%25`
 * the client sent for `%` into something else. Ids that appear in paths therefore hold no `/`.
 */
export interface Route<T> {
  readonly method: string;
  readonly path: string;
  readonly value: T;
}

export interface RouteMatch<T> {
  readonly route: Route<T>;
  /** Path parameters by name, as they appear in the (already decoded) path. */
  readonly params: Readonly<Record<string, string>>;
}

type Segment = { literal: string } | { param: string };

interface Compiled<T> {
  readonly route: Route<T>;
  readonly segments: readonly Segment[];
}

const PARAM = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/;

/**
 * A tiny router for one Lambda behind `ANY /prefix/{proxy+}`-style routes. Routes are tried in the
 * order given: the first whose template and method both match wins, so a literal route listed
 * before a parameter route on the same path takes precedence (`POST /destinations/bulk` before
 * `GET /destinations/{clientId}`), and the parameter route still serves the other methods there.
 * No path matches: 404. The path matches but not the method: 405 with `Allow` listing every
 * method any matching route accepts.
 */
export class Router<T> {
  readonly #routes: readonly Compiled<T>[];

  constructor(routes: readonly Route<T>[]) {
    this.#routes = routes.map((route) => {
      if (!route.path.startsWith('/')) throw new ProgrammerError(`Route path must start with "/": ${route.path}`);
      const segments = route.path
        .slice(1)
        .split('/')
        .map((s): Segment => {
          const param = PARAM.exec(s);
          return param ? { param: param[1]! } : { literal: s };
        });
      return { route, segments };
    });
  }

  match(method: string, rawPath: string): RouteMatch<T> {
    const segments = splitPath(rawPath);
    const allowed: string[] = [];
    for (const compiled of this.#routes) {
      const params = matchSegments(compiled.segments, segments);
      if (!params) continue;
      if (compiled.route.method === method) return { route: compiled.route, params };
      if (!allowed.includes(compiled.route.method)) allowed.push(compiled.route.method);
    }
    if (allowed.length === 0) throw new NotFound('No resource at this path');
    throw new MethodNotAllowed(allowed.join(', '));
  }
}

/** The segments of a path as API Gateway hands it over (decoded). */
function splitPath(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw new NotFound('No resource at this path');
  return rawPath.slice(1).split('/');
}

function matchSegments(template: readonly Segment[], raw: readonly string[]): Record<string, string> | undefined {
  if (template.length !== raw.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const expected = template[i]!;
    const given = raw[i]!;
    if ('literal' in expected) {
      if (given !== expected.literal) return undefined;
      continue;
    }
    if (given === '') return undefined;
    params[expected.param] = given;
  }
  return params;
}
