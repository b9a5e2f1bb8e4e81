import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/**
 * examples/cdk-app: an existing CDK app adding setpoll by importing `setpoll/cdk` (the package's
 * exports, resolved by name as another app would). `npm run typecheck` compiles it; this runs it
 * as `cdk synth` would, skipping the Lambda bundling the stack tests already cover.
 */
describe('examples/cdk-app', () => {
  const out = mkdtempSync(join(tmpdir(), 'setpoll-example-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes its own stack and setpoll, with setpoll alarming on its topic', async () => {
    // Act
    await new Promise<void>((done, fail) =>
      execFile(
        TSX,
        ['app.ts'],
        { cwd: join(ROOT, 'examples/cdk-app'), timeout: 120_000, env: { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }) } },
        (error, _stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done()),
      ),
    );

    // Assess
    const template = (name: string): Template => JSON.parse(readFileSync(join(out, `${name}.template.json`), 'utf8')) as Template;
    const platform = template('Platform');
    const setpoll = template('Setpoll');
    expect(Object.values(platform.Resources).map((r) => r.Type)).toEqual(['AWS::SNS::Topic']);
    const types = Object.values(setpoll.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::DynamoDB::Table')).toHaveLength(1);
    expect(types.filter((t) => t === 'AWS::Lambda::Function').length).toBeGreaterThanOrEqual(2);
    expect(types).toContain('AWS::ApiGatewayV2::Api');
    // The alarms notify the app's topic (imported from Platform), and setpoll created no topic of its own.
    expect(types).not.toContain('AWS::SNS::Topic');
    const alarmActions = Object.values(setpoll.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => JSON.stringify(r.Properties?.AlarmActions));
    expect(alarmActions.length).toBeGreaterThan(0);
    for (const actions of alarmActions) expect(actions).toContain('Fn::ImportValue');
  }, 150_000);
});
