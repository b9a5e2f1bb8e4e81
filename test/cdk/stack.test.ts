import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../../lib/constructs/custom-domain-api.ts';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import { SigningKey } from '../../lib/constructs/signing-key.ts';
import type { SetpollStackProps } from '../../lib/setpoll-stack.ts';
import { ALARM_TOPIC_ARN, OB_POLL_PATH, SIGNING_KEY_ARN, TABLE_KEY_ARN, testStack } from './support.ts';

const leadingKeys = (...partitions: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': partitions } });

/** The poll role's table statements: reads of queues and certificates, writes of queue items only. */
const QUEUE_STATEMENTS = (tableArn: unknown): PolicyStatement[] => [
  { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: tableArn, Condition: leadingKeys('Q#*', 'CERT#*') },
  {
    Effect: 'Allow',
    Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:TransactWriteItems'],
    Resource: tableArn,
    Condition: leadingKeys('Q#*'),
  },
];

/** The management role's table statements: reads of providers, queues, authorizations and certificates; writes of all but certificates. */
const NOTIFIER_STATEMENTS = (tableArn: unknown): PolicyStatement[] => [
  { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], Resource: tableArn, Condition: leadingKeys('P#*', 'Q#*', 'AUTH#*', 'INBOX#*', 'CERT#*') },
  {
    Effect: 'Allow',
    Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:TransactWriteItems'],
    Resource: tableArn,
    Condition: leadingKeys('P#*', 'Q#*', 'AUTH#*', 'INBOX#*'),
  },
  { Effect: 'Allow', Action: 'dynamodb:ConditionCheckItem', Resource: tableArn, Condition: leadingKeys('AUTH#*') },
];

const MANAGEMENT_ROUTE_KEYS = [
  'ANY /destinations',
  'ANY /destinations/{proxy+}',
  'ANY /notifications',
  'ANY /notifications/{proxy+}',
  'ANY /recipient/{proxy+}',
  'ANY /ssf/{proxy+}',
  'GET /.well-known/ssf-configuration',
  'GET /jwks.json',
];

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** A statement with its actions in alphabetical order, as cdk.json's @aws-cdk/aws-iam:minimizePolicies writes them. */
const sortedActions = (s: PolicyStatement): PolicyStatement => (Array.isArray(s.Action) ? { ...s, Action: [...s.Action].sort() } : s);

/** Every statement of every IAM policy (inline `AWS::IAM::Policy` resources) in the template. */
function policyStatements(template: Template): PolicyStatement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement)
    .map(sortedActions);
}

/** The statements of the inline policies attached to one role (default policy and any other). */
function roleStatements(template: Template, roleId: string): PolicyStatement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
    .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement)
    .map(sortedActions);
}

const actionsOf = (s: PolicyStatement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

type Found = { logicalId: string; resource: Record<string, any> };

/** The one Lambda function of a service (POWERTOOLS_SERVICE_NAME): 'setpoll' polls, 'setpoll-management' manages. */
function functionOf(template: Template, service: 'setpoll' | 'setpoll-management'): Found {
  const found = Object.entries(
    template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }),
  );
  expect(found).toHaveLength(1);
  const [logicalId, resource] = found[0]!;
  return { logicalId, resource };
}
const pollFunction = (template: Template) => functionOf(template, 'setpoll');
const managementFunction = (template: Template) => functionOf(template, 'setpoll-management');
const roleOf = (fn: Found): string => fn.resource.Properties.Role['Fn::GetAtt'][0] as string;

/**
 * The KMS keys of a template by use: the table key is symmetric, the SET signing key SIGN_VERIFY.
 * The alarm topic's own key is left out (test/cdk/observability.test.ts covers it).
 */
function keysOf(template: Template, usage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY'): Found[] {
  return Object.entries(template.findResources('AWS::KMS::Key'))
    .filter(([logicalId]) => !logicalId.startsWith('AlarmTopicKey'))
    .filter(([, key]) => (key.Properties.KeyUsage ?? 'ENCRYPT_DECRYPT') === usage)
    .map(([logicalId, resource]) => ({ logicalId, resource }));
}

/** The integration whose IntegrationUri is the function's ARN. */
function integrationOf(template: Template, fn: Found): string {
  const found = Object.entries(template.findResources('AWS::ApiGatewayV2::Integration')).filter(
    ([, i]) => JSON.stringify(i.Properties.IntegrationUri) === JSON.stringify({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] }),
  );
  expect(found).toHaveLength(1);
  return found[0]![0];
}

function onlyResource(template: Template, type: string): { logicalId: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  const [logicalId, resource] = found[0]!;
  return { logicalId, resource };
}

