/**
 * What the engine's host must offer sandboxes, checked before the first learner arrives so
 * that a missing piece is one sentence at start-up, not a sandbox that never starts.
 */
import { stat, statfs } from 'node:fs/promises';
import { SlipwayError } from '../../errors.ts';

export const tunDevice = '/dev/net/tun';

/**
 * A node's rootless network (slirp4netns) opens the TUN device as an unprivileged user, and
 * Docker gives the container the host's device mode. Only checked when the engine is local.
 */
export async function checkTunDevice(dockerHost: string | undefined = process.env.DOCKER_HOST, device = tunDevice): Promise<void> {
  if (dockerHost && !dockerHost.startsWith('unix://')) return;
  const info = await stat(device).catch(() => undefined);
  if (!info?.isCharacterDevice()) {
    throw new SlipwayError('ENGINE_UNAVAILABLE', `${device} is missing: load the tun module (sudo modprobe tun) and start again.`);
  }
  if ((info.mode & 0o666) !== 0o666) {
    throw new SlipwayError(
      'ENGINE_UNAVAILABLE',
      `${device} is not readable and writable by every user, which the sandboxes' network needs: run 'sudo chmod 0666 ${device}' (the mode udev gives it on most distributions) and start again.`,
    );
  }
}

/**
 * Free-space watchdog: a new sandbox is refused while the filesystem holding the engine's data
 * has less than `minFreeBytes` available, so learners filling their sandboxes cannot fill the
 * host's disk through new ones, and those already working keep the room that is left. Only
 * checked where that filesystem is visible (a local engine); elsewhere it reports nothing.
 */
export async function checkFreeDisk(dataRoot: string, minFreeBytes: number): Promise<void> {
  const stats = await statfs(dataRoot).catch(() => undefined);
  if (!stats) return;
  const free = stats.bavail * stats.bsize;
  if (free < minFreeBytes) {
    throw new SlipwayError(
      'OUT_OF_CAPACITY',
      `The server is low on disk space (${Math.round(free / 2 ** 20)} MiB free), so it starts no new sandbox now. Please try again later, or tell the person running it.`,
    );
  }
}
