import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SetQueueEncryption } from '../../lib/constructs/set-queue-table.ts';
import { testStack } from './support.ts';


const ZONE = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'bank.example' };

function functionOf(template: Template, service: string): { id: string; properties: Record<string, any> } {
  const found = Object.entries(
    template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }),
  );
  expect(found).toHaveLength(1);
  return { id: found[0]![0], properties: found[0]![1].Properties };
}

/** Every statement of the managed policy whose description starts with `prefix`. */
function managedPolicyStatements(template: Template, prefix: string): { Sid?: string; Action: string | string[]; Resource: unknown }[] {
  const found = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).filter((p) =>
    String(p.Properties.Description).startsWith(prefix),
  );
  expect(found).toHaveLength(1);
  return found[0]!.Properties.PolicyDocument.Statement;
}

describe('SetpollStack, operable defaults', () => {
  let template: Template;
  let cmk: Template;

  beforeAll(() => {
    template = Template.fromStack(testStack());
    cmk = Template.fromStack(testStack({ tableEncryption: SetQueueEncryption.CUSTOMER_MANAGED, ...ZONE, tracing: true }));
  });

  describe('reserved concurrency', () => {
    it('is reserved for both functions by default: 100 long polls, 10 management calls', () => {
      // Prepare / Act / Assess
      expect(functionOf(template, 'setpoll').properties.ReservedConcurrentExecutions).toBe(100);
      expect(functionOf(template, 'setpoll-management').properties.ReservedConcurrentExecutions).toBe(10);
    });

    it('takes both from props', () => {
      // Prepare
      const t = Template.fromStack(testStack({ reservedConcurrentExecutions: 400, managementReservedConcurrentExecutions: 25 }));
      // Act / Assess
      expect(functionOf(t, 'setpoll').properties.ReservedConcurrentExecutions).toBe(400);
      expect(functionOf(t, 'setpoll-management').properties.ReservedConcurrentExecutions).toBe(25);
    });

    it.each([
      [{ reservedConcurrentExecutions: 0 }, /^reservedConcurrentExecutions must be an integer >= 1 \(got 0\)$/],
      [{ managementReservedConcurrentExecutions: 2.5 }, /^managementReservedConcurrentExecutions must be an integer >= 1 \(got 2.5\)$/],
    ])('refuses %j (0 would stop the function altogether)', (props, message) => {
      // Prepare / Act / Assess
      expect(() => testStack(props)).toThrow(message);
    });
  });

  describe('X-Ray', () => {
    it('is off by default', () => {
      // Prepare / Act / Assess
      expect(functionOf(template, 'setpoll').properties.TracingConfig).toBeUndefined();
      expect(functionOf(template, 'setpoll-management').properties.TracingConfig).toBeUndefined();
      expect(JSON.stringify(template.toJSON())).not.toContain('xray:PutTraceSegments');
    });

    it('traces both functions actively when switched on, with the X-Ray write actions only', () => {
      // Prepare
      const poll = functionOf(cmk, 'setpoll');
      // Act
      const xray = Object.values(cmk.findResources('AWS::IAM::Policy'))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('xray:')));
      // Assess
      expect(poll.properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(functionOf(cmk, 'setpoll-management').properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(xray).toHaveLength(2);
      for (const s of xray) expect(s).toMatchObject({ Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' });
    });
  });

  describe('dashboard', () => {
    it('is named after the stack and the region: dashboards are global', () => {
      // Prepare / Act / Assess
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: { 'Fn::Join': ['', ['Test-', { Ref: 'AWS::Region' }]] },
      });
    });
  });

  describe('DNS', () => {
    it('creates a Route 53 alias to the regional domain when a hosted zone is given', () => {
      // Prepare
      const domainId = Object.keys(cmk.findResources('AWS::ApiGatewayV2::DomainName'))[0]!;
      // Act / Assess
      cmk.hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: ZONE.hostedZoneId,
        Name: 'events.bank.example.',
        Type: 'A',
        AliasTarget: {
          DNSName: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] },
          HostedZoneId: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] },
        },
      });
      template.resourceCountIs('AWS::Route53::RecordSet', 0);
    });

    it('outputs the regional hosted zone id, for an alias made elsewhere', () => {
      // Prepare
      const domainId = Object.keys(template.findResources('AWS::ApiGatewayV2::DomainName'))[0]!;
      // Act / Assess
      template.hasOutput('RegionalHostedZoneId', { Value: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] } });
    });

    it('waits for the domain: no record on the first deployment', () => {
      // Prepare / Act
      const first = Template.fromStack(testStack({ ...ZONE, truststoreVersion: undefined }));
      // Assess
      first.resourceCountIs('AWS::Route53::RecordSet', 0);
      expect(Object.keys(first.findOutputs('*'))).not.toContain('RegionalHostedZoneId');
    });

    it.each([
      [{ hostedZoneId: ZONE.hostedZoneId }, /^hostedZoneId and hostedZoneName go together/],
      [{ ...ZONE, hostedZoneName: 'other.example' }, /^domainName events.bank.example is not in the hosted zone other.example/],
      [{ ...ZONE, hostedZoneId: 'bank.example' }, /^hostedZoneId must be a Route 53 hosted zone id/],
    ])('refuses %j', (props, message) => {
      // Prepare / Act / Assess
      expect(() => testStack(props)).toThrow(message);
    });
  });

  describe('operator policies', () => {
    it('read-only: GetItem and Query on the table, nothing else', () => {
      // Prepare
      const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0]!;
      // Act
      const statements = managedPolicyStatements(template, 'setpoll operators: read');
      // Assess
      expect(statements).toEqual([
        { Sid: 'SetQueueTable', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'], Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
      ]);
    });

    it('admin: also the writes, including ConditionCheckItem for recipients rotate, and the signing key\'s public key for keys rotate; never Scan, table admin or kms:Sign', () => {
      // Prepare
      const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0]!;
      const signingKeyId = Object.keys(template.findResources('AWS::KMS::Key', { Properties: { KeyUsage: 'SIGN_VERIFY' } }))[0]!;
      // Act
      const statements = managedPolicyStatements(template, 'setpoll operators: also');
      // Assess
      expect(statements).toEqual([
        {
          Sid: 'SetQueueTable',
          Effect: 'Allow',
          Action: ['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
          Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
        },
        // setpoll keys rotate --table: KmsSigner.create reads the current key's public key
        { Sid: 'SigningKeyPublicKey', Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: { 'Fn::GetAtt': [signingKeyId, 'Arn'] } },
      ]);
      expect(managedPolicyStatements(template, 'setpoll operators: read').map((st) => st.Sid)).toEqual(['SetQueueTable']);
    });

    it('cover the customer managed table key when there is one', () => {
      // Prepare
      const keyId = Object.keys(cmk.findResources('AWS::KMS::Key', { Properties: { Description: 'setpoll SET queue table encryption' } }))[0]!;
      // Act
      const read = managedPolicyStatements(cmk, 'setpoll operators: read');
      const admin = managedPolicyStatements(cmk, 'setpoll operators: also');
      // Assess
      expect(read[1]).toEqual({ Sid: 'SetQueueTableKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } });
      expect(admin[1]).toMatchObject({ Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'] });
    });

    it('are attached to no one and output for the operators to attach', () => {
      // Prepare / Act / Assess
      for (const p of Object.values(template.findResources('AWS::IAM::ManagedPolicy'))) {
        expect(p.Properties.Roles).toBeUndefined();
        expect(p.Properties.Users).toBeUndefined();
      }
      template.hasOutput('OperatorReadOnlyPolicyArn', { Value: { Ref: Match.stringLikeRegexp('^OperatorsReadOnly') } });
      template.hasOutput('OperatorAdminPolicyArn', { Value: { Ref: Match.stringLikeRegexp('^OperatorsAdmin') } });
    });
  });
});

