import { describe, expect, it } from 'vitest';
import { OutputRing } from './output-ring.ts';

const text = (buffer: Buffer | undefined) => buffer?.toString('utf8');

describe('OutputRing', () => {
  it('returns exactly the bytes after an offset', () => {
    const ring = new OutputRing(1024);
    ring.push(Buffer.from('hello '));
    ring.push(Buffer.from('world'));
    expect(ring.end).toBe(11);
    expect(text(ring.since(0))).toBe('hello world');
    expect(text(ring.since(6))).toBe('world');
    expect(text(ring.since(11))).toBe('');
  });

  it('refuses offsets it does not hold', () => {
    const ring = new OutputRing(8);
    for (const part of ['aaaa\n', 'bbbb\n', 'cccc\n']) ring.push(Buffer.from(part));
    expect(ring.since(0)).toBeUndefined(); // dropped
    expect(ring.since(ring.end + 1)).toBeUndefined(); // not yet printed
    expect(ring.since(-1)).toBeUndefined();
    expect(ring.since(1.5)).toBeUndefined();
    expect(text(ring.since(10))).toBe('cccc\n');
  });

  it('keeps at least its capacity and drops whole old chunks', () => {
    const ring = new OutputRing(10);
    for (let i = 0; i < 100; i++) ring.push(Buffer.from(`line ${i}\n`));
    const held = ring.replay();
    expect(held.data.length).toBeGreaterThanOrEqual(8);
    expect(held.data.length).toBeLessThan(40);
    expect(text(held.data)).toMatch(/line 99\n$/);
  });

  it('replays from a line start once old output is dropped', () => {
    const ring = new OutputRing(6);
    ring.push(Buffer.from('abc\x1b[1mdef\nghi\n'));
    ring.push(Buffer.from('jkl\n'));
    ring.push(Buffer.from('mno'));
    const { data, offset } = ring.replay();
    expect(text(data)).toBe('jkl\nmno');
    expect(text(ring.since(offset))).toBe('jkl\nmno');
  });

  it('skips a partial first line', () => {
    const ring = new OutputRing(6);
    ring.push(Buffer.from('abc\x1b[1'));
    ring.push(Buffer.from('mdef\nghi'));
    ring.push(Buffer.from('jkl'));
    const { data, offset } = ring.replay();
    expect(text(data)).toBe('ghijkl');
    expect(offset).toBe(ring.end - 6);
  });

  it('replays everything while nothing was dropped', () => {
    const ring = new OutputRing(100);
    ring.push(Buffer.from('partial line'));
    expect(ring.replay()).toEqual({ data: Buffer.from('partial line'), offset: 0 });
  });
});
