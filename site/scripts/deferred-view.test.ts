import { describe, expect, it } from 'vitest';
import { deferredTerminalView } from './deferred-view.ts';
import type { TerminalView } from './terminal-view.ts';

/** A stand-in for xterm's view that records what reaches it. */
function recordingView(log: string[]): TerminalView {
  const resize: ((cols: number, rows: number) => void)[] = [];
  return {
    cols: 100,
    rows: 30,
    write: (data, parsed) => {
      log.push(`write ${String(data)}`);
      parsed?.();
    },
    notice: (text) => log.push(`notice ${text}`),
    onInput: () => undefined,
    onResize: (listener) => void resize.push(listener),
    fit: () => log.push('fit'),
    focus: () => log.push('focus'),
    text: () => 'the screen',
    onPrompt: () => undefined,
    onCwd: () => undefined,
    setScreenReader: () => undefined,
    setTabMovesFocus: () => undefined,
  };
}

const host = { getBoundingClientRect: () => ({ width: 840, height: 510 }) } as unknown as HTMLElement;

describe('deferredTerminalView', () => {
  it('estimates a size from the screen, queues everything in order, and tells resize listeners the real size once xterm is there', async () => {
    const log: string[] = [];
    let load!: (factory: (element: HTMLElement) => TerminalView) => void;
    const view = deferredTerminalView(host, new Promise((resolve) => (load = resolve)));
    expect([view.cols, view.rows]).toEqual([100, 30]);
    const sizes: number[][] = [];
    view.onResize((cols, rows) => sizes.push([cols, rows]));
    view.notice('Connecting…');
    let acked = false;
    view.write('output', () => (acked = true));
    view.fit();
    expect(view.text()).toBe('');
    expect(acked).toBe(false);
    load(() => recordingView(log));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(log).toEqual(['notice Connecting…', 'write output', 'fit']);
    expect(acked).toBe(true);
    expect(sizes).toEqual([[100, 30]]);
    expect(view.text()).toBe('the screen');
    view.focus();
    expect(log.at(-1)).toBe('focus');
  });
});
