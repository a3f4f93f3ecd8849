/**
 * Prometheus metrics (prom-client), in a registry of this server's own: what an operator
 * running a workshop watches. Gauges read the session manager when scraped; counters and
 * histograms are fed where things happen (terminal sockets, check runs, sandbox starts, errors).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionManager } from '../sessions/session-manager.ts';

export class Metrics {
  readonly registry = new Registry();
  readonly websockets: Gauge<'kind'>;
  readonly checkRuns: Counter<'trigger' | 'result'>;
  readonly checkSeconds: Histogram<'trigger'>;
  readonly sandboxStartSeconds: Histogram<'source'>;
  readonly poolTakes: Counter<'result'>;
  readonly errors: Counter<'code'>;

  constructor(sessions: SessionManager) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'slipway_process_' });
    new Gauge({ name: 'slipway_sessions', help: 'Sandboxes learners hold.', registers, collect() { this.set(sessions.size); } });
    new Gauge({ name: 'slipway_nodes', help: "Nodes of the sandboxes learners hold.", registers, collect() { this.set(sessions.nodeCount); } });
    new Gauge({ name: 'slipway_pool_ready', help: 'Sandboxes in the warm pool, ready for the next learner.', registers, collect() { this.set(sessions.pooled); } });
    new Gauge({ name: 'slipway_pool_target', help: 'Sandboxes the warm pool is kept at (raised for workshops).', registers, collect() { this.set(sessions.poolTarget); } });
    new Gauge({ name: 'slipway_queue_length', help: 'Workshop learners waiting in line for a sandbox.', registers, collect() { this.set(sessions.waiting); } });
    this.websockets = new Gauge({ name: 'slipway_websocket_connections', help: 'Open WebSocket connections: learners\' terminals, teachers\' watches.', labelNames: ['kind'], registers });
    this.checkRuns = new Counter({ name: 'slipway_check_runs_total', help: 'Lesson check runs, by what started them and how they ended.', labelNames: ['trigger', 'result'], registers });
    this.checkSeconds = new Histogram({
      name: 'slipway_check_run_seconds',
      help: 'How long a lesson check run took (all pending steps of a lesson).',
      labelNames: ['trigger'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.sandboxStartSeconds = new Histogram({
      name: 'slipway_sandbox_start_seconds',
      help: 'From a learner asking for a sandbox to it being ready, by whether the warm pool had one.',
      labelNames: ['source'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 60],
      registers,
    });
    this.poolTakes = new Counter({ name: 'slipway_pool_takes_total', help: 'New learners served by the warm pool (hit) or by a new start (miss).', labelNames: ['result'], registers });
    this.errors = new Counter({ name: 'slipway_errors_total', help: 'Errors a learner was shown, by code.', labelNames: ['code'], registers });
  }

  /** For the session manager: a learner's sandbox became ready. */
  sandboxReady(seconds: number, source: 'pool' | 'new'): void {
    this.sandboxStartSeconds.observe({ source }, seconds);
    this.poolTakes.inc({ result: source === 'pool' ? 'hit' : 'miss' });
  }
}
