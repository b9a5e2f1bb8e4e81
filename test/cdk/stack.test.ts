import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '../../lib/constructs/poll-api.ts';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import { PLACEHOLDERS, stackPropsFromContext } from '../../lib/context.ts';
import type { SetpollStackProps } from '../../lib/setpoll-stack.ts';
import { ALARM_TOPIC_ARN, OB_POLL_PATH, TABLE_KEY_ARN, testStack } from './support.ts';

const QUEUE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:UpdateItem',
  'dynamodb:TransactWriteItems',
];

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every IAM policy (inline `AWS::IAM::Policy` resources) in the template. */
function policyStatements(template: Template): PolicyStatement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement,
  );
}

const actionsOf = (s: PolicyStatement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

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
    noDomainTemplate = Template.fromStack(testStack({ createDomain: false }));
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
      const { logicalId: integrationId } = onlyResource(template, 'AWS::ApiGatewayV2::Integration');
      const target = { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] };
      // Act
      const routes = template.findResources('AWS::ApiGatewayV2::Route');
      // Assess
      expect(Object.values(routes).map((r) => r.Properties.RouteKey).sort()).toEqual(['ANY /events', 'POST /events']);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', Target: target });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /events', Target: target });
    });

    it('uses a Lambda proxy integration with payload format 2.0', () => {
      // Prepare
      const { logicalId: functionId } = onlyResource(template, 'AWS::Lambda::Function');
      // Act / Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    });

    it('serves the OB Aggregated Polling path', () => {
      // Prepare: pollPath /open-banking/v4.0/events (beforeAll)
      // Act
      const keys = Object.values(obTemplate.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
      // Assess
      expect(keys.sort()).toEqual([`ANY ${OB_POLL_PATH}`, `POST ${OB_POLL_PATH}`]);
      obTemplate.hasOutput('PollUrl', { Value: `https://events.bank.example${OB_POLL_PATH}` });
    });

    it('lets API Gateway invoke the Lambda only from the two poll routes', () => {
      // Prepare / Act
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
      // Assess
      expect(permissions).toHaveLength(2);
      for (const p of permissions) {
        expect(p.Properties.Principal).toBe('apigateway.amazonaws.com');
        expect(JSON.stringify(p.Properties.SourceArn)).toMatch(/\/\*\/\*\/events"|\/\*\/POST\/events"/);
      }
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
          TruststoreVersion: Match.absent(),
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
      // Prepare: createDomain false (beforeAll)
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
      expect(resource.DeletionPolicy).toBe('Retain');
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
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('is encrypted with the AWS managed key by default', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
      });
      template.resourceCountIs('AWS::KMS::Key', 0);
    });
  });

  describe('customer managed table key', () => {
    it('encrypts the table with a created, rotating, retained key', () => {
      // Prepare
      const { logicalId: keyId, resource: key } = onlyResource(cmkTemplate, 'AWS::KMS::Key');
      // Act / Assess
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(key.DeletionPolicy).toBe('Retain');
      cmkTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      });
    });

    it('lets the poll Lambda use the created key, and only that key', () => {
      // Prepare
      const { logicalId: keyId } = onlyResource(cmkTemplate, 'AWS::KMS::Key');
      // Act
      const kmsStatements = policyStatements(cmkTemplate).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
      // Assess
      expect(kmsStatements).toEqual([
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
        },
      ]);
    });

    it('can use an existing key by ARN', () => {
      // Prepare: tableKmsKeyArn (beforeAll)
      // Act / Assess
      importedKeyTemplate.resourceCountIs('AWS::KMS::Key', 0);
      importedKeyTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: TABLE_KEY_ARN },
      });
      expect(policyStatements(importedKeyTemplate)).toContainEqual({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        Resource: TABLE_KEY_ARN,
      });
    });
  });

  describe('poll Lambda', () => {
    it('runs nodejs24.x on arm64 with 512 MB, ESM bundle handler', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
      });
    });

    it('is bundled locally by esbuild as minified ESM with a require shim and a source map', () => {
      // Prepare
      const fn = onlyResource(template, 'AWS::Lambda::Function').resource;
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

    it('times out 5 s after the long poll, under the 30 s integration limit', () => {
      // Prepare
      const timeouts = [template, obTemplate].map(
        (t) => onlyResource(t, 'AWS::Lambda::Function').resource.Properties.Timeout as number,
      );
      // Act / Assess
      expect(timeouts).toEqual([25, 29]);
      for (const timeout of timeouts) expect(timeout).toBeLessThan(30);
    });

    it('is configured through SETPOLL_* environment variables', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      // Act / Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
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
            SETPOLL_TOKEN_SCOPES: 'accounts fundsconfirmations payments',
            POWERTOOLS_SERVICE_NAME: 'setpoll',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
    });

    it('logs to its own log group kept for one month', () => {
      // Prepare
      const fn = onlyResource(template, 'AWS::Lambda::Function').resource;
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      // Act / Assess
      expect(template.toJSON().Resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });
  });

  describe('IAM', () => {
    it('grants exactly the queue actions, on the table ARN only', () => {
      // Prepare
      const { logicalId: tableId } = onlyResource(template, 'AWS::DynamoDB::Table');
      // Act
      const dynamo = policyStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      // Assess
      expect(dynamo).toEqual([{ Effect: 'Allow', Action: QUEUE_ACTIONS, Resource: [{ 'Fn::GetAtt': [tableId, 'Arn'] }] }]);
    });

    it('grants no Scan and no wildcard action, in any variant', () => {
      // Prepare
      const all = [template, obTemplate, cmkTemplate, importedKeyTemplate, noDomainTemplate].flatMap(policyStatements);
      // Act
      const actions = all.flatMap(actionsOf);
      // Assess
      expect(actions).not.toContain('dynamodb:Scan');
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    });

    it('lets the Lambda write only to its own log group (no AWSLambdaBasicExecutionRole)', () => {
      // Prepare
      const role = onlyResource(template, 'AWS::IAM::Role').resource;
      const fn = onlyResource(template, 'AWS::Lambda::Function').resource;
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      // Act
      const logs = policyStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      // Assess
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
        },
      ]);
    });
  });

  describe('alarms', () => {
    it('watches Lambda errors, Lambda throttles and API 5xx', () => {
      // Prepare / Act
      const metrics = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName);
      // Assess
      expect(metrics.sort()).toEqual(['5xx', 'Errors', 'Throttles']);
    });

    it('notifies the alarm topic when one is configured', () => {
      // Prepare: alarmTopicArn (beforeAll)
      // Act
      const alarms = Object.values(obTemplate.findResources('AWS::CloudWatch::Alarm'));
      // Assess
      expect(alarms).toHaveLength(3);
      for (const a of alarms) {
        expect(a.Properties.AlarmActions).toEqual([ALARM_TOPIC_ARN]);
        expect(a.Properties.OKActions).toEqual([ALARM_TOPIC_ARN]);
      }
    });
  });

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
  });

  describe('configuration from context', () => {
    it('has placeholders so synth works out of the box', () => {
      // Prepare
      const app = new App();
      // Act
      const props = stackPropsFromContext(app.node);
      // Assess
      expect(props).toMatchObject({
        domainName: PLACEHOLDERS.domainName,
        certificateArn: PLACEHOLDERS.certificateArn,
        tokenJwksUrl: PLACEHOLDERS.tokenJwksUrl,
        tokenIssuer: PLACEHOLDERS.tokenIssuer,
        tokenAudience: 'https://events.example.com',
      });
      expect(props.pollPath).toBeUndefined();
    });

    it('parses -c strings into numbers, booleans and lists', () => {
      // Prepare
      const app = new App({
        context: {
          domainName: 'events.bank.example',
          pollPath: OB_POLL_PATH,
          longPollSeconds: '10',
          maxEvents: 50,
          createDomain: 'false',
          tableEncryption: 'customer-managed',
          tokenScopes: 'accounts,payments',
        },
      });
      // Act
      const props = stackPropsFromContext(app.node);
      // Assess
      expect(props).toMatchObject<Partial<SetpollStackProps>>({
        domainName: 'events.bank.example',
        pollPath: OB_POLL_PATH,
        longPollSeconds: 10,
        maxEvents: 50,
        createDomain: false,
        tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED,
        tokenScopes: ['accounts', 'payments'],
        tokenAudience: 'https://events.bank.example',
      });
    });

    it.each([
      ['longPollSeconds', 'twenty', /longPollSeconds must be a number/],
      ['createDomain', 'no', /createDomain must be true or false/],
      ['tableEncryption', 'kms', /tableEncryption must be one of aws-managed, customer-managed/],
      ['truststoreFile', './ca.pem', /truststoreFile is not supported: upload the PEM/],
    ])('rejects context %s=%s', (key, value, message) => {
      // Prepare
      const app = new App({ context: { [key]: value } });
      // Act / Assess
      expect(() => stackPropsFromContext(app.node)).toThrow(message);
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
