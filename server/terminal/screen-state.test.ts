import { describe, expect, it } from 'vitest';
import headless from '@xterm/headless';
import { ScreenState } from './screen-state.ts';

/** What a fresh terminal of this size shows after writing `data`: its lines, trimmed. */
async function shown(data: Buffer, cols = 40, rows = 10): Promise<{ lines: string[]; cursor: [number, number]; alternate: boolean }> {
  const terminal = new headless.Terminal({ cols, rows, allowProposedApi: true });
  await new Promise<void>((resolve) => terminal.write(data, resolve));
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < rows; y++) lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '');
  const result = { lines, cursor: [buffer.cursorX, buffer.cursorY] as [number, number], alternate: buffer.type === 'alternate' };
  terminal.dispose();
  return result;
}

describe('ScreenState', () => {
  it('gives back a full-screen program exactly: its screen, cursor and the alternate buffer', async () => {
    const output = Buffer.from('$ vi notes\r\n\x1b[?1049h\x1b[H\x1b[2Jfirst line\r\n~\r\n~\x1b[10;1H"notes" 1L\x1b[1;6H');
    const screen = new ScreenState(40, 10, () => output);
    screen.push(output);
    const restored = await shown(await screen.snapshot());
    const direct = await shown(output);
    expect(restored).toEqual(direct);
    expect(restored.alternate).toBe(true);
    expect(restored.lines[0]).toBe('first line');
    expect(restored.cursor).toEqual([5, 0]);
  });

  it('keeps lines above the screen, and follows a resize', async () => {
    const screen = new ScreenState(40, 5, () => Buffer.alloc(0));
    for (let i = 1; i <= 30; i++) screen.push(Buffer.from(`line ${i}\r\n`));
    screen.resize(30, 5);
    const snapshot = (await screen.snapshot()).toString();
    expect(snapshot).toContain('line 1\r\n');
    expect(snapshot).toContain('line 30');
  });

  it('stops following a flood and rebuilds the screen from the recent output when asked', async () => {
    const recent = Buffer.from('tail of the flood\r\n$ ');
    const screen = new ScreenState(40, 10, () => recent);
    const flood = Buffer.alloc(64 * 1024, 'y\r\n');
    for (let i = 0; i < 20; i++) screen.push(flood);
    expect(screen.following).toBe(false);
    const restored = await shown(await screen.snapshot());
    expect(restored.lines).toContain('tail of the flood');
    expect(screen.following).toBe(true);
  });

  it('takes CJK text at the widths of the page (Unicode 11)', async () => {
    const screen = new ScreenState(20, 3, () => Buffer.alloc(0));
    screen.push(Buffer.from('文件名.txt|\r\n'));
    const snapshot = await screen.snapshot();
    expect(snapshot.toString()).toContain('文件名.txt|');
  });
});
