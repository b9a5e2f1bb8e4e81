import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import type { SetpollStack } from '../../lib/setpoll-stack.ts';
import { testStack } from './support.ts';

const PUBLIC_DOMAIN = 'keys.events.bank.example';
const PUBLIC_CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/99999999-2222-3333-4444-555555555555';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>>; Principal?: unknown };

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
/** A statement's actions, sorted: the CDK may reorder them. */
const actions = (statement: Statement): string[] => (list(statement.Action) as string[]).sort();

/** One request to DynamoDB as IAM sees it: the action and the request's condition key values. */
interface Request {
  readonly action: string;
  readonly leadingKeys?: readonly string[];
  readonly attributes?: readonly string[];
  readonly returnValues?: string;
}

const like = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/**
 * The IAM evaluation of one Allow statement's Action and Condition for a DynamoDB request, for the
 * operators this policy uses (IAM User Guide, "Condition operators" and "multivalued context keys"):
 * ForAllValues is true when every request value matches (and when the key is absent), Null: false
 * requires the key, ...IfExists ignores an absent key.
 */
function allows(statement: Statement, request: Request): boolean {
  if (statement.Effect !== 'Allow' || !list(statement.Action).includes(request.action)) return false;
  const values: Record<string, readonly string[] | undefined> = {
    'dynamodb:LeadingKeys': request.leadingKeys,
    'dynamodb:Attributes': request.attributes,
    'dynamodb:ReturnValues': request.returnValues === undefined ? undefined : [request.returnValues],
  };
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const got = values[key];
      const patterns = list(expected) as string[];
      switch (operator) {
        case 'ForAllValues:StringLike':
          if (got && !got.every((v) => patterns.some((p) => like(p, v)))) return false;
          break;
        case 'ForAllValues:StringEquals':
          if (got && !got.every((v) => patterns.includes(v))) return false;
          break;
        case 'StringEqualsIfExists':
          if (got && !got.some((v) => patterns.includes(v))) return false;
          break;
        case 'Null':
          if ((got === undefined) !== (patterns[0] === 'true')) return false;
          break;
        default:
          throw new Error(`the evaluator does not know ${operator}`);
      }
    }
  }
  return true;
}

const QUEUED_SET = ['pk', 'sk', 'jti', 'set', 'ttl'];
const put = (pk: string, attributes: readonly string[], returnValues?: string): Request => ({
  action: 'dynamodb:PutItem',
  leadingKeys: [pk],
  attributes,
  ...(returnValues ? { returnValues } : {}),
});

