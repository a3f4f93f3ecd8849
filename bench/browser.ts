/**
 * Browser benchmark: Slipway's lesson page against a bare baseline (bench/baseline/: xterm.js,
 * one `ws` server and one `docker exec` TTY into a sandbox node, nothing in between), both in
 * one headless Chromium in the same run, measurements alternating between them. Prints each
 * metric for both and the ratio Slipway / baseline. Removes everything it created when it ends.
 *
 *   node bench/browser.ts [--runs N]
 */
import { docker } from '../tests/support/engine.ts';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { launchChromium } from '../tests/support/chromium.ts';
import { loopbackContext } from '../tests/support/browser.ts';
import { objectName } from '../server/sandbox/docker/labels.ts';
import { startBaseline } from './baseline/server.ts';
import { loadCourse } from '../lessons/course.ts';
import { loadConfig } from '../server/config.ts';
import { BenchError, instance, loopbackUrl, median, parseCountOption, percentile, runBench, sortedCopy, type BenchRun, type Table } from './support.ts';

const lessonPath = 'en/hello-world/';
const prompt = 'root@node1';
const readyTimeoutMs = 120_000;
const echoTimeoutMs = 5_000;
const outputTimeoutMs = 300_000;
const keystrokes = 200;
/** Keys typed into one page before the other page's turn. */
const keysPerTurn = 20;
const pauseBetweenKeystrokesMs = 20;
/** The prompt counts as idle after this long without a change on the screen. */
const quietMs = 300;

const lastNumber = 2_700_000;
const outputCommand = `seq 1 ${lastNumber}`;
/** What `seq 1 2700000` prints through a TTY: every number and "\r\n". */
const outputBytes = (() => {
  let bytes = 0;
  for (let digits = 1, from = 1; from <= lastNumber; digits++, from *= 10) bytes += (Math.min(lastNumber, from * 10 - 1) - from + 1) * (digits + 2);
  return bytes;
})();

function parseRuns(argv: string[]): number {
  return parseCountOption(argv, {
    name: 'runs',
    defaultValue: 3,
    min: 1,
    max: 50,
    usage: `Usage: node bench/browser.ts [--runs N]   (runs of '${outputCommand}' per page, default 3)`,
  });
}

// ---------------------------------------------------------------------------------------------
// The two pages, read the same way

type Hook = 'slipway' | 'baseline';

interface Subject {
  name: string;
  hook: Hook;
  page: Page;
  latencies: number[];
  speeds: number[];
  /** Seconds each private-registry exercise took. */
  exercises: number[];
}

/** The lesson whose node1 exercise is typed into both pages, command by command. */
const exerciseLesson = 'private-registry';
/** After each exercise, untimed: what it made goes, registry:2 included, so the next one pulls it again from the mirror. */
const exerciseCleanup = 'docker rm -f registry >/dev/null 2>&1; docker rmi -f registry:2 busybox localhost:5000/busybox localhost:5000/busybox:v1 >/dev/null 2>&1; clear';

interface PageHelpers {
  /** The last line of the terminal that is not empty (the shell's prompt line when idle). */
  promptLine(): string;
  /** Arms a timer that starts at the next keydown and stops when the prompt line is `expected`. */
  armEcho(expected: string, timeoutMs: number): void;
  echo?: Promise<number>;
  /** Arms a timer that starts at the next keydown and stops when the buffer has the line `last`. */
  armOutput(last: string, timeoutMs: number): void;
  output?: Promise<number>;
  /** Arms a timer that starts at the next keydown and stops when the last line is an idle prompt again. */
  armPrompt(timeoutMs: number): void;
  prompt?: Promise<number>;
}

declare global {
  interface Window {
    bench?: PageHelpers;
  }
}

/**
 * Runs in the page (Playwright sends its source; the pages' CSP allows no eval, so the
 * helpers are closures installed once): reads the terminal through the page's own hook.
 */
