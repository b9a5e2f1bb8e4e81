/**
 * What the document accepts, as a predicate a test can put beside the handlers' own validation:
 * the request schemas (ajv, JSON Schema 2020-12) plus the few rules the document states in prose
 * because no schema can say them. Each such rule quotes the document.
 */
import { distance } from 'fastest-levenshtein';
import { InvalidRequest } from '../../lambdas/core/errors.ts';
import { parsePollRequest } from '../../lambdas/core/poll-request.ts';
import type { HarnessRequest } from './harness.ts';
import type { OpenApiDocument } from './openapi.ts';

type JsonObject = Record<string, unknown>;

/** The poll handler's verdict: its real validator, `parsePollRequest`, with its default limits. */
export function handlerAcceptsPoll(body: unknown): boolean {
  try {
    parsePollRequest(body);
    return true;
  } catch (error) {
    if (error instanceof InvalidRequest) return false;
    throw error;
  }
}

/**
 * PollRequest's description: "lower-case both names and remove `_`, `-`, `.` and white space; a
 * name that is not one of the four is a near-miss of one when the results are equal or within a
 * Levenshtein distance of 1 (for `ack` ...) or 2 (for `maxEvents`, `returnImmediately`,
 * `setErrs`)", and SetError's: "near-misses of `err` and `description` (the rule of PollRequest)".
 */
export function isNearMiss(name: string, defined: readonly string[]): boolean {
  const norm = (n: string) => n.toLowerCase().replace(/[\s_.-]/g, '');
  return !defined.includes(name) && defined.some((d) => distance(norm(name), norm(d)) <= (norm(d).length <= 5 ? 1 : 2));
}

/**
 * PollRequest's description: "`ack` and `setErrs` together may name at most 1000 distinct jtis
 * (`ack` is de-duplicated first), and a jti may not be both in `ack` and a key of `setErrs`", and
 * no member (of the request or of a setErrs entry) is a near-miss.
 */
export function pollCrossMemberRules(body: JsonObject): boolean {
  if (Object.keys(body).some((k) => isNearMiss(k, ['maxEvents', 'returnImmediately', 'ack', 'setErrs']))) return false;
  const setErrs = (body.setErrs as Record<string, JsonObject> | null | undefined) ?? {};
  if (Object.values(setErrs).some((e) => Object.keys(e).some((k) => isNearMiss(k, ['err', 'description'])))) return false;
  const acks = new Set((body.ack as string[] | null | undefined) ?? []);
  const errs = Object.keys(setErrs);
  return acks.size + errs.length <= 1000 && !errs.some((jti) => acks.has(jti));
}

export function docAcceptsPoll(doc: OpenApiDocument, body: unknown): boolean {
  // The schema first: the prose rules read a body of the schema's shape.
  return doc.check(doc.requestSchema('POST', '/events'), body).valid && pollCrossMemberRules(body as JsonObject);
}

const CLAIM_MEMBERS = ['events', 'sub', 'sub_id', 'txn', 'toe'];

/** NotificationRequest's description: "`events`, `sub`, `sub_id`, `txn` and `toe` together serialize to at most 65,536 bytes of JSON". */
export function claimsFit(body: JsonObject): boolean {
  const claims = Object.fromEntries(CLAIM_MEMBERS.filter((m) => body[m] !== undefined).map((m) => [m, body[m]]));
  return Buffer.byteLength(JSON.stringify(claims), 'utf8') <= 65_536;
}

/** Rules the operations' descriptions state beyond their schemas, by operationId. */
const BODY_RULES: Record<string, (body: JsonObject, params: Record<string, string>) => boolean> = {
  issueNotification: (body) => claimsFit(body),
  // "its `notificationId`, if given, must equal the path's (else `400`)"
  replaceNotification: (body, params) => claimsFit(body) && (body.notificationId === undefined || body.notificationId === params.notificationId),
};

/**
 * Bulk operations whose items are answered one by one ("an operation that breaks the schema does
 * not fail the request, its result says `400`"): the request itself is judged without the item
 * schema, and each item against it.
 */
export const PER_ITEM_ARRAYS: Record<string, string> = { bulkDestinations: 'operations', issueNotificationsInBulk: 'notifications' };

/** The schema of a bulk request without its item schema: what decides the request's own 400. */
export function envelopeSchema(doc: OpenApiDocument, operationId: string, method: string, path: string): JsonObject {
  const schema = structuredClone(doc.deref(doc.requestSchema(method, path) as never)) as JsonObject;
  delete ((schema.properties as JsonObject)[PER_ITEM_ARRAYS[operationId]!] as JsonObject).items;
  return schema;
}

/** The item schema of a bulk request. */
export function itemSchema(doc: OpenApiDocument, method: string, path: string, member: string): unknown {
  const schema = doc.deref(doc.requestSchema(method, path) as never) as JsonObject;
  return ((schema.properties as JsonObject)[member] as JsonObject).items;
}

/** A query value as the document's parameter schema types it (`limit=10` is the integer 10). */
function typed(schema: JsonObject, text: string): unknown {
  return (schema.type === 'integer' || schema.type === 'number') && /^[0-9]+$/.test(text) ? Number(text) : text;
}

/**
 * Whether the document accepts a management request: its path parameters (percent-decoded), its
 * query (only documented parameters), its header parameters and its body, each against the
 * operation's schemas, plus the operation's stated rules.
 */
export function docAcceptsRequest(doc: OpenApiDocument, request: HarnessRequest): boolean {
  const template = doc.templateOf(request.path);
  if (!template) throw new Error(`No document path for ${request.path}`);
  const { operationId } = doc.operation(request.method, template);
  const parameters = doc.parameters(request.method, template);

  const params: Record<string, string> = {};
  const templateParts = template.split('/');
  const rawParts = request.path.split('/');
  for (let i = 0; i < templateParts.length; i++) {
    const name = /^\{(.+)\}$/.exec(templateParts[i]!)?.[1];
    if (!name) continue;
    try {
      params[name] = decodeURIComponent(rawParts[i]!);
    } catch {
      return false; // not a percent-encoding of any value
    }
  }
  for (const p of parameters.filter((p) => p.in === 'path')) {
    if (!doc.check(p.schema as never, params[p.name as string]).valid) return false;
  }

  const query = request.query ?? {};
  const queryParams = parameters.filter((p) => p.in === 'query');
  for (const [name, value] of Object.entries(query)) {
    const p = queryParams.find((q) => q.name === name);
    if (!p || !doc.check(p.schema as never, typed(doc.deref(p.schema as never) as JsonObject, value)).valid) return false;
  }

  for (const p of parameters.filter((p) => p.in === 'header')) {
    const given = Object.entries(request.headers ?? {}).find(([name]) => name.toLowerCase() === String(p.name).toLowerCase())?.[1];
    if (given !== undefined && !doc.check(p.schema as never, given).valid) return false;
  }

  const op = doc.operation(request.method, template).operation as JsonObject;
  if (op.requestBody === undefined) return true;
  const body = request.body;
  const schema = operationId in PER_ITEM_ARRAYS ? envelopeSchema(doc, operationId, request.method, template) : doc.requestSchema(request.method, template);
  if (!doc.check(schema as never, body).valid) return false;
  return BODY_RULES[operationId]?.(body as JsonObject, params) ?? true;
}

