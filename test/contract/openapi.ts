/**
 * The OpenAPI document (openapi/setpoll.yaml) as something a test can ask: its schemas compiled
 * with ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1, formats asserted with ajv-formats),
 * its operations, and a check of a real HTTP response against what the document says.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { parse } from 'yaml';

export const DOCUMENT_FILE = fileURLToPath(new URL('../../openapi/setpoll.yaml', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface Operation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly pathItem: JsonObject;
  readonly operation: JsonObject;
}

/** What a document check found wrong with a response; empty when it is as documented. */
export type Problems = string[];

/** A response as the tests' HTTPS client returns it. */
export interface ObservedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

const SCHEMA_BASE = 'https://setpoll.invalid/openapi';
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `#/components/schemas/X` → an absolute ref into the schema resource ajv holds. */
function rewriteRefs(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = key === '$ref' && typeof child === 'string' && child.startsWith('#/components/schemas/') ? `${SCHEMA_BASE}#/$defs/${child.slice(21)}` : rewriteRefs(child);
  }
  return out;
}

export class OpenApiDocument {
  readonly doc: JsonObject;
  readonly ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(text: string = readFileSync(DOCUMENT_FILE, 'utf8')) {
    this.doc = parse(text) as JsonObject;
    // strict: an unknown keyword or a type-less applicator in a schema is an error, not a silent no-op.
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    formats.default(this.ajv);
    const schemas = (this.doc.components as JsonObject).schemas as JsonObject;
    this.ajv.addSchema({ $id: SCHEMA_BASE, $defs: rewriteRefs(schemas) as JsonObject });
  }

