import { describe, expect, it } from 'vitest';
import { nodeUidBase, nodeUidSlots, nodeUidStride, nodeUser, pickFreeSlot, uidOfSlot } from './node-users.ts';

describe('node users', () => {
  it('gives each slot a uid above every range a host hands out, 65536 apart, below 2^31', () => {
    expect(uidOfSlot(0)).toBe(0x70000000);
    expect(uidOfSlot(1) - uidOfSlot(0)).toBe(nodeUidStride);
    expect(uidOfSlot(nodeUidSlots - 1) + nodeUidStride - 1).toBeLessThan(2 ** 31);
    expect(nodeUser(3)).toBe(`${nodeUidBase + 3 * 65536}:${nodeUidBase + 3 * 65536}`);
    expect(() => uidOfSlot(nodeUidSlots)).toThrow(RangeError);
    expect(() => uidOfSlot(-1)).toThrow(RangeError);
  });

  it('picks only free slots, and none when all are held', () => {
    const held = new Set([0, 1, 2, 5]);
    for (const draw of [0, 0.3, 0.999999]) {
      const slot = pickFreeSlot(held, () => draw);
      expect(slot).toBeDefined();
      expect(held.has(slot!)).toBe(false);
    }
    expect(pickFreeSlot(held, () => 0)).toBe(3);
    expect(pickFreeSlot(new Set(Array.from({ length: nodeUidSlots }, (_, slot) => slot)))).toBeUndefined();
  });
});
