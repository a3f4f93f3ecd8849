/**
 * Labels on everything Slipway creates in the engine, so that it can be found and removed
 * (by a session's end, by start-up after a crash, by the test suite's teardown).
 */
export const labelKeys = {
  managed: 'org.slipway.managed',
  instance: 'org.slipway.instance',
  session: 'org.slipway.session',
  learner: 'org.slipway.learner',
  node: 'org.slipway.node',
  role: 'org.slipway.role',
  contentHash: 'org.slipway.content-hash',
  /** On the volume that records which learner a pooled sandbox was given to (driver.claim). */
  claim: 'org.slipway.claim',
  /** The host uid slot a node runs in (node-users.ts); looked at across instances. */
  uidSlot: 'org.slipway.uid-slot',
} as const;

export type Role = 'sandbox' | 'mirror' | 'mirror-seed' | 'cache' | 'helper';

export function baseLabels(instance: string, role: Role): Record<string, string> {
  return { [labelKeys.managed]: 'true', [labelKeys.instance]: instance, [labelKeys.role]: role };
}

/** A filter for the engine's list endpoints: all of this instance's objects, optionally narrowed. */
export function labelFilter(instance: string, extra: Record<string, string> = {}): { label: string[] } {
  const pairs = { [labelKeys.instance]: instance, ...extra };
  return { label: Object.entries(pairs).map(([key, value]) => `${key}=${value}`) };
}

/** Names of engine objects: prefixed, so an operator can tell them apart at a glance. */
export function objectName(instance: string, ...parts: string[]): string {
  return ['slipway', instance, ...parts].join('-');
}