describe('SetpollStack', () => {
  // Synthesized once per variant; every assertion below reads these templates.
  let template: Template;
  let assemblyDir: string;
  let obTemplate: Template;
  let cmkTemplate: Template;
  let importedKeyTemplate: Template;
  let noDomainTemplate: Template;
  let es256Template: Template;
  let rs256Template: Template;
  let importedSigningKeyTemplate: Template;

  beforeAll(() => {
    const defaultStack = testStack({}, { bundle: true });
    template = Template.fromStack(defaultStack);
    // The cloud assembly holds the esbuild output (synth is cached: no second synthesis).
    assemblyDir = Stage.of(defaultStack)!.synth().directory;
    obTemplate = Template.fromStack(
      testStack({ pollPath: OB_POLL_PATH, truststoreVersion: 'v3', longPollSeconds: 24, alarmTopicArn: ALARM_TOPIC_ARN }),
    );
    cmkTemplate = Template.fromStack(testStack({ tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED }));
    importedKeyTemplate = Template.fromStack(testStack({ tableKmsKeyArn: TABLE_KEY_ARN }));
    noDomainTemplate = Template.fromStack(testStack({ truststoreVersion: undefined }));
    es256Template = Template.fromStack(testStack({ signingAlg: 'ES256' }));
    rs256Template = Template.fromStack(testStack({ signingAlg: 'RS256', setIssuer: 'https://bank.example' }));
    importedSigningKeyTemplate = Template.fromStack(testStack({ signingKeyArn: SIGNING_KEY_ARN, signingAlg: 'ES256' }));
  });

  describe('HTTP API', () => {
    it('disables the execute-api endpoint so mTLS cannot be bypassed', () => {
      // Prepare: default stack (beforeAll)
      // Act
      const api = onlyResource(template, 'AWS::ApiGatewayV2::Api').resource;
      // Assess
      expect(api.Properties).toMatchObject({ ProtocolType: 'HTTP', DisableExecuteApiEndpoint: true });
    });

    it('routes POST and every other method on the poll path to the poll Lambda', () => {
      // Prepare
      const integrationId = integrationOf(template, pollFunction(template));
      const target = { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] };
      // Act
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter(
        (r) => JSON.stringify(r.Properties.Target) === JSON.stringify(target),
      );
      // Assess
      expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['ANY /events', 'POST /events']);
    });

    it('routes the management paths and /jwks.json to the management Lambda, on the same API', () => {
      // Prepare
      const { logicalId: apiId } = onlyResource(template, 'AWS::ApiGatewayV2::Api');
      const integrationId = integrationOf(template, managementFunction(template));
      const target = { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] };
      // Act
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter(
        (r) => JSON.stringify(r.Properties.Target) === JSON.stringify(target),
      );
      // Assess
      expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(MANAGEMENT_ROUTE_KEYS);
      for (const r of routes) expect(r.Properties.ApiId).toEqual({ Ref: apiId });
      const allKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
      expect(allKeys.sort()).toEqual([...MANAGEMENT_ROUTE_KEYS, 'ANY /events', 'POST /events'].sort());
    });

    it('uses Lambda proxy integrations with payload format 2.0', () => {
      // Prepare
      const functions = [pollFunction(template), managementFunction(template)];
      // Act / Assess
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
      for (const fn of functions) {
        template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          IntegrationUri: { 'Fn::GetAtt': [fn.logicalId, 'Arn'] },
        });
      }
    });

    it('serves the OB Aggregated Polling path', () => {
      // Prepare: pollPath /open-banking/v4.0/events (beforeAll)
      // Act
      const keys = Object.values(obTemplate.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
      // Assess
      expect(keys.sort()).toEqual([`ANY ${OB_POLL_PATH}`, `POST ${OB_POLL_PATH}`, ...MANAGEMENT_ROUTE_KEYS].sort());
      obTemplate.hasOutput('PollUrl', { Value: `https://events.bank.example${OB_POLL_PATH}` });
    });

    it('lets API Gateway invoke each Lambda only from its own routes', () => {
      // Prepare
      const poll = pollFunction(template).logicalId;
      const management = managementFunction(template).logicalId;
      // Act
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
      const sources = (fn: string) =>
        permissions
          .filter((p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [fn, 'Arn'] }))
          // arn:...:execute-api:...:{api id}/{stage}/{method}{path}: the part after the API id
          .map((p) => (p.Properties.SourceArn['Fn::Join'][1] as unknown[]).at(-1));
      // Assess
      for (const p of permissions) expect(p.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(permissions).toHaveLength(10);
      expect(sources(poll)).toEqual(['/*/*/events', '/*/*/events']);
      expect(sources(management).sort()).toEqual([
        '/*/*/.well-known/ssf-configuration',
        '/*/*/destinations',
        '/*/*/destinations/{proxy+}',
        '/*/*/jwks.json',
        '/*/*/notifications',
        '/*/*/notifications/{proxy+}',
        '/*/*/recipient/{proxy+}',
        '/*/*/ssf/{proxy+}',
      ]);
    });
  });

  describe('custom domain', () => {
    it('is Regional, TLS 1.2 and requires client certificates from the truststore', () => {
      // Prepare
      const { logicalId: bucketId } = findTruststoreBucket(template);
      // Act / Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        DomainName: 'events.bank.example',
        DomainNameConfigurations: [
          {
            CertificateArn: 'arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555',
            EndpointType: 'REGIONAL',
            SecurityPolicy: 'TLS_1_2',
          },
        ],
        MutualTlsAuthentication: {
          TruststoreUri: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/truststore.pem']] },
          TruststoreVersion: 'v1',
        },
      });
    });

    it('pins the truststore version when one is given', () => {
      // Prepare: truststoreVersion v3 (beforeAll)
      // Act / Assess
      obTemplate.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
        MutualTlsAuthentication: { TruststoreUri: Match.anyValue(), TruststoreVersion: 'v3' },
      });
    });

    it('maps the $default stage at the domain root', () => {
      // Prepare
      const { logicalId: apiId } = onlyResource(template, 'AWS::ApiGatewayV2::Api');
      const { logicalId: domainId } = onlyResource(template, 'AWS::ApiGatewayV2::DomainName');
      const { logicalId: stageId } = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
      // Act
      const mapping = onlyResource(template, 'AWS::ApiGatewayV2::ApiMapping').resource;
      // Assess
      expect(mapping.Properties).toEqual({ ApiId: { Ref: apiId }, DomainName: { Ref: domainId }, Stage: '$default' });
      expect(mapping.DependsOn).toContain(stageId);
    });

    it('can be left out for the first deployment, leaving no public entry point', () => {
      // Prepare: no truststore yet (beforeAll)
      // Act / Assess
      noDomainTemplate.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
      noDomainTemplate.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 0);
      noDomainTemplate.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
      expect(Object.keys(noDomainTemplate.findOutputs('*'))).not.toContain('PollUrl');
      noDomainTemplate.hasOutput('TruststoreBucketName', Match.anyValue());
    });
  });

  describe('stage', () => {
    it('is the auto-deployed $default stage with throttling', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 },
      });
    });

    it('takes throttling limits from props', () => {
      // Prepare
      const t = Template.fromStack(testStack({ throttleBurstLimit: 20, throttleRateLimit: 10 }));
      // Act / Assess
      t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10 },
      });
    });

    it('writes JSON access logs to a log group kept for a year', () => {
      // Prepare
      const stage = onlyResource(template, 'AWS::ApiGatewayV2::Stage').resource;
      const logGroupId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0] as string;
      // Act
      const format = JSON.parse(stage.Properties.AccessLogSettings.Format as string) as Record<string, string>;
      // Assess
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.routeKey',
        status: '$context.status',
        integrationErrorMessage: '$context.integrationErrorMessage',
      });
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 365 },
      });
    });

    it('never logs the Authorization header, other headers, query strings or bodies', () => {
      // Prepare
      const stage = onlyResource(template, 'AWS::ApiGatewayV2::Stage').resource;
      // Act
      const format = stage.Properties.AccessLogSettings.Format as string;
      // Assess
      expect(format).toBe(JSON.stringify(ACCESS_LOG_FORMAT));
      expect(format).not.toMatch(/authorization|header|body|querystring|requestOverride|\$input/i);
    });
  });

  describe('truststore bucket', () => {
    it('is versioned, private, S3-encrypted and logs access to the access-log bucket', () => {
      // Prepare
      const { resource } = findTruststoreBucket(template);
      const logBucketId = resource.Properties.LoggingConfiguration.DestinationBucketName.Ref as string;
      // Act / Assess
      expect(resource.Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect(resource.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(template.toJSON().Resources[logBucketId].Type).toBe('AWS::S3::Bucket');
    });

    it('and the access-log bucket both deny requests without TLS', () => {
      // Prepare
      const bucketIds = Object.keys(template.findResources('AWS::S3::Bucket'));
      // Act / Assess
      expect(bucketIds).toHaveLength(2);
      for (const bucketId of bucketIds) {
        template.hasResourceProperties('AWS::S3::BucketPolicy', {
          Bucket: { Ref: bucketId },
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 's3:*',
                Principal: { AWS: '*' },
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
    });

    it('lets only S3 log delivery for the truststore bucket write to the access-log bucket', () => {
      // Prepare
      const { logicalId: truststoreId } = findTruststoreBucket(template);
      // Act / Assess
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: 's3:PutObject',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [truststoreId, 'Arn'] } } }),
            }),
          ]),
        },
      });
      // No legacy LogDeliveryWrite ACL: ACLs are disabled on both buckets.
      for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
        expect(bucket.Properties.AccessControl).toBeUndefined();
      }
    });
  });

  describe('SET queue table', () => {
    it('has the pk/sk key schema, on-demand billing and the ttl attribute', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      });
    });

    it('has no secondary indexes (each would double the write cost)', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        GlobalSecondaryIndexes: Match.absent(),
        LocalSecondaryIndexes: Match.absent(),
      });
    });

    it('is protected: point-in-time recovery, deletion protection, retained', () => {
      // Prepare / Act / Assess
      template.hasResource('AWS::DynamoDB::Table', {
        Properties: Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
        DeletionPolicy: 'RetainExceptOnCreate',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('is encrypted with the AWS managed key by default', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
      });
      expect(keysOf(template, 'ENCRYPT_DECRYPT')).toEqual([]);
    });
  });

  describe('customer managed table key', () => {
    it('encrypts the table with a created, rotating, retained key', () => {
      // Prepare
      const [tableKey, ...others] = keysOf(cmkTemplate, 'ENCRYPT_DECRYPT');
      const { logicalId: keyId, resource: key } = tableKey!;
      // Act / Assess
      expect(others).toEqual([]);
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(key.DeletionPolicy).toBe('RetainExceptOnCreate');
      cmkTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      });
    });

    it('lets both Lambdas use the created key, and only that key', () => {
      // Prepare
      const [{ logicalId: keyId }] = keysOf(cmkTemplate, 'ENCRYPT_DECRYPT') as [Found];
      const [{ logicalId: signingKeyId }] = keysOf(cmkTemplate, 'SIGN_VERIFY') as [Found];
      const tableKeyStatement = {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
      };
      // Act
      const kmsOf = (fn: Found) => roleStatements(cmkTemplate, roleOf(fn)).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      // Assess
      expect(kmsOf(pollFunction(cmkTemplate))).toEqual([tableKeyStatement]);
      expect(kmsOf(managementFunction(cmkTemplate))).toEqual([
        tableKeyStatement,
        { Effect: 'Allow', Action: ['kms:GetPublicKey', 'kms:Sign'], Resource: { 'Fn::GetAtt': [signingKeyId, 'Arn'] } },
      ]);
    });

    it('can use an existing key by ARN', () => {
      // Prepare: tableKmsKeyArn (beforeAll)
      // Act / Assess
      expect(keysOf(importedKeyTemplate, 'ENCRYPT_DECRYPT')).toEqual([]);
      importedKeyTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: TABLE_KEY_ARN },
      });
      expect(policyStatements(importedKeyTemplate)).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: TABLE_KEY_ARN,
      });
    });
  });

  describe('poll Lambda', () => {
    it('runs nodejs24.x on arm64 with 512 MB, ESM bundle handler', () => {
      // Prepare / Act
      const fn = pollFunction(template).resource;
      // Assess
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
      });
    });

    it('is bundled locally by esbuild as minified ESM with a require shim and a source map', () => {
      // Prepare
      const fn = pollFunction(template).resource;
      const assetHash = (fn.Properties.Code.S3Key as string).replace(/\.zip$/, '');
      // Act
      const assetDir = path.join(assemblyDir, `asset.${assetHash}`);
      const files = fs.readdirSync(assetDir).sort();
      const code = fs.readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
      // Assess
      expect(files).toEqual(['index.mjs', 'index.mjs.map']);
      expect(code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);")).toBe(true);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    });

    it("resolves the SDK's credential chain to the environment provider alone, and stays within its 300 KiB budget", () => {
      // Prepare
      const fn = pollFunction(template).resource;
      const assetHash = (fn.Properties.Code.S3Key as string).replace(/\.zip$/, '');
      // Act
      const code = fs.readFileSync(path.join(assemblyDir, `asset.${assetHash}`, 'index.mjs'), 'utf8');
      // Assess: what only the rest of the default chain reads (web identity, SSO, process, container) is gone.
      for (const marker of ['AWS_WEB_IDENTITY_TOKEN_FILE', 'sso_session', 'credential_process', 'AWS_CONTAINER_CREDENTIALS']) {
        expect(code).not.toContain(marker);
      }
      expect(code).toContain('AWS_SECRET_ACCESS_KEY');
      expect(Buffer.byteLength(code)).toBeLessThanOrEqual(300 * 1024);
    });

    it('times out 5 s after the long poll, under the 30 s integration limit', () => {
      // Prepare
      const timeouts = [template, obTemplate].map((t) => pollFunction(t).resource.Properties.Timeout as number);
      // Act / Assess
      expect(timeouts).toEqual([25, 29]);
      for (const timeout of timeouts) expect(timeout).toBeLessThan(30);
    });

    it('is configured through SETPOLL_* environment variables', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      // Act
      const fn = pollFunction(template).resource;
      // Assess
      expect(fn.Properties).toMatchObject({
        Environment: {
          Variables: {
            SETPOLL_TABLE_NAME: { Ref: tableId },
            SETPOLL_LEASE_SECONDS: '30',
            SETPOLL_LONG_POLL_SECONDS: '20',
            SETPOLL_MAX_EVENTS: '100',
            SETPOLL_MAX_DELIVERY_ATTEMPTS: '0',
            SETPOLL_REALM: 'events.bank.example',
            SETPOLL_TOKEN_JWKS_URL: 'https://as.bank.example/.well-known/jwks.json',
            SETPOLL_TOKEN_ISSUER: 'https://as.bank.example',
            SETPOLL_TOKEN_AUDIENCE: 'https://events.bank.example',
            SETPOLL_TOKEN_REQUIRE_AT_JWT: 'false',
            SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '0',
            SETPOLL_TOKEN_SCOPES: 'accounts fundsconfirmations payments ssf.manage ssf.manage.poll',
            POWERTOOLS_SERVICE_NAME: 'setpoll',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
    });

    it('logs to its own log group kept for one month', () => {
      // Prepare
      const fn = pollFunction(template).resource;
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      // Act / Assess
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });
  });

  describe('management Lambda', () => {
    it('runs nodejs24.x on arm64 with 1024 MB and a 29 s timeout, under the 30 s integration limit', () => {
      // Prepare / Act
      const fn = managementFunction(template).resource;
      // Assess
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 1024,
        Timeout: 29,
      });
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(10);
    });

    it('is bundled like the poll Lambda, from its own handler', () => {
      // Prepare
      const assetOf = (fn: Found) => (fn.resource.Properties.Code.S3Key as string).replace(/\.zip$/, '');
      const management = assetOf(managementFunction(template));
      // Act
      const assetDir = path.join(assemblyDir, `asset.${management}`);
      const code = fs.readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
      // Assess
      expect(management).not.toBe(assetOf(pollFunction(template)));
      expect(fs.readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);")).toBe(true);
    });

    it('is configured through SETPOLL_* environment variables', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      const [{ logicalId: signingKeyId }] = keysOf(template, 'SIGN_VERIFY') as [Found];
      // Act
      const variables = managementFunction(template).resource.Properties.Environment.Variables;
      // Assess
      expect(variables).toEqual({
        SETPOLL_TABLE_NAME: { Ref: tableId },
        SETPOLL_REALM: 'events.bank.example',
        SETPOLL_ISSUER: 'https://events.bank.example',
        SETPOLL_POLL_URL: 'https://events.bank.example/events',
        SETPOLL_SIGNING_KEY_ID: { 'Fn::GetAtt': [signingKeyId, 'Arn'] },
        SETPOLL_SIGNING_ALG: 'PS256',
        SETPOLL_TOKEN_JWKS_URL: 'https://as.bank.example/.well-known/jwks.json',
        SETPOLL_TOKEN_ISSUER: 'https://as.bank.example',
        SETPOLL_TOKEN_AUDIENCE: 'https://events.bank.example',
        SETPOLL_TOKEN_REQUIRE_AT_JWT: 'false',
        SETPOLL_TOKEN_MAX_LIFETIME_SECONDS: '0',
        SETPOLL_NOTIFIER_MAX_DESTINATIONS: '10000',
        SETPOLL_NOTIFIER_NOTIFICATIONS_PER_MINUTE: '600',
        SETPOLL_NOTIFIER_MAX_CLAIMS_BYTES: '65536',
        SETPOLL_NOTIFIER_MAX_BULK_ITEMS: '100',
        SETPOLL_NOTIFIER_MAX_SETS_PER_REQUEST: '100000',
        POWERTOOLS_SERVICE_NAME: 'setpoll-management',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('takes the SET issuer, algorithm and an existing key from props', () => {
      // Prepare: RS256 with setIssuer; ES256 with signingKeyArn (beforeAll)
      // Act
      const rs256 = managementFunction(rs256Template).resource.Properties.Environment.Variables;
      const imported = managementFunction(importedSigningKeyTemplate).resource.Properties.Environment.Variables;
      // Assess
      expect(rs256).toMatchObject({ SETPOLL_ISSUER: 'https://bank.example', SETPOLL_SIGNING_ALG: 'RS256' });
      expect(imported).toMatchObject({ SETPOLL_SIGNING_KEY_ID: SIGNING_KEY_ARN, SETPOLL_SIGNING_ALG: 'ES256' });
    });

    it('logs to its own log group kept for one month', () => {
      // Prepare
      const logGroupIds = [pollFunction(template), managementFunction(template)].map((fn) => fn.resource.Properties.LoggingConfig.LogGroup.Ref as string);
      // Act / Assess
      expect(new Set(logGroupIds).size).toBe(2);
      expect(template.toJSON().Resources[logGroupIds[1]!]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    });
  });

  describe('SET signing key', () => {
    it.each([
      ['PS256', () => template, 'RSA_2048'],
      ['RS256', () => rs256Template, 'RSA_2048'],
      ['ES256', () => es256Template, 'ECC_NIST_P256'],
    ])('is an asymmetric SIGN_VERIFY KMS key for %s: %s', (_alg, t, keySpec) => {
      // Prepare / Act
      const keys = keysOf(t(), 'SIGN_VERIFY');
      // Assess
      expect(keys).toHaveLength(1);
      expect(keys[0]!.resource.Properties).toMatchObject({ KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' });
      expect(keys[0]!.resource.Properties.EnableKeyRotation).toBeUndefined();
    });

    it('is retained when it leaves the stack', () => {
      // Prepare / Act
      const [{ resource }] = keysOf(template, 'SIGN_VERIFY') as [Found];
      // Assess
      expect(resource.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
    });

    it('is not created when an existing key ARN is given', () => {
      // Prepare: signingKeyArn (beforeAll)
      // Act / Assess
      expect([...keysOf(importedSigningKeyTemplate, 'SIGN_VERIFY'), ...keysOf(importedSigningKeyTemplate, 'ENCRYPT_DECRYPT')]).toEqual([]);
    });
  });

  describe('Notifier limits', () => {
    it('gives the management function each per-provider limit, the defaults for those not set', () => {
      // Act
      const limited = Template.fromStack(testStack({ notifierLimits: { maxDestinations: 500, notificationsPerMinute: 60, maxBulkItems: undefined } }));
      const variables = managementFunction(limited).resource.Properties.Environment.Variables as Record<string, string>;

      // Assess
      expect(Object.fromEntries(Object.entries(variables).filter(([name]) => name.startsWith('SETPOLL_NOTIFIER_')))).toEqual({
        SETPOLL_NOTIFIER_MAX_DESTINATIONS: '500',
        SETPOLL_NOTIFIER_NOTIFICATIONS_PER_MINUTE: '60',
        SETPOLL_NOTIFIER_MAX_CLAIMS_BYTES: '65536',
        SETPOLL_NOTIFIER_MAX_BULK_ITEMS: '100',
        SETPOLL_NOTIFIER_MAX_SETS_PER_REQUEST: '100000',
      });
    });

    it('refuses a limit out of its bounds at synth', () => {
      expect(() => testStack({ notifierLimits: { maxBulkItems: 101 } })).toThrow('maxBulkItems must be an integer from 1 to 100, not 101');
    });
  });

  describe('IAM', () => {
    it('grants the poll Lambda exactly the queue actions, on the table ARN only', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      // Act
      const dynamo = roleStatements(template, roleOf(pollFunction(template))).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      // Assess
      expect(dynamo).toEqual(QUEUE_STATEMENTS({ 'Fn::GetAtt': [tableId, 'Arn'] }).map(sortedActions));
    });

    it('lets neither Lambda touch an item without a leading-key condition, nor the poll Lambda write anything but queue items', () => {
      // Prepare
      const dynamoOf = (fn: Found) => roleStatements(template, roleOf(fn)).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      const writes = (s: PolicyStatement) => actionsOf(s).some((a) => /^dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite)/.test(a));
      // Act
      const poll = dynamoOf(pollFunction(template));
      const management = dynamoOf(managementFunction(template));
      // Assess
      expect([...poll, ...management].filter((s) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] === undefined)).toEqual([]);
      expect(poll.filter(writes).flatMap((s) => s.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys'])).toEqual(['Q#*']);
      expect(management.filter(writes).flatMap((s) => s.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys'])).not.toContain('CERT#*');
      expect([...poll, ...management].flatMap(actionsOf).filter((a) => a === 'dynamodb:Scan' || a === 'dynamodb:*')).toEqual([]);
    });

    it('lets only the management role call kms:Sign with the created signing key: its key policy denies every other principal', () => {
      // Prepare
      const [{ logicalId: signingKeyId }] = keysOf(template, 'SIGN_VERIFY') as [Found];
      const managementRole = roleOf(managementFunction(template));
      // Act / Assess
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyUsage: 'SIGN_VERIFY',
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'OnlyTheSetSignersSign',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'kms:Sign',
              Resource: '*',
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [managementRole, 'Arn'] }] } },
            },
          ]),
        },
      });
      const key = template.toJSON().Resources[signingKeyId];
      const allowsSign = (key.Properties.KeyPolicy.Statement as PolicyStatement[]).filter((st) => st.Effect === 'Allow' && actionsOf(st).some((a) => a === 'kms:Sign' || a === 'kms:*'));
      // The account statement (kms:*) remains for key administration; the Deny above is what stops other principals signing.
      expect(allowsSign.map((st) => (st as unknown as { Principal: unknown }).Principal)).toEqual([
        { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
      ]);
      expect(roleStatements(template, roleOf(pollFunction(template))).flatMap(actionsOf)).not.toContain('kms:Sign');
    });

    it('refuses to synthesise a created signing key that no role may sign with', () => {
      // Prepare
      const app = new App();
      const stack = new Stack(app, 'Lonely');
      new SigningKey(stack, 'Key');
      // Act / Assess
      expect(() => app.synth()).toThrow(/No role may sign with the SET signing key: call grantSign/);
    });

    it('grants no Scan and no wildcard action, in any variant', () => {
      // Prepare
      const all = [
        template,
        obTemplate,
        cmkTemplate,
        importedKeyTemplate,
        noDomainTemplate,
        es256Template,
        rs256Template,
        importedSigningKeyTemplate,
      ].flatMap(policyStatements);
      // Act
      const actions = all.flatMap(actionsOf);
      // Assess
      expect(actions).not.toContain('dynamodb:Scan');
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    });

    it.each([
      ['poll', pollFunction],
      ['management', managementFunction],
    ])('lets the %s Lambda write only to its own log group (no AWSLambdaBasicExecutionRole)', (_name, find) => {
      // Prepare
      const fn = find(template);
      const role = template.toJSON().Resources[roleOf(fn)];
      const logGroupId = fn.resource.Properties.LoggingConfig.LogGroup.Ref as string;
      // Act
      const logs = roleStatements(template, roleOf(fn)).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      // Assess
      template.resourceCountIs('AWS::IAM::Role', 2);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        },
      ]);
    });

    it('grants the management Lambda exactly its table, signing and self-invoke actions', () => {
      // Prepare
      const fn = managementFunction(template);
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      const [{ logicalId: signingKeyId }] = keysOf(template, 'SIGN_VERIFY') as [Found];
      // Act
      const statements = roleStatements(template, roleOf(fn)).filter((s) => !actionsOf(s).every((a) => a.startsWith('logs:')));
      // Assess
      expect(statements).toEqual([
        ...NOTIFIER_STATEMENTS({ 'Fn::GetAtt': [tableId, 'Arn'] }).map(sortedActions),
        { Effect: 'Allow', Action: ['kms:GetPublicKey', 'kms:Sign'], Resource: { 'Fn::GetAtt': [signingKeyId, 'Arn'] } },
        // The on-failure destination of its asynchronous invocations (test/cdk/continuations.test.ts).
        { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: expect.anything() },
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fn.logicalId, 'Arn'] } },
      ]);
    });

    it('lets the management Lambda condition-check authorization items only (the fan-out enqueue), and the poll Lambda none', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      const checksOf = (fn: Found) => roleStatements(template, roleOf(fn)).filter((s) => actionsOf(s).includes('dynamodb:ConditionCheckItem'));
      // Act / Assess
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleOf(managementFunction(template)) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            { Effect: 'Allow', Action: 'dynamodb:ConditionCheckItem', Resource: { 'Fn::GetAtt': [tableId, 'Arn'] }, Condition: leadingKeys('AUTH#*') },
          ]),
        },
      });
      // Negative: no statement lets it check an item of any other partition, nor the poll role check anything.
      expect(checksOf(managementFunction(template)).map((s) => s.Condition)).toEqual([leadingKeys('AUTH#*')]);
      expect(checksOf(pollFunction(template))).toEqual([]);
    });

    it('gives the signing key and lambda:InvokeFunction to the management Lambda only', () => {
      // Prepare
      const pollRole = roleOf(pollFunction(template));
      // Act
      const actions = roleStatements(template, pollRole).flatMap(actionsOf);
      const everywhere = policyStatements(template).flatMap(actionsOf);
      // Assess
      expect(actions.filter((a) => a.startsWith('kms:') || a.startsWith('lambda:'))).toEqual([]);
      expect(everywhere.filter((a) => a === 'kms:Sign')).toHaveLength(1);
      expect(everywhere.filter((a) => a === 'lambda:InvokeFunction')).toHaveLength(1);
    });

    it('grants kms:Sign and kms:GetPublicKey on an existing signing key by ARN', () => {
      // Prepare: signingKeyArn (beforeAll)
      const fn = managementFunction(importedSigningKeyTemplate);
      // Act
      const kms = roleStatements(importedSigningKeyTemplate, roleOf(fn)).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      // Assess
      expect(kms).toEqual([{ Effect: 'Allow', Action: ['kms:GetPublicKey', 'kms:Sign'], Resource: SIGNING_KEY_ARN }]);
    });
  });

  // Alarms, the alarm topic and the dashboard: test/cdk/observability.test.ts.

  describe('outputs', () => {
    it('publish the poll URL, DNS target, table and truststore bucket', () => {
      // Prepare
      const { logicalId: domainId } = onlyResource(template, 'AWS::ApiGatewayV2::DomainName');
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      const { logicalId: bucketId } = findTruststoreBucket(template);
      // Act / Assess
      template.hasOutput('PollUrl', { Value: 'https://events.bank.example/events' });
      template.hasOutput('RegionalDomainName', { Value: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] } });
      template.hasOutput('TableName', { Value: { Ref: tableId } });
      template.hasOutput('TruststoreBucketName', { Value: { Ref: bucketId } });
    });

    it('publish the management API and JWKS URLs on the custom domain, and the signing key', () => {
      // Prepare
      const [{ logicalId: signingKeyId }] = keysOf(template, 'SIGN_VERIFY') as [Found];
      // Act / Assess
      template.hasOutput('ManagementUrl', { Value: 'https://events.bank.example' });
      template.hasOutput('JwksUrl', { Value: 'https://events.bank.example/jwks.json' });
      template.hasOutput('SigningKeyArn', { Value: { 'Fn::GetAtt': [signingKeyId, 'Arn'] } });
      importedSigningKeyTemplate.hasOutput('SigningKeyArn', { Value: SIGNING_KEY_ARN });
      expect(Object.keys(noDomainTemplate.findOutputs('*'))).not.toContain('ManagementUrl');
    });
  });

  describe('invalid configuration', () => {
    it.each<[string, Partial<SetpollStackProps>, RegExp]>([
      ['a long poll that would breach the 30 s integration timeout', { longPollSeconds: 25 }, /longPollSeconds must be at most 24/],
      ['a much longer long poll', { longPollSeconds: 60 }, /longPollSeconds must be at most 24/],
      ['a fractional long poll', { longPollSeconds: 1.5 }, /longPollSeconds must be an integer/],
      ['a negative lease', { leaseSeconds: -1 }, /leaseSeconds must be an integer >= 1/],
      ['a zero lease', { leaseSeconds: 0 }, /leaseSeconds must be an integer >= 1/],
      ['zero maxEvents', { maxEvents: 0 }, /maxEvents must be an integer >= 1/],
      ['negative maxDeliveryAttempts', { maxDeliveryAttempts: -1 }, /maxDeliveryAttempts must be an integer >= 0/],
      ['a poll path without a leading slash', { pollPath: 'events' }, /pollPath must start with '\/'/],
      ['a poll path with a trailing slash', { pollPath: '/events/' }, /pollPath must start with '\/'/],
      ['a poll path with a path parameter', { pollPath: '/events/{id}' }, /pollPath must start with '\/'/],
      ['a JWKS URL over plain HTTP', { tokenJwksUrl: 'http://as.bank.example/jwks' }, /tokenJwksUrl must use https/],
      ['no token scopes', { tokenScopes: [] }, /tokenScopes must be one or more/],
      ['a certificate ARN that is not ACM', { certificateArn: 'arn:aws:iam::123456789012:server-certificate/x' }, /certificateArn must be an ACM certificate ARN/],
      ['a domain name that is not a host name', { domainName: 'https://events.bank.example' }, /domainName must be a lower-case DNS host name/],
      ['an unsupported signing algorithm', { signingAlg: 'HS256' as never }, /signingAlg must be one of PS256, RS256, ES256 \(got "HS256"\)/],
      ['a signing key alias instead of a key ARN', { signingKeyArn: 'arn:aws:kms:eu-west-2:123456789012:alias/setpoll' }, /signingKeyArn must be a KMS key ARN/],
      ['a poll path the management API serves', { pollPath: '/notifications/events' }, /pollPath must not be \/destinations, \/notifications, \/recipient, \/jwks.json/],
      ['a management Lambda with too little memory', { managementMemorySize: 64 }, /managementMemorySize must be an integer >= 128/],
    ])('rejects %s', (_name, props, message) => {
      // Prepare / Act / Assess
      expect(() => testStack(props)).toThrow(message);
    });
  });
});

function findTruststoreBucket(template: Template): { logicalId: string; resource: Record<string, any> } {
  const found = Object.entries(template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } }));
  expect(found).toHaveLength(1);
  const [logicalId, resource] = found[0]!;
  return { logicalId, resource };
}
