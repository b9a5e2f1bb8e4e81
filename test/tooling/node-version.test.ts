import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODEJS_RUNTIME } from '../../lib/constructs/function-defaults.ts';

/** The tests must run on the Node major the Lambda functions run on, or they prove nothing about it. */
describe('the Node.js the tests run on', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const lambdaMajor = Number(/^nodejs(\d+)\.x$/.exec(NODEJS_RUNTIME.name)?.[1]);

  it('is the Lambda runtime major (node_modules/.bin/node from the `node` devDependency)', () => {
    expect(lambdaMajor).toBe(24);
    expect(Number(process.versions.node.split('.')[0])).toBe(lambdaMajor);
    expect(pkg.devDependencies.node?.split('.')[0]).toBe(String(lambdaMajor));
  });
});
