/**
 * When a terminal's lesson checks run, and what their results mean for progress: one run at
 * a time; a request during a run queues one more; runs after a finished command are
 * debounced and rate-limited (a script printing prompt marks cannot make the server run
 * checks nonstop); steps found done are stored and stay done.
 */
import type { LessonSpec } from '../../lessons/schema.ts';
import type { Logger } from '../log.ts';
import type { SandboxDriver } from '../sandbox/driver.ts';
import type { ProgressStore } from '../store/progress-store.ts';
import type { StepResult } from '../../protocol/terminal.ts';
import { runChecks } from './run-checks.ts';

export type CheckTrigger = 'connect' | 'command' | 'button';

export interface CheckSchedulerOptions {
  driver: SandboxDriver;
  store: ProgressStore;
  sessionId: string;
  learnerId: string;
  lessonSlug: string;
  lesson: LessonSpec;
  timeoutMs: number;
  /** Results of a run, every step of the lesson in order (done ones included). */
  report(trigger: CheckTrigger, results: StepResult[]): void;
  /** A run could not happen (the sandbox vanished, the engine is gone). */
  failed(error: unknown): void;
  log: Logger;
  /** Wait after a finished command before checking, so a burst of prompts checks once. */
  debounceMs?: number;
  /** Least time between the starts of two command-triggered runs. */
  minIntervalMs?: number;
  /** Told of every run: what started it, how long it took, whether it could run. */
  observe?(trigger: CheckTrigger, seconds: number, ran: boolean): void;
}

export class CheckScheduler {
  readonly #options: CheckSchedulerOptions;
  #running = false;
  #queued: CheckTrigger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStart = 0;
  #closed = false;

  constructor(options: CheckSchedulerOptions) {
    this.#options = options;
  }

  /** Asks for a run; command-triggered ones wait for the debounce and the rate limit. */
  request(trigger: CheckTrigger): void {
    if (this.#closed) return;
    if (trigger !== 'command') {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#run(trigger);
      return;
    }
    if (this.#timer) return;
    const debounce = this.#options.debounceMs ?? 100;
    const wait = Math.max(debounce, this.#lastStart + (this.#options.minIntervalMs ?? 1000) - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#run('command');
    }, wait);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #run(trigger: CheckTrigger): Promise<void> {
    if (this.#running) {
      // A button press outranks a finished command: the learner waits for its answer.
      this.#queued = trigger === 'button' || this.#queued === 'button' ? 'button' : (this.#queued ?? trigger);
      return;
    }
    this.#running = true;
    this.#lastStart = Date.now();
    const began = performance.now();
    let ran = false;
    const { driver, store, sessionId, learnerId, lessonSlug, lesson, timeoutMs } = this.#options;
    try {
      const done = await store.doneSteps(learnerId, lessonSlug);
      const pending = lesson.steps.filter((step) => !done.has(step.id));
      const results = await runChecks(driver, sessionId, pending, timeoutMs);
      const newlyDone = results.filter((result) => result.done).map((result) => result.stepId);
      await store.markDone(learnerId, lessonSlug, newlyDone);
      ran = true;
      if (!this.#closed) {
        const all = lesson.steps.map((step) => results.find((result) => result.stepId === step.id) ?? { stepId: step.id, done: true, output: '' });
        this.#options.report(trigger, all);
      }
    } catch (error) {
      if (!this.#closed) this.#options.failed(error);
    } finally {
      this.#options.observe?.(trigger, (performance.now() - began) / 1000, ran);
      this.#running = false;
      const again = this.#queued;
      this.#queued = undefined;
      if (again && !this.#closed) this.request(again);
    }
  }
}
