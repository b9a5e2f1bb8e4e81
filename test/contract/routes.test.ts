/**
 * Every route as deployed (the API Gateway routes of a synthesized stack) is in the document, every
 * document path except the local-only ones is deployed, and on every management path the handler's
 * router serves exactly the methods the document lists (its 405 `Allow` header says which).
 * The local stack's routes are checked against the document in live.int.test.ts, where the stack runs.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLL_PATH, MANAGEMENT_ROUTES } from '../../lib/constructs/poll-api.ts';
import { OB_POLL_PATH, testStack } from '../cdk/support.ts';
import { startHarness, type Harness } from './harness.ts';
import { OpenApiDocument } from './openapi.ts';
import { documentPathsOf, isLocalOnly, parseRouteKey } from './routes.ts';

let doc: OpenApiDocument;

beforeAll(() => {
  doc = new OpenApiDocument();
});

/** Concrete values for a document path's parameters. */
const concrete = (template: string) => template.replace('{clientId}', 'tpp-alpha').replace('{notificationId}', 'n-1');

describe('the routes as deployed', () => {
  let routeKeys: string[];

  beforeAll(() => {
    // Prepare: the stack with its defaults, synthesized offline (no bundling).
    const template = Template.fromStack(testStack());
    routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => String(r.Properties.RouteKey));
  });

  it('are the poll routes and the management routes, and nothing else', () => {
    // Assess: if a route is added to the stack, this test and the document both need it.
    expect(routeKeys.sort()).toEqual(
      [`POST ${DEFAULT_POLL_PATH}`, `ANY ${DEFAULT_POLL_PATH}`, ...MANAGEMENT_ROUTES.map((r) => `${r.method} ${r.path}`)].sort(),
    );
  });

  it('each serve at least one documented operation', () => {
    // Act
    const undocumented = routeKeys.filter((key) => documentPathsOf(doc, parseRouteKey(key)).length === 0);

    // Assess
    expect(undocumented).toEqual([]);
  });

  it('serve every document path except those marked local only', () => {
    // Act
    const served = new Set(routeKeys.flatMap((key) => documentPathsOf(doc, parseRouteKey(key))));
    const unserved = Object.keys(doc.paths).filter((path) => !served.has(path));
    const localOnly = Object.keys(doc.paths).filter((path) => isLocalOnly(doc, path));

    // Assess: exactly the local-only paths are missing from a deployment.
    expect(unserved.sort()).toEqual(localOnly.sort());
    expect(localOnly.sort()).toEqual(['/oauth/jwks.json', '/oauth/token']);
  });

  it('put the poll endpoint at a configurable path, which the document names', () => {
    // Prepare
    const template = Template.fromStack(testStack({ pollPath: OB_POLL_PATH }));

    // Act
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => String(r.Properties.RouteKey));

    // Assess
    expect(keys).toEqual(expect.arrayContaining([`POST ${OB_POLL_PATH}`, `ANY ${OB_POLL_PATH}`]));
    expect(String((doc.paths['/events'] as { description: string }).description)).toContain(OB_POLL_PATH);
  });
});

describe('the management router', () => {
  let harness: Harness;
  const managementPaths = () => Object.keys(doc.paths).filter((p) => p.startsWith('/destinations') || p.startsWith('/notifications') || p === '/jwks.json');

  beforeAll(() => {
    harness = startHarness();
  });

  it('answers a method the document does not list with 405 and an Allow header of exactly those it lists', async () => {
    for (const template of managementPaths()) {
      // Prepare: `/destinations/bulk` is also `/destinations/{clientId}` with the id `bulk`, as the
      // document says, so a concrete path is served the methods of every template it matches.
      const templates = doc.templatesOf(concrete(template));
      const documented = [...new Set(doc.operations().filter((o) => templates.includes(o.path)).map((o) => o.method))];

      // Act
      const res = await harness.call({ method: 'PATCH', path: concrete(template) });

      // Assess
      expect({ template, status: res.status }).toEqual({ template, status: 405 });
      expect({ template, allow: String(res.headers.allow).split(', ').sort() }).toEqual({ template, allow: documented.sort() });
      expect(doc.checkResponse('PATCH', template, res)).toEqual([]);
    }
  });

  it('serves every documented operation (neither 404 nor 405)', async () => {
    for (const op of doc.operations().filter((o) => managementPaths().includes(o.path))) {
      // Act
      const res = await harness.call({ method: op.method, path: concrete(op.path), ...(op.operation.requestBody ? { body: {} } : {}) });

      // Assess
      expect({ operation: op.operationId, served: ![404, 405].includes(res.status) }).toEqual({ operation: op.operationId, served: true });
    }
  });

  it('answers a path no document path matches with 404 not_found', async () => {
    // Act
    const responses = await Promise.all(['/destinations/a/b', '/notifications/n-1/status/x', '/notifications/n-1/nope'].map((path) => harness.call({ method: 'GET', path })));

    // Assess
    for (const res of responses) {
      expect(res.status).toBe(404);
      expect(res.json()).toEqual({ err: 'not_found', description: expect.any(String) });
    }
    expect(['/destinations/a/b', '/notifications/n-1/status/x', '/notifications/n-1/nope'].map((p) => doc.templateOf(p))).toEqual([undefined, undefined, undefined]);
  });

  it('answers a dependency failure with the documented 503, Retry-After and interaction id', async () => {
    // Act: the harness's DynamoDB refuses every call as throttled.
    const responses = await Promise.all(
      doc
        .operations()
        .filter((o) => managementPaths().includes(o.path) && o.path !== '/jwks.json' && !o.operationId.toLowerCase().includes('bulk'))
        .map(async (op) => ({ op, res: await harness.call({ method: op.method, path: concrete(op.path), ...(op.operation.requestBody ? { body: validBody(op.operationId) } : {}) }) })),
    );

    // Assess
    for (const { op, res } of responses) {
      expect({ operation: op.operationId, status: res.status }).toEqual({ operation: op.operationId, status: 503 });
      expect({ operation: op.operationId, problems: doc.checkResponse(op.method, op.path, res) }).toEqual({ operation: op.operationId, problems: [] });
      expect(res.headers['retry-after']).toBe('1');
    }
  });
});

/** A body each operation accepts. */
function validBody(operationId: string): unknown {
  const events = { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': {} };
  switch (operationId) {
    case 'registerDestination':
      return { clientId: 'tpp-alpha' };
    case 'updateDestination':
      return { eventTypes: null };
    case 'issueNotification':
    case 'replaceNotification':
      return { events };
    default:
      throw new Error(`No valid body for ${operationId}`);
  }
}
