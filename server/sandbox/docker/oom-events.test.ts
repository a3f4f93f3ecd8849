import { describe, expect, it } from 'vitest';
import { parseOomEvent } from './oom-events.ts';

const event = (action: string, attributes: Record<string, string>) => JSON.stringify({ Type: 'container', Action: action, Actor: { ID: 'abc', Attributes: attributes } });
const node = { 'org.slipway.instance': 'class', 'org.slipway.role': 'sandbox', 'org.slipway.session': '0123456789ab', 'org.slipway.node': 'node2' };

describe('parseOomEvent', () => {
  it("finds the session and node of an out-of-memory kill in one of this installation's nodes", () => {
    expect(parseOomEvent(event('oom', node), 'class')).toEqual({ sessionId: '0123456789ab', node: 'node2' });
  });

  it("ignores other events, other installations' nodes, our other containers and lines that are not JSON", () => {
    expect(parseOomEvent(event('die', node), 'class')).toBeUndefined();
    expect(parseOomEvent(event('oom', node), 'other')).toBeUndefined();
    expect(parseOomEvent(event('oom', { ...node, 'org.slipway.role': 'mirror' }), 'class')).toBeUndefined();
    expect(parseOomEvent('{"Action":"oom"', 'class')).toBeUndefined();
  });
});
