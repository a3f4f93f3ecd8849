/**
 * What the engine's host must offer sandboxes, checked before the first learner arrives so
 * that a missing piece is one sentence at start-up, not a sandbox that never starts.
 */
import { stat } from 'node:fs/promises';
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
