/**
 * Server memory per terminal: Slipway in-process (instance `bench`), N terminal sockets on
 * loopback (a few learners, several terminals each, every terminal its own shell), and the
 * process's heap (after a full GC) and RSS measured at rest, with the N terminals idle at their
 * prompts, with all N printing as fast as they can to clients that read and acknowledge as the
 * browser does, and with all N printing to clients that never acknowledge (flow control must
 * hold them). Output is stopped with Ctrl-C in every shell before the next phase.
 *
 *   node --expose-gc bench/memory.ts [--terminals N]
 */
import { performance } from 'node:perf_hooks';
import { newLearnerId } from '../tests/support/ws-client.ts';
import { connect, waitForIdlePrompt, type Terminal } from './terminal-client.ts';
import { BenchError, loopbackUrl, mib, parseCountOption, runBench, type BenchRun, type Table } from './support.ts';

const lesson = 'hello-world';
const prompt = 'root@node1';
const cols = 120;
const rows = 40;
/** Terminals per learner: within SLIPWAY_SOCKETS_PER_LEARNER (8). */
const perLearner = 5;
const floodCommand = 'yes "a line of output that keeps coming, as a build log or yes would print it"';
/** How long each flood runs before it is sampled and stopped. */
const floodMs = 10_000;

interface Sample {
  heap: number;
  rss: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

async function sample(): Promise<Sample> {
  // Twice: the first collection runs finalizers whose memory the second one frees.
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

interface Phase {
  name: string;
  sample: Sample;
  /** The highest RSS seen while the phase ran. */
  peakRss: number;
}

const phases: Phase[] = [];
let terminalCount = 0;

async function flood(terminals: Terminal[], interrupts: BenchRun['interrupts']): Promise<number> {
  let peak = process.memoryUsage().rss;
  for (const terminal of terminals) terminal.type(`${floodCommand}\r`);
  const started = performance.now();
  while (performance.now() - started < floodMs) {
    interrupts.checkpoint();
    await interrupts.sleep(250);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return peak;
}

async function stop(terminals: Terminal[]): Promise<void> {
  for (const terminal of terminals) terminal.type('\x03');
  await Promise.all(terminals.map((terminal) => waitForIdlePrompt(terminal, prompt, 120_000)));
}

async function body(bench: BenchRun, count: number): Promise<void> {
  if (!gc) throw new BenchError('Run it with node --expose-gc bench/memory.ts: the heap is measured after a full collection.');
  terminalCount = count;
  const base = loopbackUrl(bench.slipway);
  const learners = Array.from({ length: Math.ceil(count / perLearner) }, () => newLearnerId());
  phases.push({ name: 'Slipway started, no terminal', sample: await sample(), peakRss: process.memoryUsage().rss });

  process.stdout.write(`Opening ${count} terminals for ${learners.length} learners… `);
  const open = async (acks: boolean): Promise<Terminal[]> => {
    const opened: Terminal[] = [];
    for (let index = 0; index < count; index++) {
      bench.interrupts.checkpoint();
      const terminal = await connect(base, learners[Math.floor(index / perLearner)]!, { lesson, cols, rows, acks });
      bench.closeAtEnd('a terminal socket', () => terminal.close());
      opened.push(terminal);
      // The first terminal of each learner starts their sandbox: one at a time is kinder to the machine.
      if (index % perLearner === 0) await waitForIdlePrompt(terminal, prompt, 180_000);
    }
    await Promise.all(opened.map((terminal) => waitForIdlePrompt(terminal, prompt, 180_000)));
    return opened;
  };
  const reading = await open(true);
  console.log('ready');
  phases.push({ name: `${count} terminals idle at their prompts`, sample: await sample(), peakRss: process.memoryUsage().rss });

  process.stdout.write(`All ${count} printing for ${floodMs / 1000} s to clients that read… `);
  const peakReading = await flood(reading, bench.interrupts);
  phases.push({ name: `${count} terminals printing, clients reading`, sample: await sample(), peakRss: peakReading });
  await stop(reading);
  console.log('stopped');
  for (const terminal of reading) terminal.close();

  process.stdout.write(`${count} new terminals printing for ${floodMs / 1000} s to clients that never acknowledge… `);
  const stalled = await open(false);
  const peakStalled = await flood(stalled, bench.interrupts);
  phases.push({ name: `${count} terminals printing, clients not reading`, sample: await sample(), peakRss: peakStalled });
  console.log('measured');
  for (const terminal of stalled) terminal.close();
}

function tables(): Table[] {
  const base = phases[0];
  const perTerminal = (phase: Phase | undefined, pick: (sample: Sample) => number) =>
    phase && base && terminalCount > 0 ? mib((pick(phase.sample) - pick(base.sample)) / terminalCount).toFixed(2) : '';
  return [
    {
      title: `Server memory with ${terminalCount} terminals (heap after a full GC; RSS of the whole process, the benchmark's lean clients included)`,
      header: ['phase', 'heap (MiB)', 'RSS (MiB)', 'peak RSS (MiB)', 'heap per terminal (MiB)', 'RSS per terminal (MiB)'],
      rows: phases.map((phase, index) => [
        phase.name,
        mib(phase.sample.heap).toFixed(1),
        mib(phase.sample.rss).toFixed(1),
        mib(phase.peakRss).toFixed(1),
        index === 0 ? '' : perTerminal(phase, (sample) => sample.heap),
        index === 0 ? '' : perTerminal(phase, (sample) => sample.rss),
      ]),
      note: 'Per terminal: the phase minus the first row, over the number of terminals. Each terminal keeps 256 KiB of output for resuming and its screen (a headless xterm.js with 200 lines of scrollback, parsing at most 512 KiB behind).',
    },
  ];
}

runBench({
  options: (argv) => parseCountOption(argv, { name: 'terminals', defaultValue: 20, min: 1, max: 200, usage: 'Usage: node --expose-gc bench/memory.ts [--terminals N]   (default 20)' }),
  body,
  report: tables,
});
