/** The files a command is given (certificates, keys, JSON documents): one message for one that cannot be read. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CliFailure } from './errors.ts';

/** A file's text; one that cannot be read is a failure (exit 1) naming `what` it was and its full path. */
export async function readTextFile(file: string, what: string): Promise<string> {
  const path = resolve(file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliFailure(`Cannot read ${what} ${path}: ${reason}`);
  }
}

/** A JSON file's value; one that cannot be read, or is not JSON, is a failure as readTextFile's. */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  const text = await readTextFile(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliFailure(`Cannot read ${what} ${resolve(file)}: ${(error as Error).message}`);
  }
}