  /** Follows a Reference Object (`$ref` to `#/...`) of the document; other values as they are. */
  deref<T extends Json>(value: T): T {
    let current: Json = value;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops++) {
      if (hops > 10) throw new Error(`Reference loop at ${current.$ref}`);
      const ref: string = current.$ref;
      if (!ref.startsWith('#/')) throw new Error(`Only local references are supported: ${ref}`);
      current = ref
        .slice(2)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<Json>((node, key) => (isObject(node) ? (node[key] as Json) : null), this.doc);
      if (current === undefined || current === null) throw new Error(`Unresolved reference ${ref}`);
    }
    return current as T;
  }

  /** A schema of `components/schemas`, as written. */
  schema(name: string): JsonObject {
    const found = ((this.doc.components as JsonObject).schemas as JsonObject)[name];
    if (!isObject(found)) throw new Error(`No schema ${name}`);
    return found;
  }

  /** A validator for any schema of the document (a component by name, or an inline schema). */
  validator(schema: string | Json): ValidateFunction {
    const key = typeof schema === 'string' ? schema : JSON.stringify(schema);
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = typeof schema === 'string' ? this.ajv.getSchema(`${SCHEMA_BASE}#/$defs/${schema}`) : this.ajv.compile(rewriteRefs(schema) as JsonObject);
      if (!validate) throw new Error(`No schema ${String(schema)}`);
      this.#compiled.set(key, validate);
    }
    return validate;
  }

  /** Whether `value` is valid against the schema, with ajv's errors as text when it is not. */
  check(schema: string | Json, value: unknown): { valid: boolean; errors: string } {
    const validate = this.validator(schema);
    const valid = validate(value) as boolean;
    return { valid, errors: valid ? '' : this.ajv.errorsText(validate.errors, { separator: '; ' }) };
  }

  get paths(): JsonObject {
    return this.doc.paths as JsonObject;
  }

  operations(): Operation[] {
    const out: Operation[] = [];
    for (const [path, raw] of Object.entries(this.paths)) {
      const pathItem = raw as JsonObject;
      for (const method of METHODS) {
        const operation = pathItem[method];
        if (isObject(operation)) out.push({ method: method.toUpperCase(), path, operationId: String(operation.operationId), pathItem, operation });
      }
    }
    return out;
  }

  operation(method: string, path: string): Operation {
    const found = this.operations().find((o) => o.method === method.toUpperCase() && o.path === path);
    if (!found) throw new Error(`The document has no ${method} ${path}`);
    return found;
  }

  /** The documented request body schema (application/json) of an operation. */
  requestSchema(method: string, path: string): Json {
    const body = this.deref(this.operation(method, path).operation.requestBody as Json) as JsonObject;
    return ((body.content as JsonObject)['application/json'] as JsonObject).schema as Json;
  }

  /** Parameters of an operation, path-level ones included, references followed. */
  parameters(method: string, path: string): JsonObject[] {
    const { pathItem, operation } = this.operation(method, path);
    const all = [...((pathItem.parameters as Json[] | undefined) ?? []), ...((operation.parameters as Json[] | undefined) ?? [])];
    return all.map((p) => this.deref(p) as JsonObject);
  }

  /**
   * Checks a real response against the document: the status is documented for the operation (for
   * a 405, for any operation of the path: it answers a method the path does not serve), the body
   * is JSON of the documented schema (none when none is documented), and every documented header
   * is present when required and valid when present.
   */
  checkResponse(method: string, path: string, res: ObservedResponse): Problems {
    const problems: Problems = [];
    const pathItem = this.paths[path];
    if (!isObject(pathItem)) return [`The document has no path ${path}`];
    const candidates =
      res.status === 405 && !isObject(pathItem[method.toLowerCase()])
        ? METHODS.map((m) => pathItem[m]).filter(isObject)
        : [pathItem[method.toLowerCase()]].filter(isObject);
    if (candidates.length === 0) return [`The document has no ${method} ${path}`];
    const raw = candidates.map((op) => (op.responses as JsonObject)[String(res.status)]).find((r) => r !== undefined);
    if (raw === undefined) return [`${method} ${path} does not document status ${res.status}`];
    const response = this.deref(raw) as JsonObject;

    const content = response.content as JsonObject | undefined;
    if (content === undefined) {
      if (res.body !== '') problems.push(`${res.status} documents no body, got ${res.body.slice(0, 80)}`);
    } else {
      const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      const media = content[contentType] as JsonObject | undefined;
      if (!media) problems.push(`${res.status}: content-type ${contentType} is not documented (${Object.keys(content).join(', ')})`);
      else {
        let body: unknown;
        try {
          body = JSON.parse(res.body);
        } catch {
          problems.push(`${res.status}: the body is not JSON: ${res.body.slice(0, 80)}`);
        }
        if (body !== undefined) {
          const { valid, errors } = this.check(media.schema as Json, body);
          if (!valid) problems.push(`${res.status} body: ${errors}`);
        }
      }
    }

    for (const [name, rawHeader] of Object.entries((response.headers as JsonObject | undefined) ?? {})) {
      const header = this.deref(rawHeader) as JsonObject;
      const given = res.headers[name.toLowerCase()];
      if (given === undefined) {
        if (header.required === true) problems.push(`${res.status}: required header ${name} is missing`);
        continue;
      }
      const text = Array.isArray(given) ? given.join(', ') : given;
      const schema = header.schema as JsonObject;
      const value = schema.type === 'integer' && /^-?\d+$/.test(text) ? Number(text) : text;
      const { valid, errors } = this.check(schema, value);
      if (!valid) problems.push(`${res.status} header ${name}: ${JSON.stringify(text)} ${errors}`);
    }
    return problems;
  }

  /** Every document path template a concrete path matches, literal ones first. */
  templatesOf(concretePath: string): string[] {
    const segments = concretePath.split('?')[0]!.split('/');
    const matches = Object.keys(this.paths).filter((template) => {
      const parts = template.split('/');
      return parts.length === segments.length && parts.every((part, i) => (/^\{.+\}$/.test(part) ? segments[i] !== '' : part === segments[i]));
    });
    return matches.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  }

  /** The document path template a concrete path falls under (`/destinations/x` → `/destinations/{clientId}`); a literal one wins (`/destinations/bulk`). */
  templateOf(concretePath: string): string | undefined {
    return this.templatesOf(concretePath)[0];
  }
}
