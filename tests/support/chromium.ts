/**
 * Debian's Chromium, headless, for the browser tests and the benchmarks. The flags keep it
 * from reaching anything but this machine: no background services, and no host name but
 * localhost resolves.
 */
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

export function launchChromium(options: { handleSignals?: boolean } = {}): Promise<Browser> {
  const handleSignals = options.handleSignals ?? true;
  return chromium.launch({
    executablePath: chromiumPath,
    handleSIGINT: handleSignals,
    handleSIGTERM: handleSignals,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
}
