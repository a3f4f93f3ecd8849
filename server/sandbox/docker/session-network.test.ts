import { describe, expect, it } from 'vitest';
import { freeSubnet, parseCidr } from './session-network.ts';

describe('freeSubnet', () => {
  it('takes the first /28 of the pool that nothing uses', () => {
    expect(freeSubnet('10.213.0.0/16', [])).toBe('10.213.0.0/28');
    expect(freeSubnet('10.213.0.0/16', ['10.213.0.0/28', '10.213.0.16/28'])).toBe('10.213.0.32/28');
    expect(freeSubnet('10.213.0.0/16', ['172.17.0.0/16', '10.213.0.0/28'])).toBe('10.213.0.16/28');
  });

  it('steps over larger networks inside the pool, and can skip the first free ones', () => {
    expect(freeSubnet('10.213.0.0/16', ['10.213.0.0/24'])).toBe('10.213.1.0/28');
    expect(freeSubnet('10.213.0.0/16', [], 2)).toBe('10.213.0.32/28');
  });

  it('holds 4,096 sessions in a /16 and then says none is left', () => {
    const used: string[] = [];
    for (let i = 0; i < 256; i++) used.push(`10.213.${i}.0/24`);
    expect(freeSubnet('10.213.0.0/16', used)).toBeUndefined();
    expect(freeSubnet('10.213.0.0/16', used.slice(1))).toBe('10.213.0.0/28');
  });

  it('refuses pools that are not networks', () => {
    expect(() => parseCidr('10.213.0.1/16')).toThrow(/boundary/);
    expect(() => parseCidr('10.213.0.0')).toThrow(/not an IPv4 network/);
    expect(() => parseCidr('300.0.0.0/8')).toThrow(/not an IPv4 address/);
  });
});
