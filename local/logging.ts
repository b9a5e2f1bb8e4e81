/**
 * How `npm start` logs. By default one readable line per request (the access log) and the
 * handlers' warnings and errors only: their per-request info lines and EMF metrics are what Lambda
 * ships to CloudWatch, noise on a developer's terminal. SETPOLL_LOG_FORMAT=json (or
 * `npm start -- --json-logs`) prints everything as JSON lines, as Lambda would, the access log
 * included. Local only: the deployed functions always log JSON.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AccessLogEntry } from './https-server.ts';

export const LOG_FORMAT_ENV = 'SETPOLL_LOG_FORMAT';
export type LogFormat = 'text' | 'json';

export function logFormatFrom(env: NodeJS.ProcessEnv, jsonLogsFlag: boolean): LogFormat {
  if (jsonLogsFlag) return 'json';
  const raw = env[LOG_FORMAT_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'text') return 'text';
  if (raw === 'json') return 'json';
  throw new TypeError(`${LOG_FORMAT_ENV} must be text or json, got ${JSON.stringify(env[LOG_FORMAT_ENV])}`);
}

/** One access log line: `POST /events 200 12ms client=tpp-alpha interaction=…`; nothing of the body. */
export function formatAccessLine(entry: AccessLogEntry, at: Date = new Date()): string {
  const time = at.toISOString().slice(11, 19);
  const status = entry.status === undefined ? 'aborted' : String(entry.status);
  return [
    time,
    entry.method,
    entry.path,
    status,
    `${entry.ms}ms`,
    `client=${entry.clientId ?? '-'}`,
    `interaction=${entry.interactionId ?? '-'}`,
  ].join(' ');
}

export interface LocalLogging {
  /** The handlers' logger. */
  readonly logger: Logger;
  readonly onRequestDone: (entry: AccessLogEntry) => void;
}

export function localLogging(format: LogFormat, write: (line: string) => void = (line) => console.log(line)): LocalLogging {
  if (format === 'json') {
    const logger = new Logger({ serviceName: 'setpoll' });
    return { logger, onRequestDone: (entry) => logger.info('Request', { ...entry }) };
  }
  return {
    logger: new Logger({ serviceName: 'setpoll', logLevel: 'WARN' }),
    onRequestDone: (entry) => write(formatAccessLine(entry)),
  };
}
