import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TerminalInput } from './terminal-input.ts';

function socket() {
  const state = { paused: false };
  return { state, pausable: { pause: () => void (state.paused = true), resume: () => void (state.paused = false) } };
}

/** A shell's stdin that takes `highWaterMark` bytes and then reads only when told. */
function slowStdin(highWaterMark = 100) {
  const received: string[] = [];
  let release: (() => void) | undefined;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk.toString());
      release = callback;
    },
  });
  return { stream, received, read: () => release?.() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TerminalInput', () => {
  it('holds input until the shell is attached, then writes it in order after the first resize', async () => {
    const { pausable } = socket();
    const input = new TerminalInput(pausable);
    const stdin = slowStdin(1e6);
    const events: string[] = [];
    input.write(Buffer.from('a'));
    input.write(Buffer.from('b'));
    input.attach({ stream: stdin.stream, resize: async (cols, rows) => void events.push(`resize ${cols}x${rows}`) }, { cols: 80, rows: 24 });
    await sleep(5);
    stdin.read();
    await sleep(5);
    expect(events).toEqual(['resize 80x24']);
    expect(stdin.received.join('')).toBe('ab');
  });

  it('pauses the socket while the shell does not read, and resumes it on drain', async () => {
    const { pausable, state } = socket();
    const input = new TerminalInput(pausable);
    const stdin = slowStdin(10);
    input.attach({ stream: stdin.stream, resize: async () => undefined }, { cols: 80, rows: 24 });
    await sleep(5);
    input.write(Buffer.alloc(64));
    expect(state.paused).toBe(true);
    stdin.read();
    await sleep(5);
    expect(state.paused).toBe(false);
  });

  it('pauses the socket when too much waits, and bounds what it holds', () => {
    const { pausable, state } = socket();
    const input = new TerminalInput(pausable, { limit: 1000 });
    for (let i = 0; i < 20; i++) input.write(Buffer.alloc(100));
    expect(state.paused).toBe(true);
    // A client that keeps sending despite the pause cannot go on for long (TCP stops it); here
    // the count shows nothing was dropped and nothing was written early.
    expect(input.queuedBytes).toBe(2000);
  });

  it('runs one resize at a time and only the latest of those that waited', async () => {
    const { pausable } = socket();
    const input = new TerminalInput(pausable);
    const sizes: string[] = [];
    let inFlight = 0;
    let most = 0;
    const resize = async (cols: number, rows: number) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(10);
      sizes.push(`${cols}x${rows}`);
      inFlight -= 1;
    };
    input.attach({ stream: slowStdin(1e6).stream, resize }, { cols: 80, rows: 24 });
    for (let i = 0; i < 1000; i++) input.resize(100 + (i % 50), 30);
    input.resize(120, 40);
    await sleep(60);
    expect(most).toBe(1);
    expect(sizes).toEqual(['80x24', '120x40']);
  });
});
