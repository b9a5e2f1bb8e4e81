import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { inProcess } from '../support/cli.ts';

/**
 * The README and docs/ stay true: every command the README shows is one the project has (an npm
 * script, a setpoll command with options its help names, or a tool it documents), and every
 * relative link in the README and in docs/*.md leads to a file that exists.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const README = join(ROOT, 'README.md');
const MAX_README_BYTES = 10 * 1024;
/** Tools the README may tell a reader to run that are not this package's. */
const OTHER_TOOLS = new Set(['aws', 'git', 'cd', 'cp', 'curl', 'java', 'node', 'python3', 'pip']);
const NPM_BUILTINS = new Set(['install', 'ci', 'test', 'start']);

/** The command lines of the README's shell blocks, and its inline `npm …` and `npx …` spans; comments and prompts removed. */
function shellCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(?:sh|shell|bash|console)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const inline = [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/`((?:npm|npx) [^`]+)`/g)].map((m) => m[1]!);
  return [...blocks, ...inline]
    .flatMap((block) => block.replace(/\\\n/g, ' ').split('\n'))
    .map((line) => line.replace(/^\$ /, '').replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => line.split(/\s*(?:&&|\|\||;|\|)\s*/));
}

/** `--name` options of a command line, placeholders and values aside. */
const optionsOf = (words: readonly string[]): string[] => words.filter((w) => /^--[a-z][a-z0-9-]*(=|$)/.test(w)).map((w) => w.split('=')[0]!);

async function helpOf(args: readonly string[]): Promise<string> {
  const run = await inProcess(...args, '--help');
  expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
  return run.stdout;
}

function markdownFiles(): string[] {
  const docs = join(ROOT, 'docs');
  return [README, ...readdirSync(docs, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join(docs, f))];
}

describe('README', () => {
  const readme = readFileSync(README, 'utf8');

  it(`is at most ${MAX_README_BYTES} bytes`, () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(MAX_README_BYTES);
  });

  it('shows only commands the project has', async () => {
    const commands = shellCommands(readme);
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      const words = command.split(/\s+/).filter((w) => !/^[A-Z_]+=/.test(w));
      const [tool, ...rest] = words;
      if (tool === undefined) continue; // a variable assignment alone
      if (tool === 'npm') {
        const [verb, script] = rest;
        if (verb === 'run') expect(Object.keys(packageJson.scripts), command).toContain(script);
        else expect([...NPM_BUILTINS], command).toContain(verb);
      } else if (tool === 'npx' && rest[0] === 'setpoll') {
        const [name, sub] = rest.slice(1).filter((w) => !w.startsWith('-'));
        if (name === undefined) {
          // The tool itself, or its top-level options.
          for (const option of rest.slice(1)) expect(['--version', '--help', '-V', '-h'], command).toContain(option);
          continue;
        }
        if (name === 'help') {
          if (sub !== undefined && /^[a-z]+$/.test(sub)) await helpOf([sub]);
          continue;
        }
        const help = (await helpOf([name])) + (sub && /^[a-z]+$/.test(sub) && rest.indexOf(sub) === rest.indexOf(name) + 1 ? await helpOf([name, sub]) : '');
        for (const option of optionsOf(rest)) expect(help, `${command}: ${option}`).toContain(option);
      } else if (tool === 'npx') {
        expect(Object.keys(packageJson.devDependencies), command).toContain(rest[0] === 'cdk' ? 'aws-cdk' : rest[0]);
      } else {
        expect([...OTHER_TOOLS], command).toContain(tool);
      }
    }
  });
});

describe('relative links in README.md and docs/', () => {
  it.each(markdownFiles().map((f) => [f.slice(ROOT.length + 1), f]))('%s: every relative link resolves', (_name, file) => {
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    const targets = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!).filter((t) => !/^(?:[a-z]+:|#)/i.test(t));
    const missing = targets.filter((t) => !existsSync(join(dirname(file), decodeURIComponent(t.split('#')[0]!))));
    expect(missing).toEqual([]);
  });
});
