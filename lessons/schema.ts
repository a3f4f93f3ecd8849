/**
 * A lesson is a folder in lessons/: `lesson.yaml` holds its machine part once (nodes, steps,
 * checks, solutions, setup), and one MDX file per language (`zh.mdx`, `en.mdx`) holds the
 * words: title, description, each step's title and hint in frontmatter, and the text.
 * lessons/course.ts loads and cross-checks them; the site build and the server both use it,
 * so a broken lesson fails the build naming the file and the field.
 */
import { z } from 'zod';

export const languages = ['zh', 'en'] as const;
export const languageSchema = z.enum(languages);
export type Language = z.infer<typeof languageSchema>;

export const nodeNameSchema = z
  .string()
  .regex(/^node[1-9]$/, 'a node is called node1 ... node9')
  .describe('A sandbox node of the learner session, node1 to node9.');

const slugPattern = /^[a-z0-9][a-z0-9-]*$/;

/** One exercise, as the machine sees it: where and how it is checked, and how it is solved. */
export const stepSpecSchema = z
  .object({
    id: z
      .string()
      .regex(slugPattern, 'use lower-case letters, digits and dashes')
      .describe('Stable identifier of the step, unique within the lesson; progress is stored under it.'),
    node: nodeNameSchema.default('node1').describe('The node the check runs in, and whose shell the solution is typed into.'),
    check: z
      .string()
      .min(1)
      .describe(
        "Shell command run with `sh -c` inside the node, outside the learner's shell. Exit status 0 means the step " +
          'is done; what it prints (stdout and stderr) is shown to the learner when it fails, so say what was seen.',
      ),
    history: z
      .boolean()
      .default(false)
      .describe(
        'The check reads the shell history because the step leaves nothing else behind (listing things). ' +
          'Only such steps may; the page says that this step trusts what was typed.',
      ),
    solution: z
      .array(z.string().min(1))
      .min(1)
      .describe('Commands that complete the step, typed one after another into a shell on `node`. CI runs them.'),
  })
  .strict();
export type StepSpec = z.infer<typeof stepSpecSchema>;

/** Commands that build what a lesson needs from earlier ones, run by a button in the page. */
export const setupSpecSchema = z
  .object({
    node: nodeNameSchema.default('node1').describe('Node the commands run in.'),
    run: z.string().min(1).describe('Shell command (sh -c) that builds the state; it must be safe to run twice.'),
  })
  .strict();
export type SetupSpec = z.infer<typeof setupSpecSchema>;

export const lessonSpecSchema = z
  .object({
    order: z.number().int().nonnegative().describe('Position in the course (ascending).'),
    nodes: z
      .array(nodeNameSchema)
      .min(1)
      .default(['node1'])
      .describe('Nodes the lesson needs, node1 first; each gets a terminal tab and starts when the lesson opens.')
      .refine((nodes) => new Set(nodes).size === nodes.length, { message: 'a node is listed twice' }),
    requires: z
      .array(z.string().regex(slugPattern))
      .default([])
      .describe('Lessons whose results this one builds on (their slugs); the page links to them.'),
    setup: z
      .array(setupSpecSchema)
      .default([])
      .describe("What the 'Set up' button runs to build the requirements in the learner's sandbox."),
    setupTimeoutSeconds: z.number().int().min(1).max(600).default(120).describe('Longest the setup may run.'),
    steps: z
      .array(stepSpecSchema)
      .min(1)
      .describe('The exercises, in order; each is checked automatically.')
      .refine((steps) => new Set(steps.map((step) => step.id)).size === steps.length, {
        message: 'step ids must be unique within a lesson',
      }),
  })
  .strict()
  .superRefine((lesson, context) => {
    lesson.steps.forEach((step, index) => {
      if (!lesson.nodes.includes(step.node)) {
        context.addIssue({ code: 'custom', path: ['steps', index, 'node'], message: `${step.node} is not in the lesson's nodes` });
      }
    });
    lesson.setup.forEach((setup, index) => {
      if (!lesson.nodes.includes(setup.node)) {
        context.addIssue({ code: 'custom', path: ['setup', index, 'node'], message: `${setup.node} is not in the lesson's nodes` });
      }
    });
  });
export type LessonSpec = z.infer<typeof lessonSpecSchema>;

/** The words of a lesson in one language: the frontmatter of `<lang>.mdx`. */
export const lessonTextSchema = z
  .object({
    title: z.string().min(1).describe('Lesson title, shown in the index and as the page heading.'),
    description: z.string().min(1).describe('One sentence for the course index.'),
    setup: z.string().min(1).optional().describe("What the 'Set up' button builds, when lesson.yaml has a setup."),
    steps: z
      .record(
        z.string(),
        z
          .object({
            title: z.string().min(1).describe('What the learner is asked to do, in one short sentence.'),
            hint: z.string().min(1).describe('Shown when the check fails: a nudge, not the answer.'),
          })
          .strict(),
      )
      .describe("Each step's title and hint, by the step's id in lesson.yaml."),
  })
  .strict();
export type LessonText = z.infer<typeof lessonTextSchema>;

/** A lesson as one language's page shows it: the machine part joined with that language's words. */
export interface LessonPage {
  slug: string;
  lang: Language;
  spec: LessonSpec;
  text: LessonText;
  steps: Array<{ id: string; node: string; history: boolean; title: string; hint: string }>;
}

/** The course as the server needs it: every lesson's machine part, by slug. */
export type Course = Record<string, LessonSpec>;
