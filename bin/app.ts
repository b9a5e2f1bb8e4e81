#!/usr/bin/env node
/**
 * The setpoll CDK app. Environment-agnostic (no env, no lookups): `cdk synth` runs offline
 * without credentials; `cdk deploy` targets the credentials' account and region.
 *
 * Configuration: a JSON file per environment (`-c config=config/prod.json`, copied from
 * config/example.json) and/or `-c key=value`; every setting is checked (lib/context.ts) and a
 * wrong one stops synth with one line on stderr and exit code 1. The first deployment is two
 * steps, because API Gateway cannot create the mTLS domain before the truststore exists:
 * docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/constructs/validation.ts';
import { readConfiguration } from '../lib/context.ts';
import { addNagChecks } from '../lib/nag.ts';
import { SetpollStack } from '../lib/setpoll-stack.ts';

try {
  const app = new App();
  const { stackName, props } = readConfiguration(app.node);
  new SetpollStack(app, stackName, props);
  addNagChecks(app);
  app.synth();
} catch (error) {
  // A configuration mistake is the operator's to fix: say what, once, without a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`setpoll: ${error.message}\n`);
  process.exitCode = 1;
}
