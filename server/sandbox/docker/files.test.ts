import { describe, expect, it } from 'vitest';
import { checkPath, FileError, isText } from './files.ts';
import { resolvePath } from '../../../site/scripts/editor-panel.ts';

describe('file paths', () => {
  it('are absolute and normalised; a relative, empty or NUL-bearing one is refused', () => {
    expect(checkPath('/home/learner/./app//../Dockerfile')).toBe('/home/learner/Dockerfile');
    expect(checkPath('/../../etc/hosts')).toBe('/etc/hosts');
    for (const bad of ['Dockerfile', '', '/tmp/a\0b', `/${'a'.repeat(5000)}`]) expect(() => checkPath(bad)).toThrow(FileError);
  });

  it("in the page resolve ~ to the learner's home and a relative path against the shell's folder", () => {
    expect(resolvePath('~/first/Dockerfile', '/tmp')).toBe('/home/learner/first/Dockerfile');
    expect(resolvePath('Dockerfile', '/home/learner/first/')).toBe('/home/learner/first/Dockerfile');
    expect(resolvePath('../x', '/home/learner/first')).toBe('/home/learner/x');
    expect(resolvePath(' /etc/docker/daemon.json ', '/home/learner')).toBe('/etc/docker/daemon.json');
  });
});

describe('isText', () => {
  it('takes UTF-8 (Chinese included) and refuses NUL bytes and invalid sequences', () => {
    expect(isText(Buffer.from('FROM busybox\n# 你好\n'))).toBe(true);
    expect(isText(Buffer.from([0x61, 0x00, 0x62]))).toBe(false);
    expect(isText(Buffer.from([0xff, 0xfe, 0x41]))).toBe(false);
  });
});
