import { describe, expect, it } from 'vitest';
import type { LessonSpec } from '../../lessons/schema.ts';
import { MemoryDriver } from '../../tests/doubles/memory-driver.ts';
import { createLogger } from '../log.ts';
import { SqliteProgressStore } from '../store/sqlite-store.ts';
import type { StepResult } from '../../protocol/terminal.ts';
import { CheckScheduler, type CheckTrigger } from './check-scheduler.ts';

const lesson: LessonSpec = {
  order: 1,
  nodes: ['node1'],
  requires: [],
  setup: [],
  setupTimeoutSeconds: 60,
  steps: [
    { id: 'one', node: 'node1', check: 'check-one', history: false, solution: ['x'] },
    { id: 'two', node: 'node1', check: 'check-two', history: false, solution: ['y'] },
  ],
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function setup(options: { done?: Set<string>; runDelayMs?: number; minIntervalMs?: number; fail?: boolean } = {}) {
  const done = options.done ?? new Set<string>();
  const driver = new MemoryDriver({
    runDelayMs: options.runDelayMs,
    run: (command) => {
      if (options.fail) throw new Error('engine gone');
      const ok = done.has(command.replace('check-', ''));
      return { exitCode: ok ? 0 : 1, output: ok ? '' : `not yet: ${command}`, timedOut: false };
    },
  });
  await driver.start({ sessionId: 's1', learnerId: 'ann', nodes: ['node1'] }, () => undefined);
  const store = new SqliteProgressStore(':memory:');
  const reports: Array<{ trigger: CheckTrigger; results: StepResult[] }> = [];
  const failures: unknown[] = [];
  const scheduler = new CheckScheduler({
    driver,
    store,
    sessionId: 's1',
    learnerId: 'ann',
    lessonSlug: 'lesson',
    lesson,
    timeoutMs: 1000,
    report: (trigger, results) => reports.push({ trigger, results }),
    failed: (error) => failures.push(error),
    log: createLogger('silent'),
    debounceMs: 20,
    minIntervalMs: options.minIntervalMs ?? 0,
  });
  const runs = () => driver.callsTo('run').length;
  return { done, driver, store, reports, failures, scheduler, runs };
}

describe('CheckScheduler', () => {
  it('checks once for a burst of finished commands', async () => {
    const { scheduler, reports, runs } = await setup();
    for (let i = 0; i < 50; i++) scheduler.request('command');
    await sleep(80);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.trigger).toBe('command');
    expect(runs()).toBe(2);
  });

  it('keeps command-triggered runs apart by the least interval', async () => {
    const { scheduler, reports } = await setup({ minIntervalMs: 300 });
    scheduler.request('command');
    await sleep(60);
    scheduler.request('command');
    await sleep(100);
    expect(reports).toHaveLength(1);
    await sleep(250);
    expect(reports).toHaveLength(2);
  });

  it('queues one more run for requests during a run, a button press first', async () => {
    const { scheduler, reports } = await setup({ runDelayMs: 40 });
    scheduler.request('connect');
    await sleep(10);
    scheduler.request('command');
    scheduler.request('button');
    scheduler.request('command');
    await sleep(250);
    expect(reports.map((report) => report.trigger)).toEqual(['connect', 'button']);
  });

  it('stores steps found done, reports them done, and does not check them again', async () => {
    const { scheduler, reports, store, done, runs } = await setup();
    scheduler.request('button');
    await sleep(20);
    expect(reports.at(-1)!.results).toEqual([
      { stepId: 'one', done: false, output: 'not yet: check-one' },
      { stepId: 'two', done: false, output: 'not yet: check-two' },
    ]);
    done.add('one');
    scheduler.request('button');
    await sleep(20);
    expect([...(await store.doneSteps('ann', 'lesson'))]).toEqual(['one']);
    // Undone in the sandbox, the step stays done; only step two is checked from now on.
    done.delete('one');
    const before = runs();
    scheduler.request('button');
    await sleep(20);
    expect(runs() - before).toBe(1);
    expect(reports.at(-1)!.results[0]).toEqual({ stepId: 'one', done: true, output: '' });
  });

  it('reports a run that could not happen, and nothing after close', async () => {
    const failing = await setup({ fail: true });
    failing.scheduler.request('button');
    await sleep(20);
    expect(failing.failures).toHaveLength(1);
    const closed = await setup();
    closed.scheduler.request('command');
    closed.scheduler.close();
    await sleep(60);
    expect(closed.reports).toEqual([]);
  });
});
