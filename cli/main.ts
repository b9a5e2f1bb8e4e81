/** The setpoll command line: dispatch, help, and exit codes (0 success, 1 failure, 2 usage). */
import { destinationsCommand } from './commands/destinations.ts';
import { notifyCommand } from './commands/notify.ts';
import { pollCommand } from './commands/poll.ts';
import { publishCommand } from './commands/publish.ts';
import { queueCommand } from './commands/queue.ts';
import { recipientsCommand } from './commands/recipients.ts';
import { CliFailure, UsageError } from './errors.ts';
import { processIo, type Io } from './io.ts';

export const HELP = `Usage: setpoll <command> [options]

Tools for the setpoll SET transmitter (RFC 8936 poll delivery).

Commands:
  publish        sign a SET and queue it for one or more recipients
  recipients     add, remove, list, show, rotate, revoke or unrevoke recipients' client certificates
  destinations   a Data Provider's notification destinations: add, list, get, update, remove, import
  notify         issue a notification to the provider's destinations; list, get, status,
                 withdraw or replace one
  poll           poll as a recipient: print and acknowledge verified SETs, report invalid ones
  queue          a recipient's queue: backlog, records, drain, purge or replay

By default commands act on the local stack started by \`npm start\` (.setpoll/local.json).
publish, recipients and queue act on DynamoDB: --table NAME [--region REGION] acts on a deployed
table with the default AWS credential chain. destinations, notify and poll call the API over
mutual TLS with a client-credentials token: --url URL --cert FILE --key FILE
--token-url URL [--ca FILE] call a deployment.

Run 'setpoll <command> --help' for a command's options.
Exit codes: 0 success, 1 failure, 2 usage error.`;

const COMMANDS: Record<string, (args: readonly string[], io: Io) => Promise<void>> = {
  publish: publishCommand,
  recipients: recipientsCommand,
  destinations: destinationsCommand,
  notify: notifyCommand,
  poll: pollCommand,
  queue: queueCommand,
};
const COMMAND_LIST = 'publish, recipients, destinations, notify, poll or queue';

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.out(HELP);
      return 0;
    }
    if (command === undefined) throw new UsageError(`a command is required: ${COMMAND_LIST}`);
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!run) throw new UsageError(`unknown command ${JSON.stringify(command)}: use ${COMMAND_LIST}`);
    await run(rest, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`setpoll: ${error.message}`);
      io.err(`Run 'setpoll ${error.command ? `${error.command} ` : ''}--help' for usage.`);
      return error.exitCode;
    }
    if (error instanceof CliFailure) {
      io.err(`setpoll: ${error.message}`);
      return error.exitCode;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    io.err(`setpoll: ${e.name}: ${e.message}`);
    if (process.env.SETPOLL_DEBUG) io.err(e.stack ?? '');
    return 1;
  }
}
