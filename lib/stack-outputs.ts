/**
 * The CloudFormation outputs of SetpollStack: what an operator needs after a deploy (URLs, DNS
 * targets, the table, policies to attach, where alarms and failed continuations go). Created with
 * the stack itself as their scope, so their logical ids are the output names.
 */
import { CfnOutput, type CfnOutputProps } from 'aws-cdk-lib';
import type { SetpollStack } from './setpoll-stack.ts';
import type { SetpollStackProps } from './setpoll-stack-props.ts';

/** Outputs by name (their logical ids), in template order; an undefined one is left out. */
type Outputs = Readonly<Record<string, CfnOutputProps | undefined>>;

function addOutputs(stack: SetpollStack, outputs: Outputs): void {
  for (const [name, output] of Object.entries(outputs)) {
    if (output) new CfnOutput(stack, name, output);
  }
}

/**
 * The endpoints, once the mTLS custom domain exists. Added before the stack's deploy rules (and
 * the rest after them), which keeps the template's sections in the order they always had.
 */
export function addEndpointOutputs(stack: SetpollStack, props: SetpollStackProps): void {
  const { api } = stack;
  if (!api.domainName) return;
  addOutputs(stack, {
    PollUrl: { value: api.pollUrl, description: 'The poll endpoint (mTLS)' },
    ManagementUrl: { value: api.managementUrl, description: 'The management API: /destinations, /notifications (mTLS, notifications:read / notifications:write)' },
    JwksUrl: { value: api.jwksUrl, description: 'The public keys that verify the SETs' },
    RegionalDomainName: { value: api.domainName.regionalDomainName, description: `DNS target: CNAME (or Route 53 alias) ${props.domainName} to this name` },
    RegionalHostedZoneId: { value: api.domainName.regionalHostedZoneId, description: 'Hosted zone id of RegionalDomainName, for a Route 53 alias record made elsewhere' },
  });
}

/** The table, producers' and operators' policies, keys, alarms, and the runbook's handles. */
export function addResourceOutputs(stack: SetpollStack, props: SetpollStackProps): void {
  const { api, publicJwks } = stack;
  const publicJwksDomain = publicJwks?.domainName;
  addOutputs(stack, {
    TableName: { value: stack.queue.table.tableName, description: 'The SET queue table' },
    TableArn: { value: stack.queue.table.tableArn, description: 'The SET queue table (for producers\' policies)' },
    ProducerPolicyArn: {
      value: stack.producers.managedPolicy.managedPolicyArn,
      description: 'Attach to producer roles: PutItem on queue partitions only, and kms:Sign with the signing key',
    },
    PublicJwksUrl: publicJwks && { value: publicJwks.url, description: 'The SET verification keys, without mTLS' },
    PublicJwksRegionalDomainName: publicJwksDomain && {
      value: publicJwksDomain.regionalDomainName,
      description: `DNS target: CNAME (or Route 53 alias) ${props.publicJwksDomainName} to this name`,
    },
    TruststoreBucketName: {
      value: api.truststoreBucket.bucketName,
      description: api.domainName
        ? `The client CA bundle (PEM) is ${api.truststoreKey} here`
        : `Upload the client CA bundle (PEM) here as ${api.truststoreKey}, then deploy with -c truststoreVersion=<VersionId>`,
    },
    SigningKeyArn: { value: stack.signingKey.key.keyArn, description: 'The KMS key that signs the SETs' },
    AlarmTopicArn: { value: stack.alarmTopic.topicArn, description: 'Where the alarms notify: subscribe to it' },
    DashboardName: { value: stack.dashboard.dashboard.dashboardName, description: 'The CloudWatch dashboard' },
    ManagementFunctionName: { value: stack.management.function.functionName, description: 'The management Lambda: resume a stalled fan-out by invoking it (docs/runbook.md)' },
    FanOutFailureQueueUrl: { value: stack.continuations.failureQueue.queueUrl, description: 'Failed fan-out continuations, to resume (docs/runbook.md)' },
    OperatorReadOnlyPolicyArn: { value: stack.operatorPolicies.readOnly.managedPolicyArn, description: 'Attach to operators who read backlogs and recipients (docs/runbook.md)' },
    OperatorAdminPolicyArn: {
      value: stack.operatorPolicies.admin.managedPolicyArn,
      description: 'Attach to operators who register, rotate and revoke recipients, purge and replay (docs/runbook.md)',
    },
    TruststoreUri: { value: api.truststoreUri, description: 'The mTLS truststore' },
  });
}
