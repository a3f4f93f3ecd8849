import { describe, expect, it } from 'vitest';
import { parseClientMessage, parseServerMessage, readServerMessage, serverMessageTypes, terminalLimits, type ServerMessage } from './terminal.ts';
import { parseTerminalQuery, terminalQuery } from './terminal.ts';

describe('parseClientMessage', () => {
  it('accepts a valid resize', () => {
    expect(parseClientMessage('{"type":"resize","cols":80,"rows":24}')).toEqual({
      ok: true,
      message: { type: 'resize', cols: 80, rows: 24 },
    });
  });

  it('accepts resize values at the limits', () => {
    const low = { type: 'resize', cols: terminalLimits.minCols, rows: terminalLimits.minRows };
    const high = { type: 'resize', cols: terminalLimits.maxCols, rows: terminalLimits.maxRows };
    expect(parseClientMessage(JSON.stringify(low))).toEqual({ ok: true, message: low });
    expect(parseClientMessage(JSON.stringify(high))).toEqual({ ok: true, message: high });
  });

  it('accepts a valid ack', () => {
    expect(parseClientMessage('{"type":"ack","bytes":32768}')).toEqual({ ok: true, message: { type: 'ack', bytes: 32768 } });
  });

  it('accepts check and ping', () => {
    expect(parseClientMessage('{"type":"check"}')).toEqual({ ok: true, message: { type: 'check' } });
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
  });

  it('rejects text that is not JSON', () => {
    const result = parseClientMessage('{type: resize');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/not valid JSON/);
  });

  it('rejects an empty frame', () => {
    expect(parseClientMessage('').ok).toBe(false);
  });

  it('rejects JSON that is not an object', () => {
    expect(parseClientMessage('42').ok).toBe(false);
    expect(parseClientMessage('null').ok).toBe(false);
    expect(parseClientMessage('[]').ok).toBe(false);
  });

  it('rejects an unknown type', () => {
    const result = parseClientMessage('{"type":"input","data":"ls"}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/^invalid control message/);
  });

  it('rejects a message without a type', () => {
    expect(parseClientMessage('{"cols":80,"rows":24}').ok).toBe(false);
  });

  it('rejects a resize with a missing field and names it', () => {
    const result = parseClientMessage('{"type":"resize","cols":80}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('rows');
  });

  it('rejects an ack without bytes and names the field', () => {
    const result = parseClientMessage('{"type":"ack"}');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('bytes');
  });

  const badResizes: Array<[string, unknown, unknown, string]> = [
    ['cols 0', 0, 24, 'cols'],
    ['cols 1 (below minimum)', 1, 24, 'cols'],
    ['cols 100000', 100000, 24, 'cols'],
    ['cols 1001', 1001, 24, 'cols'],
    ['rows -1', 80, -1, 'rows'],
    ['rows 0', 80, 0, 'rows'],
    ['rows 501', 80, 501, 'rows'],
    ['non-integer cols 80.5', 80.5, 24, 'cols'],
    ['non-integer rows 24.25', 80, 24.25, 'rows'],
    ['string cols "80"', '80', 24, 'cols'],
    ['string rows "24"', 80, '24', 'rows'],
    ['null cols', null, 24, 'cols'],
    ['null rows', 80, null, 'rows'],
  ];
  for (const [name, cols, rows, field] of badResizes) {
    it(`rejects a resize with ${name} and names ${field}`, () => {
      const result = parseClientMessage(JSON.stringify({ type: 'resize', cols, rows }));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toContain(field);
    });
  }

  it('rejects a huge ack', () => {
    const result = parseClientMessage(JSON.stringify({ type: 'ack', bytes: 2 ** 31 }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('bytes');
  });

  it('accepts the largest allowed ack and rejects one byte more', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'ack', bytes: 1 << 30 })).ok).toBe(true);
    expect(parseClientMessage(JSON.stringify({ type: 'ack', bytes: (1 << 30) + 1 })).ok).toBe(false);
  });

  it('rejects a zero, negative or fractional ack', () => {
    for (const bytes of [0, -5, 1.5, '100', null]) {
      const result = parseClientMessage(JSON.stringify({ type: 'ack', bytes }));
      expect(result.ok, `bytes=${JSON.stringify(bytes)}`).toBe(false);
    }
  });
});