describe('producer access', () => {
  let stack: SetpollStack;
  let template: Template;
  let producerStatements: Statement[];

  beforeAll(() => {
    stack = testStack();
    const producer = new iam.Role(stack, 'ProducerRole', { assumedBy: new iam.AccountPrincipal('123456789012') });
    stack.grantEnqueue(producer);
    template = Template.fromStack(stack);
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(producer.node.defaultChild as never) }] } });
    producerStatements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  });

  it('grantEnqueue allows PutItem on the table and Sign/GetPublicKey on the signing key, nothing else', () => {
    expect(producerStatements.map((s) => [actions(s), s.Resource])).toEqual([
      [['dynamodb:PutItem'], { 'Fn::GetAtt': [stack.getLogicalId(stack.queue.table.node.defaultChild as never), 'Arn'] }],
      [['kms:GetPublicKey', 'kms:Sign'], { 'Fn::GetAtt': [stack.getLogicalId(stack.signingKey.key.node.defaultChild as never), 'Arn'] }],
    ]);
    expect(producerStatements[0]!.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['Q#*'] },
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': QUEUED_SET },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      Null: { 'dynamodb:LeadingKeys': 'false', 'dynamodb:Attributes': 'false' },
    });
  });

  it('lets a producer queue a SET, and nothing else', () => {
    const allowed = (request: Request) => producerStatements.some((s) => allows(s, request));

    // What a producer does: a conditional put of a queued-SET item into a recipient's queue.
    expect(allowed(put('Q#tpp-alpha', QUEUED_SET))).toBe(true);
    expect(allowed(put('Q#tpp-alpha', QUEUED_SET, 'NONE'))).toBe(true);

    // Certificate items, a recipient's certificate, a revocation: other partitions.
    expect(allowed(put('CERT#0123abcd', ['pk', 'sk', 'clientId', 'at']))).toBe(false);
    expect(allowed(put('CERT#0123abcd', QUEUED_SET))).toBe(false);
    expect(allowed(put('CLIENT#tpp-alpha', ['pk', 'sk', 'at']))).toBe(false);
    // A lease record (v, l) and a delivery record (state, err, att, at): attributes a producer cannot write.
    expect(allowed(put('Q#tpp-alpha', ['pk', 'sk', 'v', 'l', 'ttl']))).toBe(false);
    expect(allowed(put('Q#tpp-alpha', ['pk', 'sk', 'jti', 'state', 'err', 'att', 'at', 'set', 'ttl']))).toBe(false);
    expect(allowed(put('Q#tpp-alpha', [...QUEUED_SET, 'att']))).toBe(false);
    // Notifier and published-key partitions.
    expect(allowed(put('P#provider-demo', QUEUED_SET))).toBe(false);
    expect(allowed(put('KEYS', QUEUED_SET))).toBe(false);
    // Reading back what a put replaced, and every other action.
    expect(allowed(put('Q#tpp-alpha', QUEUED_SET, 'ALL_OLD'))).toBe(false);
    expect(allowed({ action: 'dynamodb:PutItem' })).toBe(false);
    for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:TransactWriteItems', 'dynamodb:Scan']) {
      expect(allowed({ action, leadingKeys: ['Q#tpp-alpha'], attributes: QUEUED_SET })).toBe(false);
    }
  });

  it('ships the same statements as a managed policy, and outputs TableArn, SigningKeyArn and ProducerPolicyArn', () => {
    const managed = template.findResources('AWS::IAM::ManagedPolicy')[stack.getLogicalId(stack.producers.managedPolicy.node.defaultChild as never)];
    const statements = (managed as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement;
    expect(statements.map((st) => ({ Action: actions(st), Resource: st.Resource, Condition: st.Condition }))).toEqual(
      producerStatements.map((st) => ({ Action: actions(st), Resource: st.Resource, Condition: st.Condition })),
    );
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.TableArn!.Value).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.queue.table.node.defaultChild as never), 'Arn'] });
    expect(outputs.SigningKeyArn!.Value).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.signingKey.key.node.defaultChild as never), 'Arn'] });
    expect(outputs.ProducerPolicyArn!.Value).toEqual({ Ref: stack.getLogicalId(stack.producers.managedPolicy.node.defaultChild as never) });
  });

  it('adds no table resource policy without producer accounts', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { ResourcePolicy: Match.absent() });
  });

  it('gives producer accounts a table resource policy with the same conditions, and Sign on the key', () => {
    const withAccounts = testStack({ producerAccountIds: ['210987654321', '111122223333'] });
    const t = Template.fromStack(withAccounts);
    const table = Object.values(t.findResources('AWS::DynamoDB::Table'))[0] as { Properties: { ResourcePolicy: { PolicyDocument: { Statement: Statement[] } } } };
    const [statement, ...others] = table.Properties.ResourcePolicy.PolicyDocument.Statement;
    expect(others).toEqual([]);
    expect(statement!.Action).toBe('dynamodb:PutItem');
    expect(statement!.Resource).toBe('*');
    expect(statement!.Condition).toEqual(producerStatements[0]!.Condition);
    expect(JSON.stringify(statement!.Principal)).toContain('210987654321');
    expect(JSON.stringify(statement!.Principal)).toContain('111122223333');
    const key = Object.values(t.findResources('AWS::KMS::Key', { Properties: { KeyUsage: 'SIGN_VERIFY' } }))[0] as { Properties: { KeyPolicy: { Statement: Statement[] } } };
    const sign = key.Properties.KeyPolicy.Statement.find((s) => JSON.stringify(s.Principal).includes('210987654321'));
    expect(actions(sign!)).toEqual(['kms:GetPublicKey', 'kms:Sign']);
  });

  it('refuses an account id that is not 12 digits', () => {
    expect(() => testStack({ producerAccountIds: ['12345'] })).toThrow('producerAccountIds must be 12-digit AWS account ids (got "12345")');
  });

  it('without signing by the stack key: no kms:Sign; with a customer managed table key: the key actions on that key', () => {
    const s = testStack({ producersSignWithStackKey: false, tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED });
    const statements = s.producers.statements().map((st) => st.toStatementJson() as Statement);
    expect(statements.map((st) => st.Action)).toEqual(['dynamodb:PutItem', ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:Decrypt', 'kms:DescribeKey']]);
    expect(Stack.of(s).resolve(statements[1]!.Resource)).toEqual({ 'Fn::GetAtt': [s.getLogicalId(s.queue.encryptionKey!.node.defaultChild as never), 'Arn'] });
  });
});

