/**
 * Watches the ports one node publishes, for one terminal socket: asks the driver when the
 * terminal connects, soon after each command the learner finishes (a `docker run -p` shows
 * within a second), and every few seconds besides (containers that stop by themselves);
 * reports only when the list changed. One look at a time; a request during one queues one more.
 */
import type { Logger } from '../log.ts';
import type { PublishedPort, SandboxDriver } from '../sandbox/driver.ts';

export interface PortWatchOptions {
  driver: SandboxDriver;
  sessionId: string;
  node: string;
  report(ports: PublishedPort[]): void;
  log: Logger;
  /** Time between looks when nothing asks for one (default 5 s). */
  pollMs?: number;
  /** Wait after a finished command, so a burst of prompts looks once (default 100 ms). */
  debounceMs?: number;
}

export class PortWatch {
  readonly #options: PortWatchOptions;
  #last: string | undefined;
  #running = false;
  #again = false;
  #closed = false;
  #soon: NodeJS.Timeout | undefined;
  readonly #poll: NodeJS.Timeout;

  constructor(options: PortWatchOptions) {
    this.#options = options;
    this.#poll = setInterval(() => void this.#look(), options.pollMs ?? 5000);
    this.#poll.unref();
  }

  /** Looks now. */
  request(): void {
    void this.#look();
  }

  /** Looks shortly (after a finished command). */
  requestSoon(): void {
    if (this.#soon || this.#closed) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.#look();
    }, this.#options.debounceMs ?? 100);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#poll);
    clearTimeout(this.#soon);
  }

  async #look(): Promise<void> {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      const ports = await this.#options.driver.listPorts(this.#options.sessionId, this.#options.node);
      const key = JSON.stringify(ports);
      if (!this.#closed && key !== this.#last) {
        this.#last = key;
        this.#options.report(ports);
      }
    } catch (error) {
      this.#options.log.debug('listing published ports failed', { error });
    } finally {
      this.#running = false;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.#look();
      }
    }
  }
}
