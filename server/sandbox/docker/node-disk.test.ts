import { describe, expect, it } from 'vitest';
import { diskHostProblem, mkfsArguments, mountsUnder, safeName, type HostFacts } from './node-disk.ts';

const able: HostFacts = {
  root: true,
  localEngine: true,
  filesystems: 'nodev\tsysfs\nnodev\ttmpfs\n\text4\n\txfs\n',
  loopControl: true,
  tools: { 'mkfs.ext4': true, mount: true, umount: true },
};

describe('diskHostProblem', () => {
  it('finds nothing missing on a host that can do it', () => {
    expect(diskHostProblem(able)).toBeUndefined();
  });

  it('names what is missing and both ways out, in one sentence', () => {
    const cases: Array<[Partial<HostFacts>, RegExp]> = [
      [{ localEngine: false }, /needs the Docker engine on this machine/],
      [{ root: false }, /needs root to mount each sandbox's disk: start Slipway as root/],
      [{ filesystems: 'nodev\ttmpfs\n\txfs\n' }, /needs ext4, which this kernel does not offer/],
      [{ loopControl: false }, /needs loop devices \(\/dev\/loop-control is missing\)/],
      [{ tools: { 'mkfs.ext4': false, mount: true, umount: true } }, /needs mkfs\.ext4: install e2fsprogs/],
    ];
    for (const [facts, message] of cases) {
      const problem = diskHostProblem({ ...able, ...facts });
      expect(problem).toMatch(message);
      expect(problem).toMatch(/or set SLIPWAY_SANDBOX_DISK_MB=0 to run without a disk limit per sandbox\.$/);
      expect(problem!.split('. ').length).toBe(1);
    }
  });

  it('does not take a filesystem whose name only ends in ext4 for ext4', () => {
    expect(diskHostProblem({ ...able, filesystems: 'nodev\tnotext4\n' })).toMatch(/needs ext4/);
  });
});

describe('mountsUnder', () => {
  const mountinfo = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '90 22 7:0 / /var/lib/slipway/sandboxes/t/s1/node1 rw,relatime shared:50 - ext4 /dev/loop0 rw,discard',
    '91 22 7:1 / /var/lib/slipway/sandboxes/t/s1/node10 rw,relatime shared:51 - ext4 /dev/loop1 rw,discard',
    '92 22 7:2 / /var/lib/slipway/sandboxes/t/my\\040dir rw,relatime shared:52 - ext4 /dev/loop2 rw',
    '',
  ].join('\n');

  it('finds the mount at a path and those below it, not its neighbours with a longer name', () => {
    expect(mountsUnder(mountinfo, '/var/lib/slipway/sandboxes/t/s1/node1')).toEqual(['/var/lib/slipway/sandboxes/t/s1/node1']);
    expect(mountsUnder(mountinfo, '/var/lib/slipway/sandboxes/t/s1')).toHaveLength(2);
    expect(mountsUnder(mountinfo, '/var/lib/slipway/sandboxes/t/s2')).toEqual([]);
  });

  it('reads escaped spaces', () => {
    expect(mountsUnder(mountinfo, '/var/lib/slipway/sandboxes/t/my dir')).toEqual(['/var/lib/slipway/sandboxes/t/my dir']);
  });
});

describe('safeName', () => {
  it('takes ids and node names, and nothing that leaves the folder', () => {
    expect(safeName('0a1b2c3d4e5f')).toBe('0a1b2c3d4e5f');
    expect(safeName('test-123-abcdef')).toBe('test-123-abcdef');
    for (const bad of ['', '.', '..', 'a/b', '../x', 'a b', 'x'.repeat(65)]) expect(() => safeName(bad)).toThrow(/not a safe directory name/);
  });
});

describe('mkfsArguments', () => {
  it('makes the same filesystem whatever the size: 4 KiB blocks, nothing reserved, no journal', () => {
    const args = mkfsArguments('/d/node1.img');
    expect(args.at(-1)).toBe('/d/node1.img');
    expect(args.join(' ')).toContain('-b 4096 -i 16384 -m 0 -O ^has_journal');
  });
});
