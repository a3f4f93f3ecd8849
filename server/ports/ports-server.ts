/** The ports origin's HTTP server around the port proxy. */
import http from 'node:http';
import type { Logger } from '../log.ts';
import { ownPage } from './pages.ts';
import type { PortProxy } from './port-proxy.ts';

/** The ports origin's HTTP server: one request's or one upgrade's failure never ends the process. */
export function createPortsServer(proxy: PortProxy, log: Logger): http.Server {
  const server = http.createServer((request, response) => {
    request.on('error', (error) => log.info('port request stream failed', { error }));
    response.on('error', (error) => log.info('port response stream failed', { error }));
    try {
      proxy.handle(request, response);
    } catch (error) {
      log.error('port request failed', { error, method: request.method, url: request.url?.slice(0, 200) });
      if (response.headersSent) response.destroy();
      else ownPage(response, 500, 'Internal server error');
    }
  });
  server.on('upgrade', (request, socket, head) => {
    try {
      proxy.upgrade(request, socket, head);
    } catch (error) {
      log.error('port upgrade failed', { error });
      socket.destroy();
    }
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  return server;
}
