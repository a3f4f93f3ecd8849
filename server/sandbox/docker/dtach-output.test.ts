import { describe, expect, it } from 'vitest';
import { DtachOutput } from './dtach-output.ts';

/** Feeds the chunks through a filter and collects what comes out. */
async function filtered(...chunks: string[]): Promise<string> {
  const filter = new DtachOutput();
  const out: Buffer[] = [];
  filter.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => filter.on('end', resolve));
  for (const chunk of chunks) filter.write(Buffer.from(chunk, 'latin1'));
  filter.end();
  await ended;
  return Buffer.concat(out).toString('latin1');
}

describe('DtachOutput', () => {
  it('drops the screen clear a dtach client writes when it attaches, once', async () => {
    expect(await filtered('\x1b[H\x1b[J', 'prompt$ ')).toBe('prompt$ ');
    expect(await filtered('\x1b[H\x1b[Jprompt$ ', '\x1b[H\x1b[J')).toBe('prompt$ \x1b[H\x1b[J');
  });

  it('drops a screen clear split over chunks, and keeps output that only starts like one', async () => {
    expect(await filtered('\x1b[', 'H\x1b', '[Jok')).toBe('ok');
    expect(await filtered('\x1b[', 'Hello')).toBe('\x1b[Hello');
    expect(await filtered('\x1b[')).toBe('\x1b[');
  });

  it('drops the farewell and the terminal reset after it', async () => {
    expect(await filtered('logout\r\n\x1b[999H\r\n[EOF - dtach terminating]\r\n', '\x1b[?25h')).toBe('logout\r\n');
    expect(await filtered('bye\x1b[999H\r\n[got signal 15 - dying]\r\n\x1b[?25h')).toBe('bye');
  });

  it('passes everything else unchanged, including a bottom-line jump of a program', async () => {
    const screen = 'top\x1b[999H\r\nlast line\r\n';
    expect(await filtered('$ ', screen)).toBe(`$ ${screen}`);
  });

  it('says when the client is attached: at its first bytes, or at the end', async () => {
    const filter = new DtachOutput();
    let attached = false;
    void filter.attached.then(() => (attached = true));
    filter.on('data', () => undefined);
    filter.write(Buffer.from('\x1b['));
    await new Promise((resolve) => setImmediate(resolve));
    expect(attached).toBe(false);
    filter.write(Buffer.from('H\x1b[J$ '));
    await new Promise((resolve) => setImmediate(resolve));
    expect(attached).toBe(true);
    const ended = new DtachOutput();
    ended.end();
    await ended.attached;
  });
});
