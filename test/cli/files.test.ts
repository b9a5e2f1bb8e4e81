import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliFailure } from '../../cli/errors.ts';
import { readJsonFile, readTextFile } from '../../cli/files.ts';
import { inProcess } from '../support/cli.ts';

describe('the files a command is given', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'setpoll-files-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('reads a file, and names what it was and its full path when it cannot', async () => {
    // Prepare
    const file = join(scratch, 'doc.json');
    await writeFile(file, '{"a":1}');
    await writeFile(join(scratch, 'bad.json'), '{"a":');

    // Act
    const [text, value, missing, directory, notJson] = await Promise.allSettled([
      readTextFile(file, 'the doc'),
      readJsonFile(file, 'the doc'),
      readTextFile(join(scratch, 'none.pem'), 'the client certificate'),
      readTextFile(scratch, 'the CA certificate'),
      readJsonFile(join(scratch, 'bad.json'), 'the JWK'),
    ]);

    // Assess
    expect([text, value]).toEqual([
      { status: 'fulfilled', value: '{"a":1}' },
      { status: 'fulfilled', value: { a: 1 } },
    ]);
    for (const failed of [missing, directory, notJson]) expect(failed).toMatchObject({ status: 'rejected', reason: expect.any(CliFailure) });
    expect((missing as PromiseRejectedResult).reason.message).toBe(`Cannot read the client certificate ${join(scratch, 'none.pem')}: no such file`);
    expect((directory as PromiseRejectedResult).reason.message).toBe(`Cannot read the CA certificate ${scratch}: EISDIR: illegal operation on a directory, read`);
    expect((notJson as PromiseRejectedResult).reason.message).toMatch(new RegExp(`^Cannot read the JWK ${join(scratch, 'bad.json')}: .*JSON`));
  });

  it('says the same of a missing --events file in publish and notify, before connecting to anything', async () => {
    // Act
    const runs = await Promise.all([
      inProcess('publish', '-r', 'tpp-alpha', '--events', '@/nonexistent/events.json', '--config', '/nonexistent/local.json'),
      inProcess('notify', '--events', '@/nonexistent/events.json', '--config', '/nonexistent/local.json'),
    ]);

    // Assess
    for (const run of runs) expect(run).toEqual({ code: 1, stdout: '', stderr: 'setpoll: Cannot read --events file /nonexistent/events.json: no such file\n' });
  });
});