describe('parseServerMessage', () => {
  const messages: ServerMessage[] = [
    { type: 'status', phase: 'starting', message: 'Creating your private network…' },
    { type: 'status', phase: 'waiting-engine', message: 'Waiting for Docker' },
    { type: 'status', phase: 'attaching', message: 'Opening a shell' },
    { type: 'status', phase: 'ready', message: '' },
    { type: 'error', code: 'OUT_OF_CAPACITY', message: 'All sandboxes are in use.', fatal: true },
    { type: 'error', code: 'BAD_MESSAGE', message: 'invalid control message', fatal: false },
    {
      type: 'checks',
      trigger: 'command',
      results: [
        { stepId: 'run-hello-world', done: true, output: '' },
        { stepId: 'list-images', done: false, output: 'not yet' },
      ],
    },
    { type: 'checks', trigger: 'connect', results: [] },
    { type: 'checks', trigger: 'button', results: [{ stepId: 'a', done: false, output: '中文输出' }] },
    { type: 'exit', code: 0 },
    { type: 'exit', code: 130 },
    { type: 'exit', code: null },
    { type: 'pong' },
  ];
  for (const message of messages) {
    it(`round-trips ${JSON.stringify(message)}`, () => {
      expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message });
    });
  }

  it('rejects an unknown error code', () => {
    const result = parseServerMessage(JSON.stringify({ type: 'error', code: 'NOPE', message: 'x', fatal: true }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('code');
  });

  it('rejects an unknown status phase', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'status', phase: 'booting', message: '' })).ok).toBe(false);
  });

  it('rejects a non-integer exit code', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'exit', code: 1.5 })).ok).toBe(false);
  });

  it('rejects non-JSON', () => {
    expect(parseServerMessage('pong')).toEqual({ ok: false, error: 'control frame is not valid JSON' });
  });

  it('does not accept client messages', () => {
    expect(parseServerMessage('{"type":"ping"}').ok).toBe(false);
  });
});

describe('terminal query', () => {
  it('parses what the builder writes', () => {
    const text = terminalQuery({ lesson: 'private-registry', node: 'node2', cols: 120, rows: 40, resume: '0f8fad5b-d9cb-469f-a165-70867728950e', offset: 4096 });
    expect(parseTerminalQuery(new URLSearchParams(text))).toEqual({
      ok: true,
      message: { lesson: 'private-registry', node: 'node2', cols: 120, rows: 40, resume: '0f8fad5b-d9cb-469f-a165-70867728950e', offset: 4096 },
    });
  });

  it('defaults the node and leaves out resume without a shell', () => {
    const parsed = parseTerminalQuery(new URLSearchParams(terminalQuery({ lesson: 'hello-world', cols: 80, rows: 24 })));
    expect(parsed).toEqual({ ok: true, message: { lesson: 'hello-world', node: 'node1', cols: 80, rows: 24 } });
  });

  it('refuses sizes out of range, numbers in other notations and unknown parameters', () => {
    for (const query of ['lesson=a&cols=0&rows=24', 'lesson=a&cols=8e1&rows=24', 'lesson=a&cols=80&rows=24&x=1', 'lesson=a&cols=80', 'lesson=A&cols=80&rows=24']) {
      expect(parseTerminalQuery(new URLSearchParams(query)).ok, query).toBe(false);
    }
  });
});

describe('the page reading server messages (without the schemas)', () => {
  const examples: ServerMessage[] = [
    { type: 'status', phase: 'queued', message: 'Waiting', position: 3 },
    { type: 'notice', text: '休息十分钟', at: 1 },
    { type: 'error', code: 'TOO_MANY', message: 'Too many', fatal: true },
    { type: 'checks', trigger: 'command', results: [{ stepId: 'a', done: true, output: '' }] },
    { type: 'shell', id: 'x', resumed: false, reset: false, offset: 0 },
    { type: 'solution', stepId: 'a', node: 'node1', commands: ['ls'] },
    { type: 'setup', state: 'done', output: '' },
    { type: 'exit', code: null },
    { type: 'ports', node: 'node1', ports: [] },
    { type: 'port-share', node: 'node1', port: 80, url: '/p', expires: 1 },
    { type: 'pong' },
  ];

  it('reads every message the schemas accept, as the schemas read it', () => {
    expect(examples.map((message) => message.type).sort()).toEqual([...serverMessageTypes].sort());
    for (const message of examples) {
      const text = JSON.stringify(message);
      expect(parseServerMessage(text)).toEqual({ ok: true, message });
      expect(readServerMessage(text)).toEqual(message);
    }
  });

  it('ignores text that is not JSON, not an object, or of an unknown type', () => {
    for (const text of ['pong', '', 'null', '"shell"', '[]', '{}', '{"type":"ping"}', '{"type":7}', '{"type":"__proto__"}']) {
      expect(readServerMessage(text), text).toBeUndefined();
    }
  });
});
