/**
 * The terminal WebSocket protocol, imported by the browser and the server alike.
 *
 * Binary frames carry terminal bytes: keystrokes from the browser, shell output to it.
 * Text frames carry one JSON control message each, validated with the schemas below.
 */
import { z } from 'zod';

/** Terminal sizes outside this range are refused; xterm.js itself stays far inside it. */
export const terminalLimits = { minCols: 2, maxCols: 1000, minRows: 1, maxRows: 500 } as const;

/** Largest text frame the server will parse, and largest binary frame (a paste) it accepts. */
export const maxControlFrameBytes = 4096;
export const maxInputFrameBytes = 64 * 1024;

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().min(terminalLimits.minCols).max(terminalLimits.maxCols),
    rows: z.number().int().min(terminalLimits.minRows).max(terminalLimits.maxRows),
  }),
  /** Bytes of output the browser's terminal has finished parsing since the last ack. */
  z.object({ type: z.literal('ack'), bytes: z.number().int().positive().max(1 << 30) }),
  /** Run the lesson's checks now (the "Check" button). */
  z.object({ type: z.literal('check') }),
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const errorCodes = [
  'ENGINE_UNAVAILABLE',
  'OUT_OF_CAPACITY',
  'SANDBOX_MISSING',
  'SANDBOX_FAILED',
  'BAD_MESSAGE',
  'UNKNOWN_LESSON',
  'INTERNAL',
] as const;
export const errorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const stepResultSchema = z.object({
  stepId: z.string(),
  done: z.boolean(),
  /** What the check printed, trimmed; may explain why the step is not done. */
  output: z.string(),
});
export type StepResult = z.infer<typeof stepResultSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  /** Progress while the sandbox starts; `ready` means the shell is attached. */
  z.object({
    type: z.literal('status'),
    phase: z.enum(['starting', 'waiting-engine', 'attaching', 'ready']),
    message: z.string(),
  }),
  /** Something went wrong. `fatal` errors close the socket; others leave it open. */
  z.object({ type: z.literal('error'), code: errorCodeSchema, message: z.string(), fatal: z.boolean() }),
  /** Results of a check run; `trigger` says whether the learner asked or a command finished. */
  z.object({
    type: z.literal('checks'),
    trigger: z.enum(['connect', 'command', 'button']),
    results: z.array(stepResultSchema),
  }),
  /**
   * Which shell this socket is attached to. `resumed`: an earlier socket's shell, taken over.
   * `reset`: clear the screen first, the replay that follows starts afresh. `offset`: where in
   * the shell's output the binary frames that follow begin (send it back as `offset` with
   * `resume=<id>` on reconnect to get exactly what was missed).
   */
  z.object({
    type: z.literal('shell'),
    id: z.string(),
    resumed: z.boolean(),
    reset: z.boolean(),
    offset: z.number().int().nonnegative(),
  }),
  /** The shell ended (the learner typed `exit`); the browser may reconnect for a new one. */
  z.object({ type: z.literal('exit'), code: z.number().int().nullable() }),
  z.object({ type: z.literal('pong') }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Flow control: the server pauses the shell's output above `high` unacknowledged bytes. */
export const flowControl = { high: 512 * 1024, low: 128 * 1024, ackEvery: 32 * 1024 } as const;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, text: string): ParseResult<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'control frame is not valid JSON' };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: `invalid control message: ${where}${issue?.message ?? 'unknown error'}` };
  }
  return { ok: true, message: parsed.data };
}

export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(clientMessageSchema, text);
}

export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(serverMessageSchema, text);
}

/**
 * The path the terminal socket is served on. Query parameters: `lesson` (lesson id), `cols`
 * and `rows` (initial size), and to take over a shell whose socket dropped, `resume` (its id)
 * and `offset` (bytes of its output already received).
 */
export const terminalPath = '/ws/terminal';