function installHelpers(hook: Hook): void {
  const read = () => (hook === 'slipway' ? window.slipway?.terminalText() : window.baseline?.terminalText()) ?? '';
  const promptLine = () => {
    const lines = read().split('\n');
    for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return lines[i]!;
    return '';
  };
  const onNextKeydown = (start: (at: number) => void) =>
    window.addEventListener('keydown', () => start(performance.now()), { capture: true, once: true });
  const helpers: PageHelpers = {
    promptLine,
    armEcho: (expected, timeoutMs) => {
      helpers.echo = new Promise<number>((resolve, reject) => {
        onNextKeydown((start) => {
          // Checked on every turn of the event loop: MessageChannel tasks are not clamped as
          // nested timers are, so nothing rounds the time up.
          const channel = new MessageChannel();
          channel.port1.onmessage = () => {
            const now = performance.now();
            if (promptLine() === expected) {
              channel.port1.close();
              resolve(now - start);
            } else if (now - start > timeoutMs) {
              channel.port1.close();
              reject(new Error(`no echo within ${timeoutMs} ms; the last line is ${JSON.stringify(promptLine())}`));
            } else channel.port2.postMessage(0);
          };
          channel.port2.postMessage(0);
        });
      });
      helpers.echo.catch(() => undefined);
    },
    armOutput: (last, timeoutMs) => {
      const done = new RegExp(`^${last}$`, 'm');
      helpers.output = new Promise<number>((resolve, reject) => {
        onNextKeydown((start) => {
          const poll = () => {
            const now = performance.now();
            if (done.test(read())) resolve(now - start);
            else if (now - start > timeoutMs) reject(new Error(`the line ${last} did not appear within ${timeoutMs / 1000} s`));
            else setTimeout(poll, 20);
          };
          poll();
        });
      });
      helpers.output.catch(() => undefined);
    },
    armPrompt: (timeoutMs) => {
      helpers.prompt = new Promise<number>((resolve, reject) => {
        onNextKeydown((start) => {
          const poll = () => {
            const now = performance.now();
            // Unanchored: output without a final newline ('{}' from curl) puts the prompt after it.
            if (/root@node1:[^#]*# $/.test(promptLine())) resolve(now - start);
            else if (now - start > timeoutMs) reject(new Error(`no prompt within ${timeoutMs / 1000} s; the last line is ${JSON.stringify(promptLine())}`));
            else setTimeout(poll, 10);
          };
          poll();
        });
      });
      helpers.prompt.catch(() => undefined);
    },
  };
  window.bench = helpers;
}

async function promptLine(subject: Subject): Promise<string> {
  return subject.page.evaluate(() => window.bench!.promptLine());
}

/** Waits until the shell shows an empty prompt on its last line and the screen stays still. */
async function waitForIdlePrompt(subject: Subject, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let changedAt = Date.now();
  for (;;) {
    const line = await promptLine(subject);
    if (line !== last) {
      last = line;
      changedAt = Date.now();
    }
    if (line.startsWith(prompt) && line.endsWith('# ') && Date.now() - changedAt >= quietMs) return;
    if (Date.now() > deadline) throw new BenchError(`The ${subject.name} page showed no idle '${prompt}' prompt within ${timeoutMs / 1000} s; its last line is ${JSON.stringify(line)}.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * One keystroke, timed inside the page: from the key's keydown event until the terminal's
 * buffer shows the prompt line with the letter after it. Then, untimed, a backspace erases it.
 */
async function typeOneKey(subject: Subject, letter: string): Promise<number> {
  const { page } = subject;
  const before = await promptLine(subject);
  await page.evaluate(({ expected, timeoutMs }) => window.bench!.armEcho(expected, timeoutMs), { expected: before + letter, timeoutMs: echoTimeoutMs });
  await page.keyboard.type(letter);
  const ms = await page.evaluate(() => window.bench!.echo!).catch((error: unknown) => {
    throw new BenchError(`Keystroke '${letter}' on the ${subject.name} page: ${(error as Error).message.split('\n')[0]}`);
  });
  await page.keyboard.press('Backspace');
  const deadline = Date.now() + echoTimeoutMs;
  while ((await promptLine(subject)) !== before) {
    if (Date.now() > deadline) throw new BenchError(`The backspace after '${letter}' on the ${subject.name} page did not erase it.`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return ms;
}

/**
 * One output run, timed inside the page: from the Enter key's keydown until the buffer has
 * the line `2700000`, checked every 20 ms. Untimed before it: `clear` (which also empties the
 * scrollback, so the line from the run before is gone) and typing the command.
 */
async function runOutput(subject: Subject): Promise<number> {
  const { page } = subject;
  await page.keyboard.type('clear');
  await page.keyboard.press('Enter');
  await waitForIdlePrompt(subject, 30_000);
  await page.keyboard.type(outputCommand);
  await page.evaluate(({ last, timeoutMs }) => window.bench!.armOutput(last, timeoutMs), { last: String(lastNumber), timeoutMs: outputTimeoutMs });
  await page.keyboard.press('Enter');
  const ms = await page.evaluate(() => window.bench!.output!).catch((error: unknown) => {
    throw new BenchError(`'${outputCommand}' on the ${subject.name} page: ${(error as Error).message.split('\n')[0]}`);
  });
  await waitForIdlePrompt(subject, 60_000);
  return outputBytes / 1e6 / (ms / 1000);
}

/**
 * The private-registry exercise as a learner types it: each command of the lesson's node1 steps,
 * timed inside the page from its Enter until the prompt is back (typing itself untimed), summed.
 * Untimed after it: the registry, its image and the pushed images go.
 */
async function runExercise(subject: Subject, commands: string[]): Promise<number> {
  const { page } = subject;
  let total = 0;
  for (const command of commands) {
    await page.keyboard.type(command);
    await page.evaluate((timeoutMs) => window.bench!.armPrompt(timeoutMs), outputTimeoutMs);
    await page.keyboard.press('Enter');
    total += await page.evaluate(() => window.bench!.prompt!).catch((error: unknown) => {
      throw new BenchError(`'${command}' on the ${subject.name} page: ${(error as Error).message.split('\n')[0]}`);
    });
  }
  await page.keyboard.type(exerciseCleanup);
  await page.keyboard.press('Enter');
  await waitForIdlePrompt(subject, 60_000);
  return total / 1000;
}

/** Rows and pixel width of the page's terminal, to check both pages draw the same terminal. */
async function terminalSize(page: Page): Promise<string> {
  return page.evaluate(() => {
    const screen = [...document.querySelectorAll<HTMLElement>('.xterm-screen')].find((element) => element.offsetParent !== null);
    const rows = screen?.querySelector('.xterm-rows')?.childElementCount ?? 0;
    return `${rows} rows, ${Math.round(screen?.getBoundingClientRect().width ?? 0)} px wide`;
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const fixed = (digits: number) => (value: number) => value.toFixed(digits);

function tables(subjects: Subject[]): Table[] {
  const [slipway, baseline] = subjects;
  if (!slipway || !baseline) return [];
  const rows: string[][] = [];
  const f2 = fixed(2);
  const f1 = fixed(1);
  const row = (metric: string, values: (subject: Subject) => number[], summary: (sorted: number[]) => number, format: (value: number) => string) => {
    const a = values(slipway);
    const b = values(baseline);
    if (a.length === 0 || b.length === 0) return;
    const x = summary(sortedCopy(a));
    const y = summary(sortedCopy(b));
    rows.push([metric, format(x), format(y), (x / y).toFixed(2)]);
  };
  row(`keystroke echo p50 (ms, ${slipway.latencies.length} / ${baseline.latencies.length} keys)`, (s) => s.latencies, median, f2);
  row('keystroke echo p99 (ms)', (s) => s.latencies, (sorted) => percentile(sorted, 99), f2);
  row(`output into the page, median (MB/s, ${slipway.speeds.length} / ${baseline.speeds.length} runs)`, (s) => s.speeds, median, f1);
  row(`${exerciseLesson} exercise typed as a learner, median (s, ${slipway.exercises.length} / ${baseline.exercises.length} runs)`, (s) => s.exercises, median, f2);
  const out: Table[] = [
    {
      title: 'Slipway against the bare baseline',
      note: `Keystroke: keydown until the letter is in xterm's buffer. Output: '${outputCommand}' (${(outputBytes / 1e6).toFixed(1)} MB, 1 MB = 10^6 bytes), Enter until its last line is in the buffer.`,
      header: ['metric', 'Slipway', 'baseline', 'Slipway / baseline'],
      rows,
    },
  ];
  const detail: string[][] = [];
  for (const subject of subjects) {
    if (subject.latencies.length > 0) {
      const sorted = sortedCopy(subject.latencies);
      detail.push([`${subject.name}: keystroke echo (ms)`, String(sorted.length), f2(sorted[0]!), f2(median(sorted)), f2(percentile(sorted, 90)), f2(percentile(sorted, 99)), f2(sorted[sorted.length - 1]!)]);
    }
  }
  for (const subject of subjects) {
    if (subject.speeds.length > 0) {
      const sorted = sortedCopy(subject.speeds);
      detail.push([`${subject.name}: output (MB/s)`, String(sorted.length), f1(sorted[0]!), f1(median(sorted)), '', '', f1(sorted[sorted.length - 1]!)]);
    }
  }
  if (detail.length > 0) out.push({ title: 'Distributions', header: ['metric', 'n', 'min', 'median', 'p90', 'p99', 'max'], rows: detail });
  return out;
}

// ---------------------------------------------------------------------------------------------

const subjects: Subject[] = [];

async function body(bench: BenchRun, runs: number): Promise<void> {
  const { slipway, interrupts } = bench;
  const checkpoint = interrupts.checkpoint;
  const base = loopbackUrl(slipway);
  console.log(`Slipway is up at ${slipway.url} (start-up took ${Math.round(bench.startupMs)} ms). ${keystrokes} keystrokes and ${runs} output run(s) per page.`);

  // The baseline's node: the same image, started through the same driver.
  process.stdout.write('Starting the baseline sandbox and server… ');
  const sessionId = randomBytes(6).toString('hex');
  bench.active.add(sessionId);
  await slipway.runtime.driver.start({ sessionId, learnerId: `bench-${sessionId}`, nodes: ['node1'] }, () => undefined);
  checkpoint();
  const baseline = await startBaseline(docker.getContainer(objectName(instance, sessionId, 'node1')));
  bench.closeAtEnd('the baseline server', () => baseline.close());
  console.log(baseline.url);

  const browser = await launchChromium({ handleSignals: false });
  // Ctrl-C: closing the browser ends any page wait at once.
  bench.closeAtEnd('Chromium', () => browser.close(), { onInterrupt: true });
  checkpoint();

  process.stdout.write('Opening the lesson page (new learner, new sandbox)… ');
  const lessonPage = await (await loopbackContext(browser)).context.newPage();
  const response = await lessonPage.goto(new URL(lessonPath, base).href);
  if (!response?.ok()) throw new BenchError(`Opening ${lessonPath} answered HTTP ${response?.status() ?? 'nothing'}.`);
  await lessonPage.waitForFunction((expected) => window.slipway?.ready === true && window.slipway.terminalText().includes(expected), prompt, {
    timeout: readyTimeoutMs,
    polling: 20,
  });
  const slipwaySubject: Subject = { name: 'Slipway', hook: 'slipway', page: lessonPage, latencies: [], speeds: [], exercises: [] };
  await lessonPage.evaluate(installHelpers, slipwaySubject.hook);
  // The lesson check the server runs on connect, and the first prompt, settle untimed.
  await waitForIdlePrompt(slipwaySubject, readyTimeoutMs);
  console.log('ready');

  // The baseline's terminal gets the lesson page terminal's size, so xterm draws as much.
  const host = await lessonPage.evaluate(() => {
    const screen = document.querySelector<HTMLElement>('[data-terminal-screen]:not([hidden])');
    const style = screen ? getComputedStyle(screen) : undefined;
    return { width: parseInt(style?.width ?? '800', 10), height: parseInt(style?.height ?? '480', 10) };
  });
  process.stdout.write('Opening the baseline page… ');
  const baselinePage = await (await loopbackContext(browser)).context.newPage();
  await baselinePage.goto(`${baseline.url}?width=${host.width}&height=${host.height}`);
  await baselinePage.waitForFunction((expected) => window.baseline?.ready === true && window.baseline.terminalText().includes(expected), prompt, {
    timeout: readyTimeoutMs,
    polling: 20,
  });
  const baselineSubject: Subject = { name: 'baseline', hook: 'baseline', page: baselinePage, latencies: [], speeds: [], exercises: [] };
  await baselinePage.evaluate(installHelpers, baselineSubject.hook);
  await waitForIdlePrompt(baselineSubject, readyTimeoutMs);
  console.log('ready');
  subjects.push(slipwaySubject, baselineSubject);
  console.log(`Terminals: Slipway ${await terminalSize(lessonPage)}; baseline ${await terminalSize(baselinePage)}.`);

  process.stdout.write(`Keystroke echo (${keystrokes} keys per page, ${keysPerTurn} at a time)… `);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let turn = 0; turn * keysPerTurn < keystrokes; turn++) {
    for (const subject of turn % 2 === 0 ? subjects : [...subjects].reverse()) {
      await subject.page.bringToFront();
      for (let i = turn * keysPerTurn; i < Math.min(keystrokes, (turn + 1) * keysPerTurn); i++) {
        checkpoint();
        subject.latencies.push(await typeOneKey(subject, letters[i % letters.length]!));
        await interrupts.sleep(pauseBetweenKeystrokesMs);
      }
    }
  }
  console.log('done');

  for (let run = 1; run <= runs; run++) {
    for (const subject of run % 2 === 1 ? subjects : [...subjects].reverse()) {
      checkpoint();
      process.stdout.write(`Output run ${run}/${runs}, ${subject.name}… `);
      await subject.page.bringToFront();
      const speed = await runOutput(subject);
      subject.speeds.push(speed);
      console.log(`${speed.toFixed(1)} MB/s`);
    }
  }

  const course = await loadCourse(loadConfig().SLIPWAY_LESSONS_DIR);
  const commands = (course[exerciseLesson]?.steps ?? []).filter((step) => step.node === 'node1').flatMap((step) => step.solution);
  if (commands.length === 0) throw new BenchError(`The lesson ${exerciseLesson} has no node1 steps to type.`);
  for (let run = 1; run <= runs; run++) {
    for (const subject of run % 2 === 1 ? subjects : [...subjects].reverse()) {
      checkpoint();
      process.stdout.write(`The ${exerciseLesson} exercise (${commands.length} commands), run ${run}/${runs}, ${subject.name}… `);
      await subject.page.bringToFront();
      const seconds = await runExercise(subject, commands);
      subject.exercises.push(seconds);
      console.log(`${seconds.toFixed(2)} s`);
    }
  }
}

runBench({ options: parseRuns, body, report: () => tables(subjects) });
