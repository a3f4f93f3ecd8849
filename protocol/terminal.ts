/**
 * The terminal WebSocket protocol: its messages as schemas, which the server validates what
 * it receives with. The constants and the query builder the page needs are in
 * terminal-wire.ts, without zod, and exported from here too.
 *
 * Binary frames carry terminal bytes: keystrokes from the browser, shell output to it.
 * Text frames carry one JSON control message each, validated with the schemas below.
 */
import { z } from 'zod';
import { serverMessageTypes, terminalLimits } from './terminal-wire.ts';

export * from './terminal-wire.ts';

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
  /** Show the solution of a step (offered after its check failed). */
  z.object({ type: z.literal('solution'), stepId: z.string().min(1).max(100) }),
  /** Build what the lesson needs from earlier lessons (the "Set up" button). */
  z.object({ type: z.literal('setup') }),
  /** A link to one of this node's published ports that someone else (a teacher) may open for a while. */
  z.object({ type: z.literal('share-port'), port: z.number().int().min(1).max(65535) }),
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const errorCodes = [
  'ENGINE_UNAVAILABLE',
  'OUT_OF_CAPACITY',
  'TOO_MANY',
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

/** A port the node's Docker engine publishes, and where the learner opens it through Slipway. */
export const publishedPortSchema = z.object({
  /** The port on the node (8000 in `-p 8000:5000`). */
  port: z.number().int(),
  /** The container's own port (5000). */
  target: z.number().int(),
  /** The inner container publishing it. */
  container: z.string(),
  /** Where to open it: a path on this site that sends the learner's browser on to the proxied port. */
  url: z.string(),
});
export type PublishedPortEntry = z.infer<typeof publishedPortSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  /**
   * Progress while the sandbox starts; `ready` means the shell is attached. `queued`: a
   * workshop's server is full and the learner waits in line, `position` (1 is next).
   */
  z.object({
    type: z.literal('status'),
    phase: z.enum(['queued', 'starting', 'waiting-engine', 'attaching', 'ready']),
    message: z.string(),
    position: z.number().int().positive().optional(),
  }),
  /** A message from the teacher of the learner's workshop (also sent on connect while it is recent). */
  z.object({ type: z.literal('notice'), text: z.string(), at: z.number() }),
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
   * `reset`: clear the screen first, then draw `screen` (the shell's screen as it is, kept on
   * the server, with lines above it) when there is one. `offset`: where in the shell's output
   * the binary frames that follow begin (send it back as `offset` with `resume=<id>` on
   * reconnect to get exactly what was missed).
   */
  z.object({
    type: z.literal('shell'),
    id: z.string(),
    resumed: z.boolean(),
    reset: z.boolean(),
    offset: z.number().int().nonnegative(),
    screen: z.string().optional(),
  }),
  /** A step's solution, asked for by the learner: the commands, typed into `node`'s shell. */
  z.object({ type: z.literal('solution'), stepId: z.string(), node: z.string(), commands: z.array(z.string()) }),
  /** Progress of the lesson's setup; `output` says what went wrong when it failed. */
  z.object({ type: z.literal('setup'), state: z.enum(['running', 'done', 'failed']), output: z.string() }),
  /** The shell ended (the learner typed `exit`); the browser may reconnect for a new one. */
  z.object({ type: z.literal('exit'), code: z.number().int().nullable() }),
  /** The ports this socket's node publishes, sent on connect and whenever they change. */
  z.object({ type: z.literal('ports'), node: z.string(), ports: z.array(publishedPortSchema) }),
  /** A share link for one port (asked for with `share-port`), valid until `expires` (ms since 1970). */
  z.object({ type: z.literal('port-share'), node: z.string(), port: z.number().int(), url: z.string(), expires: z.number() }),
  z.object({ type: z.literal('pong') }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

// The page tells messages apart by the list in terminal-wire.ts: it must name every type.
type Missing = Exclude<ServerMessage['type'], (typeof serverMessageTypes)[number]>;
type Unknown = Exclude<(typeof serverMessageTypes)[number], ServerMessage['type']>;
const serverMessageTypesComplete: [Missing, Unknown] extends [never, never] ? true : never = true;
void serverMessageTypesComplete;

export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

/** Validates `raw`; a failure names the first problem and where it is, after `what`. */
function validate<T>(schema: z.ZodType<T, unknown>, raw: unknown, what: string): ParseResult<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { ok: false, error: `${what}: ${where}${issue?.message ?? 'unknown error'}` };
}

function parseWith<T>(schema: z.ZodType<T>, text: string): ParseResult<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'control frame is not valid JSON' };
  }
  return validate(schema, raw, 'invalid control message');
}

export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(clientMessageSchema, text);
}

export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(serverMessageSchema, text);
}

/** A whole number in decimal digits, as a query parameter carries it. */
const queryInt = (min: number, max: number) =>
  z.string().regex(/^\d{1,16}$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/** The terminal socket's query, built by the page (and tests, benchmarks) and parsed by the server. */
export const terminalQuerySchema = z
  .object({
    /** The lesson's slug (its folder in lessons/). */
    lesson: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a lesson slug'),
    /** The node whose shell this terminal shows. */
    node: z.string().regex(/^node[1-9]$/, 'expected node1 ... node9').default('node1'),
    cols: queryInt(terminalLimits.minCols, terminalLimits.maxCols),
    rows: queryInt(terminalLimits.minRows, terminalLimits.maxRows),
    /** A shell to take over (its id from a `shell` message) after the socket dropped... */
    resume: z.string().regex(/^[0-9a-f-]{36}$/, 'expected a shell id').optional(),
    /** ...and how many bytes of its output the page already has. */
    offset: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();
export type TerminalQuery = z.input<typeof terminalQuerySchema>;
export type ParsedTerminalQuery = z.output<typeof terminalQuerySchema>;

export function parseTerminalQuery(params: URLSearchParams): ParseResult<ParsedTerminalQuery> {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in raw) return { ok: false, error: `invalid terminal query: ${key} is given twice` };
    raw[key] = value;
  }
  return validate(terminalQuerySchema, raw, 'invalid terminal query');
}
