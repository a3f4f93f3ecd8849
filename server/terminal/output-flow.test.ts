import { describe, expect, it } from 'vitest';
import { OutputFlow, type FlowTarget } from './output-flow.ts';

/** A socket whose writes complete only when the test says so. */
function fakeSocket() {
  const pending: Array<{ size: number; written: () => void }> = [];
  const state = { paused: false, pauses: 0 };
  const target: FlowTarget = {
    send: (chunk, written) => void pending.push({ size: chunk.length, written }),
    get bufferedAmount() {
      return pending.reduce((sum, item) => sum + item.size, 0);
    },
    pause: () => {
      state.paused = true;
      state.pauses += 1;
    },
    resume: () => {
      state.paused = false;
    },
  };
  const flush = () => {
    for (const item of pending.splice(0)) item.written();
  };
  return { target, state, flush };
}

describe('OutputFlow', () => {
  const limits = { high: 1000, low: 200 };

  it('pauses above the high mark of unacknowledged bytes and resumes below the low one', () => {
    const socket = fakeSocket();
    const flow = new OutputFlow(socket.target, limits);
    flow.send(Buffer.alloc(600));
    socket.flush();
    flow.send(Buffer.alloc(600));
    socket.flush();
    expect(socket.state.paused).toBe(true);
    flow.ack(500);
    expect(socket.state.paused).toBe(true);
    flow.ack(600);
    expect(socket.state.paused).toBe(false);
  });

  it('stays paused for a client that acknowledges everything but reads nothing', () => {
    const socket = fakeSocket();
    const flow = new OutputFlow(socket.target, limits);
    for (let i = 0; i < 5; i++) {
      flow.send(Buffer.alloc(400));
      flow.ack(2 ** 30);
    }
    expect(socket.state.paused).toBe(true);
    expect(socket.target.bufferedAmount).toBe(2000);
    flow.ack(2 ** 30);
    expect(socket.state.paused).toBe(true);
    socket.flush();
    expect(socket.state.paused).toBe(false);
  });

  it('never counts below zero however large the ack', () => {
    const socket = fakeSocket();
    const flow = new OutputFlow(socket.target, limits);
    flow.send(Buffer.alloc(100));
    flow.ack(1e9);
    expect(flow.unacked).toBe(0);
  });
});
