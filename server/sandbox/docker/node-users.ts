/**
 * Every node runs as a host uid of its own. When all nodes ran as uid 1000 (an account on many
 * hosts) with one shared subordinate range, per-user kernel limits were shared too: one
 * learner used up uid 1000's inotify instances and another learner's `tail -f` failed.
 *
 * The sandbox image lists 1024 users (images/Dockerfile): slot k is uid 0x70000000 + k * 65536,
 * named learner<k>, whose 65535 subordinate ids follow it. systemd gives out container ranges
 * only below 0x70000000 and accounts far below that, so none of these is anyone on the host.
 * A slot is held by the node container that carries it in its label, across every Slipway
 * instance on the engine, and is free again when that container is removed.
 */
import { SlipwayError } from '../../errors.ts';
import { labelKeys } from './labels.ts';
import type { Docker } from './engine.ts';

export const nodeUidBase = 0x70000000;
export const nodeUidStride = 65536;
/** As many as the image lists; keep the two in step. */
export const nodeUidSlots = 1024;

export function uidOfSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= nodeUidSlots) throw new RangeError(`no uid slot ${slot}`);
  return nodeUidBase + slot * nodeUidStride;
}

/** The container user ("uid:gid") of the node in `slot`. */
export function nodeUser(slot: number): string {
  const uid = uidOfSlot(slot);
  return `${uid}:${uid}`;
}

/** A free slot chosen at random (so concurrent starts rarely collide), or undefined when all are held. */
export function pickFreeSlot(held: ReadonlySet<number>, random: () => number = Math.random): number | undefined {
  const free = nodeUidSlots - held.size;
  if (free <= 0) return undefined;
  let skip = Math.floor(random() * free);
  for (let slot = 0; slot < nodeUidSlots; slot++) {
    if (held.has(slot)) continue;
    if (skip-- === 0) return slot;
  }
  return undefined;
}

/** Slots held by node containers on the engine, whatever their instance. */
export async function heldSlots(docker: Docker): Promise<Map<number, string[]>> {
  const containers = await docker.listContainers({ all: true, filters: { label: [labelKeys.uidSlot] } });
  const held = new Map<number, string[]>();
  for (const info of containers) {
    const slot = Number(info.Labels[labelKeys.uidSlot]);
    if (Number.isInteger(slot)) held.set(slot, [...(held.get(slot) ?? []), info.Id].sort());
  }
  return held;
}

/**
 * Creates a node container in a free slot: `create` gets the slot and makes the container
 * (labelled with it). The engine has no lock to take, so after creating, the container looks
 * for another holder of its slot; of two, the container whose id sorts first keeps it and the
 * other is removed and tries another slot.
 */
export async function createInFreeSlot<T extends { id: string; remove: (options: { force: boolean; v: boolean }) => Promise<unknown> }>(
  docker: Docker,
  create: (slot: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const slot = pickFreeSlot(new Set((await heldSlots(docker)).keys()));
    if (slot === undefined) {
      throw new SlipwayError('OUT_OF_CAPACITY', `This server runs as many sandbox nodes as it can give their own users (${nodeUidSlots}). Please try again later.`);
    }
    const container = await create(slot);
    const holders = (await heldSlots(docker)).get(slot) ?? [];
    if (holders[0] === container.id) return container;
    await container.remove({ force: true, v: false });
  }
  throw new SlipwayError('SANDBOX_FAILED', 'Your sandbox could not be given a user of its own (too many starting at once). Please try again.');
}
