import { describe, expect, it } from 'vitest';
import { CommandFinishedDetector } from './osc133.ts';

const mark = '\x1b]133;D;0\x07';
const b = (text: string) => Buffer.from(text, 'utf8');

/** Feeds the chunks one by one and returns the count reported for each. */
function feed(chunks: string[], detector = new CommandFinishedDetector()): number[] {
  return chunks.map((chunk) => detector.push(b(chunk)));
}

describe('CommandFinishedDetector', () => {
  it('counts nothing in plain output', () => {
    expect(feed(['hello\r\n', 'world $ '])).toEqual([0, 0]);
  });

  it('counts a mark in one chunk', () => {
    expect(feed([`output\r\n${mark}$ `])).toEqual([1]);
  });

  it('counts a chunk that is exactly the mark', () => {
    expect(feed([mark])).toEqual([1]);
  });

  it('counts two marks in one chunk', () => {
    expect(feed([`a${mark}b${mark}c`])).toEqual([2]);
  });

  it('counts back-to-back marks', () => {
    expect(feed([`${mark}${mark}${mark}`])).toEqual([3]);
  });

  it('counts a mark with a non-zero exit status', () => {
    expect(feed(['\x1b]133;D;127\x07'])).toEqual([1]);
  });

  it('counts a mark split across two chunks at every split point', () => {
    const text = `before${mark}after`;
    const start = text.indexOf(mark);
    for (let at = 1; at < text.length; at += 1) {
      const counts = feed([text.slice(0, at), text.slice(at)]);
      expect(counts[0]! + counts[1]!, `split at ${at}`).toBe(1);
      // The mark is counted in the chunk where its "\x1b]133;D" prefix ends.
      const prefixEnd = start + '\x1b]133;D'.length;
      expect(counts, `split at ${at}`).toEqual(at >= prefixEnd ? [1, 0] : [0, 1]);
    }
  });

  it('counts a mark split across three chunks at every pair of split points', () => {
    const text = `x${mark}y`;
    for (let first = 1; first < text.length - 1; first += 1) {
      for (let second = first + 1; second < text.length; second += 1) {
        const counts = feed([text.slice(0, first), text.slice(first, second), text.slice(second)]);
        expect(counts.reduce((sum, n) => sum + n, 0), `splits at ${first}, ${second}`).toBe(1);
      }
    }
  });

  it('counts a mark delivered one byte at a time', () => {
    const counts = feed([...`ab${mark}cd${mark}`]);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(2);
  });

  it('counts two marks split across chunks at every split point', () => {
    const text = `${mark}ls\r\n${mark}`;
    for (let at = 1; at < text.length; at += 1) {
      const counts = feed([text.slice(0, at), text.slice(at)]);
      expect(counts[0]! + counts[1]!, `split at ${at}`).toBe(2);
    }
  });

  it('does not count again a mark that ended the previous chunk', () => {
    const detector = new CommandFinishedDetector();
    expect(detector.push(b(`out${mark}`))).toBe(1);
    expect(detector.push(b('$ '))).toBe(0);
    expect(detector.push(b('ls'))).toBe(0);
  });

  it('does not count again a mark whose prefix was the very end of the previous chunk', () => {
    const detector = new CommandFinishedDetector();
    expect(detector.push(b('out\x1b]133;D'))).toBe(1);
    expect(detector.push(b(';0\x07$ '))).toBe(0);
    expect(detector.push(b(''))).toBe(0);
  });

  it('handles empty chunks', () => {
    const detector = new CommandFinishedDetector();
    expect(detector.push(Buffer.alloc(0))).toBe(0);
    expect(detector.push(b(mark))).toBe(1);
    expect(detector.push(Buffer.alloc(0))).toBe(0);
  });

  it('ignores other OSC 133 marks', () => {
    expect(feed(['\x1b]133;A\x07$ ', '\x1b]133;B\x07', '\x1b]133;C\x07'])).toEqual([0, 0, 0]);
  });

  it('ignores OSC 133;A split across chunks', () => {
    const text = 'x\x1b]133;A\x07y';
    for (let at = 1; at < text.length; at += 1) {
      expect(feed([text.slice(0, at), text.slice(at)]), `split at ${at}`).toEqual([0, 0]);
    }
  });

  it('counts only the D marks in a full prompt cycle', () => {
    expect(feed([`\x1b]133;A\x07$ \x1b]133;B\x07`, `ls\r\n\x1b]133;C\x07file\r\n${mark}\x1b]133;A\x07$ `])).toEqual([0, 1]);
  });
});
