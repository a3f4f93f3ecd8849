/** A token bucket: `ratePerSecond` on average, bursts up to `burst`. */
export class RateLimit {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.now = now;
    this.#last = now();
  }

  readonly now: () => number;

  /** Whether one more event may happen now (and counts it if so). */
  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
