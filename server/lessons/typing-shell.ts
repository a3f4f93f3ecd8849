/** Typing into a real shell in a sandbox, as a learner would, and waiting for each prompt. */
import type { Shell } from '../sandbox/driver.ts';
import { CommandFinishedDetector } from '../terminal/osc133.ts';

export interface TypingShell {
  /** Types a command and Enter; resolves when the next prompt appears. Returns what was printed. */
  type(command: string, timeoutMs?: number): Promise<string>;
  output(): string;
}

export async function typingShell(shell: Shell): Promise<TypingShell> {
  const detector = new CommandFinishedDetector();
  let output = '';
  let marks = 0;
  const waiters: Array<() => void> = [];
  shell.stream.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    marks += detector.push(chunk);
    for (const wake of waiters.splice(0)) wake();
  });
  const waitForMarks = (target: number, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no prompt within ${timeoutMs} ms; output so far:\n${output.slice(-2000)}`)), timeoutMs);
      const check = () => {
        if (marks >= target) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  await waitForMarks(1, 15000);
  return {
    async type(command, timeoutMs = 60000) {
      const before = output.length;
      const target = marks + 1;
      // A YAML block (`|`) ends in a newline: typing it would add an empty command, and its
      // prompt would be taken for this one's.
      shell.stream.write(`${command.replace(/\n+$/, '')}\n`);
      await waitForMarks(target, timeoutMs);
      return output.slice(before);
    },
    output: () => output,
  };
}
