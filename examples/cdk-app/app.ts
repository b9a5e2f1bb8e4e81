#!/usr/bin/env node
/**
 * An existing CDK app that adds setpoll. The app already has its own stack (here a stand-in
 * "Platform" stack with the alarm topic its on-call team watches); setpoll joins it as one more
 * stack, imported from the package like any construct library. Run it with `cdk synth` (cdk.json
 * here) or `node examples/cdk-app/app.ts`; `npm test` type-checks and synthesizes it.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SetpollStack } from 'setpoll/cdk';

const app = new App();
const env = { account: '123456789012', region: 'eu-west-2' };

// What the app had before setpoll.
const platform = new Stack(app, 'Platform', { env });
const onCall = new sns.Topic(platform, 'OnCall');

// setpoll, in a few lines: the poll endpoint's domain and certificate, and the authorization server.
new SetpollStack(app, 'Setpoll', {
  env,
  domainName: 'events.bank.example',
  certificateArn: 'arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  tokenJwksUrl: 'https://as.bank.example/.well-known/jwks.json',
  tokenIssuer: 'https://as.bank.example',
  tokenAudience: 'https://events.bank.example',
  // setpoll's alarms go to the topic the team already watches (a cross-stack reference).
  alarmTopicArn: onCall.topicArn,
});

app.synth();
