/**
 * The read-only terminal a teacher watches a learner's shell through. Binary frames carry the
 * shell's output; text frames one JSON message each. The teacher's page sends nothing: input
 * is refused (said once a second at most) and never reaches the learner's shell.
 */
import { z } from 'zod';

export const watchPath = '/ws/watch';

export const watchMessageSchema = z.discriminatedUnion('type', [
  /** Clear the screen, resize to the learner's terminal, and draw `screen`; output follows. */
  z.object({ type: z.literal('screen'), screen: z.string(), cols: z.number().int(), rows: z.number().int() }),
  /** The learner has no shell open on that node now; the watch goes on and shows one when it opens. */
  z.object({ type: z.literal('waiting') }),
  /** Keystrokes are not passed on. */
  z.object({ type: z.literal('read-only'), message: z.string() }),
]);
export type WatchMessage = z.infer<typeof watchMessageSchema>;

export const watchQuerySchema = z
  .object({
    learner: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected a learner id'),
    node: z.string().regex(/^node[1-9]$/, 'expected node1 ... node9').default('node1'),
  })
  .strict();

export function watchQuery(learner: string, node = 'node1'): string {
  return new URLSearchParams({ learner, node }).toString();
}