describe('public JWKS endpoint', () => {
  let stack: SetpollStack;
  let template: Template;
  beforeAll(() => {
    stack = testStack({ publicJwksDomainName: PUBLIC_DOMAIN, publicJwksCertificateArn: PUBLIC_CERT });
    template = Template.fromStack(stack);
  });

  it('is absent unless configured', () => {
    const plain = Template.fromStack(testStack());
    expect(Object.keys(plain.findResources('AWS::ApiGatewayV2::Api'))).toHaveLength(1);
    expect(plain.toJSON().Outputs.PublicJwksUrl).toBeUndefined();
  });

  it('is a separate API with two routes, GET /jwks.json and the SSF metadata, behind a domain without mTLS', () => {
    const publicApi = stack.getLogicalId(stack.publicJwks!.httpApi.node.defaultChild as never);
    const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: publicApi } } });
    expect(Object.values(routes).map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey)).toEqual(['GET /jwks.json', 'GET /.well-known/ssf-configuration']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { ApiId: { Ref: publicApi }, RouteKey: 'GET /.well-known/ssf-configuration', AuthorizationType: 'NONE' });
    // The metadata it serves: the SETs' issuer, and this endpoint's own JWKS as jwks_uri.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'setpoll-public-keys', SETPOLL_ISSUER: 'https://events.bank.example', SETPOLL_PUBLIC_JWKS_URL: `https://${PUBLIC_DOMAIN}/jwks.json` }) },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'Test-public-keys', DisableExecuteApiEndpoint: true });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: PUBLIC_DOMAIN,
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: PUBLIC_CERT, SecurityPolicy: 'TLS_1_2', EndpointType: 'REGIONAL' })],
      MutualTlsAuthentication: Match.absent(),
    });
    expect(template.toJSON().Outputs.PublicJwksUrl.Value).toBe(`https://${PUBLIC_DOMAIN}/jwks.json`);
  });

  it('keeps the poll and management routes reachable only through the mTLS domain', () => {
    const domains = template.findResources('AWS::ApiGatewayV2::DomainName');
    const mtlsDomain = stack.getLogicalId(stack.api.domainName!.node.defaultChild as never);
    const publicDomain = stack.getLogicalId(stack.publicJwks!.domainName!.node.defaultChild as never);
    expect(Object.keys(domains).sort()).toEqual([mtlsDomain, publicDomain].sort());
    expect((domains[mtlsDomain] as { Properties: { MutualTlsAuthentication?: unknown } }).Properties.MutualTlsAuthentication).toBeDefined();
    // Each domain maps exactly one API: the poll API only on the mTLS domain, the key API only on the public one.
    const mappings = Object.values(template.findResources('AWS::ApiGatewayV2::ApiMapping')).map((m) => (m as { Properties: { ApiId: unknown; DomainName: unknown } }).Properties);
    const pollApi = { Ref: stack.getLogicalId(stack.api.httpApi.node.defaultChild as never) };
    const keyApi = { Ref: stack.getLogicalId(stack.publicJwks!.httpApi.node.defaultChild as never) };
    expect(mappings).toEqual(
      expect.arrayContaining([
        { ApiId: pollApi, DomainName: { Ref: mtlsDomain }, Stage: expect.anything() },
        { ApiId: keyApi, DomainName: { Ref: publicDomain }, Stage: expect.anything() },
      ]),
    );
    expect(mappings).toHaveLength(2);
    // No poll or management route on the public API; no route of the public API to the poll or management function.
    const publicRoutes = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: keyApi } }));
    const routeKeys = publicRoutes.map((r) => (r as { Properties: { RouteKey: string } }).Properties.RouteKey);
    for (const key of ['POST /events', 'ANY /events', 'ANY /destinations', 'ANY /notifications', 'ANY /destinations/{proxy+}', '$default']) expect(routeKeys).not.toContain(key);
    // Nor any SSF stream management route (configuration, status, verification): only the metadata.
    expect(routeKeys.filter((key) => key.includes('/ssf/'))).toEqual([]);
    const integrations = Object.values(template.findResources('AWS::ApiGatewayV2::Integration', { Properties: { ApiId: keyApi } }));
    expect(integrations).toHaveLength(1);
    const target = JSON.stringify(integrations[0]);
    expect(target).toContain(stack.getLogicalId(stack.publicJwks!.function.node.defaultChild as never));
    expect(target).not.toContain(stack.getLogicalId(stack.poll.function.node.defaultChild as never));
    expect(target).not.toContain(stack.getLogicalId(stack.management.function.node.defaultChild as never));
  });

  it('runs a function that can read only the published keys and the signing key\'s public half', () => {
    const role = stack.getLogicalId(stack.publicJwks!.function.role!.node.defaultChild as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }));
    const statements = policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    expect(statements.map((s) => [s.Action, s.Condition ?? null])).toEqual([
      [['logs:CreateLogStream', 'logs:PutLogEvents'], null],
      ['dynamodb:Query', { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['KEYS'] }, Null: { 'dynamodb:LeadingKeys': 'false' } }],
      ['kms:GetPublicKey', null],
    ]);
    const allowed = (request: Request) => statements.some((s) => allows(s, request));
    expect(allowed({ action: 'dynamodb:Query', leadingKeys: ['KEYS'] })).toBe(true);
    expect(allowed({ action: 'dynamodb:Query', leadingKeys: ['Q#tpp-alpha'] })).toBe(false);
    expect(allowed({ action: 'dynamodb:Query', leadingKeys: ['CERT#0123abcd'] })).toBe(false);
    expect(allowed({ action: 'dynamodb:PutItem', leadingKeys: ['KEYS'], attributes: ['pk', 'sk'] })).toBe(false);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SETPOLL_TABLE_NAME: Match.anyValue(), SETPOLL_SIGNING_KEY_ID: Match.anyValue(), POWERTOOLS_SERVICE_NAME: 'setpoll-public-keys' }) },
    });
  });

  it('needs a certificate with its domain name', () => {
    expect(() => testStack({ publicJwksDomainName: PUBLIC_DOMAIN })).toThrow('publicJwksDomainName and publicJwksCertificateArn go together');
  });
});
