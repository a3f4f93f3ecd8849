/**
 * What the containers shared by every session (the mirror, the package caches) have in common:
 * nodes reach them by name, and each one sits on every session's network at once.
 */

/** A shared container that nodes reach by a name of their own, through their /etc/hosts. */
export interface SessionService {
  containerName: string;
  /** The host name nodes use for it. */
  alias: string;
}

/**
 * Sysctls for a shared container: it must not route packets between the session networks it
 * joins. A new network namespace inherits the host's IPv4 forwarding, which Docker turns on.
 */
export const noForwarding = { 'net.ipv4.ip_forward': '0' };
