/** Engine objects of one Slipway instance, found by label (and the mirror's by name). The shared
 * ones (mirror, package caches) count only with includeMirror. */
import type { Docker } from '../../server/sandbox/docker/engine.ts';
import { labelFilter, labelKeys, objectName } from '../../server/sandbox/docker/labels.ts';

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
}

export async function leftovers(docker: Docker, instance: string, options: { includeMirror: boolean; session?: string }): Promise<Leftovers> {
  const filters = labelFilter(instance, options.session ? { [labelKeys.session]: options.session } : {});
  const mirrorRoles = new Set(['mirror', 'mirror-seed', 'cache']);
  const keep = (labels: Record<string, string> | undefined) => options.includeMirror || !mirrorRoles.has(labels?.[labelKeys.role] ?? '');
  const containers = (await docker.listContainers({ all: true, filters })).filter((info) => keep(info.Labels)).map((info) => info.Id);
  const networks = (await docker.listNetworks({ filters })).filter((info) => keep(info.Labels)).map((info) => info.Id);
  const labelled = ((await docker.listVolumes({ filters } as object)).Volumes ?? [])
    .filter((info) => keep(info.Labels ?? undefined))
    .map((info) => info.Name);
  const mirrorVolumes = options.includeMirror && !options.session
    ? ((await docker.listVolumes({ filters: JSON.stringify({ name: [objectName(instance, 'mirror')] }) } as object)).Volumes ?? []).map((info) => info.Name)
    : [];
  return { containers, networks, volumes: [...new Set([...labelled, ...mirrorVolumes])] };
}
