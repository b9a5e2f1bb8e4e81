/** The setpoll command line: dispatch, help, and exit codes (0 success, 1 failure, 2 usage). */
import packageJson from '../package.json' with { type: 'json' };
import { intendedMember } from '../lambdas/core/member-names.ts';
import { CliFailure, UsageError } from './errors.ts';
import { processIo, terminalSafeIo, type Io } from './io.ts';

export const HELP = `Usage: setpoll <command> [options]

Tools for the setpoll SET transmitter (RFC 8936 poll delivery).

Commands:
  publish        sign a SET and queue it for one or more recipients
  recipients     add, remove, list, show, rotate, revoke or unrevoke recipients' client
                 certificates; authorize or deauthorize Data Providers to notify a recipient
  destinations   a Data Provider's notification destinations: add, list, get, update, remove
                 or import
  notify         issue a notification to the provider's destinations; list, get, status,
                 withdraw or replace one
  poll           poll as a recipient: print and acknowledge verified SETs, report invalid ones
  queue          a recipient's queue: backlog, records, drain, purge or replay
  keys           the published verification keys: list, register, retire, remove or rotate
  doctor         check a deployment (or the local stack) step by step: DNS, TLS, mTLS, token,
                 key sets and an acknowledge-only poll
  streams        SSF receivers' streams: list, show, pause, enable, disable or delete (as an
                 operator, announced to the receiver; or --receiver, its own over the API)

By default commands act on the local stack started by \`npm start\` (.setpoll/local.json).
publish, recipients, queue, keys and streams act on DynamoDB: --table NAME [--region REGION]
[--profile NAME] acts on a deployed table with the default AWS credential chain. destinations,
notify, poll, doctor and streams --receiver call the API over mutual TLS with a client-credentials
token: --url URL --cert FILE --key FILE --token-url URL [--ca FILE] call a deployment.
SETPOLL_TABLE, SETPOLL_REGION, SETPOLL_URL, SETPOLL_CERT, SETPOLL_KEY, SETPOLL_TOKEN_URL and
SETPOLL_CA stand for those flags.

Run 'setpoll help <command>' or 'setpoll <command> --help' for a command's options,
'setpoll --version' for the version. With --json, errors are printed as JSON too.
Exit codes: 0 success, 1 failure, 2 usage error.`;

type Command = (args: readonly string[], io: Io) => Promise<void>;
// Each command's module (and the SDK clients it brings) loads only when that command runs, so
// `setpoll --version` or `setpoll poll` does not pay for every other command's imports.
const COMMANDS: Record<string, () => Promise<Command>> = {
  publish: async () => (await import('./commands/publish.ts')).publishCommand,
  recipients: async () => (await import('./commands/recipients.ts')).recipientsCommand,
  destinations: async () => (await import('./commands/destinations.ts')).destinationsCommand,
  notify: async () => (await import('./commands/notify.ts')).notifyCommand,
  poll: async () => (await import('./commands/poll.ts')).pollCommand,
  queue: async () => (await import('./commands/queue.ts')).queueCommand,
  keys: async () => (await import('./commands/keys.ts')).keysCommand,
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand,
  streams: async () => (await import('./commands/streams.ts')).streamsCommand,
};
const COMMAND_LIST = 'publish, recipients, destinations, notify, poll, queue, keys, doctor or streams';

export const VERSION: string = packageJson.version;

/** `setpoll help poll`: the command's own help, as `setpoll poll --help` prints it. */
async function commandNamed(name: string): Promise<Command> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load) return load();
  const meant = intendedMember(name, Object.keys(COMMANDS));
  throw new UsageError(`unknown command ${JSON.stringify(name)}${meant ? ` (did you mean ${meant}?)` : ''}: use ${COMMAND_LIST}`);
}

/** How a failure is shown: as a line of text, or as one JSON object when the command asked for --json. */
function report(io: Io, json: boolean, error: { kind: string; message: string; command?: string | undefined; exitCode: number }): number {
  if (json) {
    io.err(JSON.stringify({ error: { kind: error.kind, message: error.message, ...(error.command ? { command: error.command } : {}), exitCode: error.exitCode } }));
  } else {
    io.err(`setpoll: ${error.message}`);
    if (error.kind === 'usage') io.err(`Run 'setpoll ${error.command ? `${error.command} ` : ''}--help' for usage.`);
  }
  return error.exitCode;
}

export async function main(argv: readonly string[], rawIo: Io = processIo): Promise<number> {
  // Every line goes through terminalSafe: recipient- and provider-supplied strings reach many messages.
  const io = terminalSafeIo(rawIo);
  const [command, ...rest] = argv;
  // Before --, as parseArgs reads it: `--json` is an option of every command.
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : undefined).includes('--json');
  try {
    if (command === '--version' || command === '-V' || command === 'version') {
      io.out(json ? JSON.stringify({ version: VERSION }) : `setpoll ${VERSION}`);
      return 0;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      const topic = rest.find((a) => !a.startsWith('-'));
      if (topic === undefined || topic === 'help') io.out(HELP);
      else await (await commandNamed(topic))(['--help'], io);
      return 0;
    }
    if (command === undefined) throw new UsageError(`a command is required: ${COMMAND_LIST}`);
    await (await commandNamed(command))(rest, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return report(io, json, { kind: 'usage', message: error.message, command: error.command, exitCode: error.exitCode });
    // The command that failed, for --json readers: a failure names it as a usage error does.
    const ran = command !== undefined && Object.hasOwn(COMMANDS, command) ? command : undefined;
    if (error instanceof CliFailure) return report(io, json, { kind: 'failure', message: error.message, command: ran, exitCode: error.exitCode });
    const e = error instanceof Error ? error : new Error(String(error));
    const code = report(io, json, { kind: 'error', message: `${e.name}: ${e.message}`, command: ran, exitCode: 1 });
    if (process.env.SETPOLL_DEBUG) io.err(e.stack ?? '');
    return code;
  }
}
