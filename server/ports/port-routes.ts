/**
 * Where proxied ports live. On the ports origin, `/p/<session>/<node>/<port>/<the app's path>`:
 * a path per session, node and port, so one reverse proxy and one host name serve them all (see
 * the README, "Ports in the browser"). On Slipway's own origin, `/ports/<session>/<node>/<port>/`
 * is the link the page shows: it checks the learner cookie and sends the browser on with a pass.
 */

export interface PortTarget {
  session: string;
  node: string;
  port: number;
}

export interface ProxiedPath extends PortTarget {
  /** `/p/<session>/<node>/<port>` (no trailing slash): what the app's paths are put under. */
  prefix: string;
  /** The app's own path, from its leading slash; undefined when the URL stops at the port (no slash). */
  rest: string | undefined;
}

const proxied = /^\/p\/([0-9a-f]{12})\/(node[1-9])\/(\d{1,5})(\/.*)?$/;
const opener = /^\/ports\/([0-9a-f]{12})\/(node[1-9])\/(\d{1,5})\/?$/;

function validPort(text: string): number | undefined {
  const port = Number(text);
  return port >= 1 && port <= 65535 && String(port) === text ? port : undefined;
}

export function proxiedPrefix(target: PortTarget): string {
  return `/p/${target.session}/${target.node}/${target.port}`;
}

/** The link the page shows for a port (on Slipway's own origin). */
export function openPortPath(target: PortTarget): string {
  return `/ports/${target.session}/${target.node}/${target.port}/`;
}

export function parseProxiedPath(pathname: string): ProxiedPath | undefined {
  const match = proxied.exec(pathname);
  if (!match) return undefined;
  const [, session = '', node = '', portText = '', rest] = match;
  const port = validPort(portText);
  if (port === undefined) return undefined;
  return { session, node, port, prefix: proxiedPrefix({ session, node, port }), rest };
}

export function parseOpenPortPath(pathname: string): PortTarget | undefined {
  const match = opener.exec(pathname);
  if (!match) return undefined;
  const [, session = '', node = '', portText = ''] = match;
  const port = validPort(portText);
  return port === undefined ? undefined : { session, node, port };
}
