import { describe, expect, it } from 'vitest';
import { withCtrl } from './key-bar.ts';

describe('withCtrl', () => {
  it('gives the control character of a letter, either case, and of @[\\]^_', () => {
    expect(withCtrl('c')).toBe('\x03');
    expect(withCtrl('C')).toBe('\x03');
    expect(withCtrl('d')).toBe('\x04');
    expect(withCtrl('[')).toBe('\x1b');
    expect(withCtrl('@')).toBe('\x00');
  });

  it('leaves other keys and longer input as typed', () => {
    expect(withCtrl('1')).toBe('1');
    expect(withCtrl('ls')).toBe('ls');
    expect(withCtrl('\x1b[A')).toBe('\x1b[A');
  });
});
