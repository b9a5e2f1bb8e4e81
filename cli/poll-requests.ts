/**
 * What `setpoll poll` adds around the recipient library's Poller, at the one place it talks to the
 * transmitter (its PollClient): --no-ack, which sends no answer at all, --once, which stops before a
 * second poll request, and the waiting indicator a long poll shows on a terminal.
 */
import type { PollClient, PollOptions, PollResult } from '../recipient/poll-client.ts';

type Requests = Pick<PollClient, 'poll' | 'acknowledge'>;

export interface RequestLimits {
  /** --no-ack: no request carries ack or setErrs; what was delivered comes back after its lease. */
  readonly peek: boolean;
  /**
   * --once: the first poll request answered is the only one (its answers ride on the final
   * acknowledge-only request). One that failed is retried as any run's is: it brought nothing.
   */
  readonly once: boolean;
  /** Stops the run: aborted in place of a second poll request under --once. */
  readonly stop: AbortController;
  /** Around each poll request: the waiting indicator. */
  readonly onPollStart?: () => void;
  readonly onPollEnd?: () => void;
}

const NOTHING: PollResult = { sets: new Map(), moreAvailable: false };

export function limitRequests(client: Requests, limits: RequestLimits): Requests {
  let answered = false;
  return {
    async poll(options: PollOptions): Promise<PollResult> {
      if (limits.once && answered) {
        // As Ctrl-C would: the Poller keeps this request's answers for its final acknowledge-only request.
        limits.stop.abort();
        throw new DOMException('setpoll poll --once: one poll request only', 'AbortError');
      }
      const { ack: _ack, setErrs: _setErrs, ...poll } = options;
      limits.onPollStart?.();
      try {
        const result = await client.poll(limits.peek ? poll : options);
        answered = true;
        return result;
      } finally {
        limits.onPollEnd?.();
      }
    },
    acknowledge: (answers) => (limits.peek ? Promise.resolve(NOTHING) : client.acknowledge(answers)),
  };
}

/**
 * Whether `poll` shows that it is waiting: only for --follow (a one-off poll does not wait), only
 * for a person (stdout and stderr both terminals, not a dumb one), and never into machine-readable
 * output (--json, --raw).
 */
export function showsWaitingIndicator(o: { follow: boolean; json: boolean; raw: boolean; stdoutIsTTY: boolean; stderrIsTTY: boolean; term: string | undefined }): boolean {
  return o.follow && !o.json && !o.raw && o.stdoutIsTTY && o.stderrIsTTY && o.term !== 'dumb';
}

/** One line on stderr while a long poll waits, erased before anything else is printed. */
export class WaitingIndicator {
  readonly #stream: NodeJS.WritableStream;
  #shown = false;

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  show(): void {
    if (this.#shown) return;
    this.#shown = true;
    this.#stream.write('waiting for SETs… (Ctrl-C to stop)');
  }

  /** Carriage return and erase-line (ECMA-48 EL, CSI 2 K): the line is gone, the cursor at its start. */
  hide(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#stream.write('\r\u001b[2K');
  }
}
