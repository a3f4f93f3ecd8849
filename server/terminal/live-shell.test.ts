import { randomUUID } from 'node:crypto';
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Shell } from '../sandbox/driver.ts';
import { LiveShell, ShellRegistry, type ShellSink } from './live-shell.ts';

/** A shell whose output the test writes, and that ends when told. */
function fakeShell(): { shell: Shell; print(text: string): void; end(code: number): void; closed: () => boolean } {
  const output = new PassThrough();
  let finish: (code: number | null) => void = () => undefined;
  let closed = false;
  const shell: Shell = {
    stream: Duplex.from({ readable: output, writable: new PassThrough() }),
    resize: async () => undefined,
    close: async () => {
      closed = true;
      finish(129);
    },
    exited: new Promise((resolve) => {
      finish = resolve;
    }),
  };
  return { shell, print: (text) => output.write(text), end: (code) => finish(code), closed: () => closed };
}

const owner = { learnerId: 'learner-a', sessionId: 'session-1', node: 'node1' };
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

function collector(): ShellSink & { text: string; exitCode: number | null | undefined } {
  const sink = {
    text: '',
    exitCode: undefined as number | null | undefined,
    output: (chunk: Buffer) => {
      sink.text += chunk.toString();
    },
    exited: (code: number | null) => {
      sink.exitCode = code;
    },
  };
  return sink;
}

describe('LiveShell', () => {
  it('sends output to the attached sink and keeps it for replay', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    const sink = collector();
    live.attach(sink);
    fake.print('one\n');
    await tick();
    expect(sink.text).toBe('one\n');
    expect(live.ring.since(0)?.toString()).toBe('one\n');
  });

  it('ends the shell when nobody takes it within the grace period', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    live.attach(collector());
    let expired = false;
    live.detach(20, () => {
      expired = true;
      void live.close();
    });
    expect(live.attached).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(expired).toBe(true);
    expect(fake.closed()).toBe(true);
  });

  it('keeps the shell when it is taken back in time', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    let expired = false;
    live.detach(30, () => {
      expired = true;
    });
    live.attach(collector());
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(expired).toBe(false);
  });

  it('tells the sink when the shell exits', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    const sink = collector();
    live.attach(sink);
    fake.end(3);
    await tick();
    expect(sink.exitCode).toBe(3);
    expect(live.running).toBe(false);
  });
});

describe('ShellRegistry', () => {
  it('hands a detached shell only to its owner', () => {
    const registry = new ShellRegistry();
    const live = new LiveShell(fakeShell().shell, owner, randomUUID(), { cols: 80, rows: 24 });
    registry.add(live);
    live.detach(60_000, () => undefined);
    expect(registry.take(live.id, { ...owner, learnerId: 'learner-b' })).toBeUndefined();
    expect(registry.take(live.id, { ...owner, sessionId: 'session-2' })).toBeUndefined();
    expect(registry.take(live.id, { ...owner, node: 'node2' })).toBeUndefined();
    expect(registry.take('no-such-shell', owner)).toBeUndefined();
    expect(registry.take(live.id, owner)).toBe(live);
    void live.close();
  });

  it('does not hand out a shell a socket still holds, or one that ended', async () => {
    const registry = new ShellRegistry();
    const held = new LiveShell(fakeShell().shell, owner, randomUUID(), { cols: 80, rows: 24 });
    held.attach(collector());
    registry.add(held);
    expect(registry.take(held.id, owner)).toBeUndefined();

    const fake = fakeShell();
    const ended = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    registry.add(ended);
    ended.detach(60_000, () => undefined);
    fake.end(0);
    await tick();
    expect(registry.take(ended.id, owner)).toBeUndefined();
  });
});

describe('LiveShell.replayFor', () => {
  it('gives exactly what a page with an offset lacks, or the screen afresh', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 80, rows: 24 });
    fake.print('hello ');
    fake.print('world');
    await tick();
    expect(await live.replayFor(6)).toEqual({ data: Buffer.from('world'), offset: 6, reset: false });
    expect(await live.replayFor(11)).toEqual({ data: Buffer.alloc(0), offset: 11, reset: false });
    // An offset the shell never reached, or none at all: the screen as it is, from the end on.
    expect(await live.replayFor(999)).toMatchObject({ reset: true, offset: 11, screen: 'hello world' });
    expect(await live.replayFor(undefined)).toMatchObject({ reset: true, offset: 11, screen: 'hello world', data: Buffer.alloc(0) });
  });

  it('gives a reloaded page a full-screen program as it is, not the bytes that drew it', async () => {
    const fake = fakeShell();
    const live = new LiveShell(fake.shell, owner, randomUUID(), { cols: 20, rows: 4 });
    fake.print('$ top\r\n\x1b[?1049h\x1b[H\x1b[2Jtasks: 1\x1b[H\x1b[2Jtasks: 2');
    await tick();
    const replay = await live.replayFor(undefined);
    expect(replay.screen).toContain('\x1b[?1049h');
    expect(replay.screen).toContain('tasks: 2');
    expect(replay.screen).not.toContain('tasks: 1');
  });
});
