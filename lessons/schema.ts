/**
 * The frontmatter every lesson must have. Astro validates each MDX file in lessons/ against
 * this schema at build time (site/content.config.ts), so a malformed lesson fails the build
 * with the file and the field named; the server reads the validated result from the build.
 */
import { z } from 'zod';

export const languages = ['zh', 'en'] as const;
export const languageSchema = z.enum(languages);
export type Language = z.infer<typeof languageSchema>;

const nodeNameSchema = z
  .string()
  .regex(/^node[1-9]$/, 'a node is called node1 ... node9')
  .describe('A sandbox node of the learner session, node1 to node9.');

export const stepSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes')
      .describe('Stable identifier of the step, unique within the lesson; progress is stored under it.'),
    title: z.string().min(1).describe('What the learner is asked to do, in one short sentence.'),
    node: nodeNameSchema.default('node1').describe('The node the check runs in.'),
    check: z
      .string()
      .min(1)
      .describe(
        'Shell command run with `sh -c` inside the node, as root, outside the learner\'s shell. ' +
          'Exit status 0 means the step is done; what it prints may tell the learner why not.',
      ),
    hint: z.string().min(1).describe('Shown when the check fails: a nudge, not the answer.'),
    solution: z
      .array(z.string().min(1))
      .min(1)
      .describe('Commands that complete the step, typed into a fresh shell one after another. CI runs them.'),
  })
  .strict();
export type Step = z.infer<typeof stepSchema>;

export const lessonSchema = z
  .object({
    title: z.string().min(1).describe('Lesson title, shown in the index and as the page heading.'),
    description: z.string().min(1).describe('One sentence for the lesson index.'),
    order: z.number().int().nonnegative().describe('Position in the lesson index (ascending).'),
    nodes: z
      .array(nodeNameSchema)
      .min(1)
      .default(['node1'])
      .describe('Nodes the lesson needs; the terminal opens a shell in the first.'),
    steps: z
      .array(stepSchema)
      .min(1)
      .describe('The exercises, in order; each is checked automatically.')
      .refine((steps) => new Set(steps.map((step) => step.id)).size === steps.length, {
        message: 'step ids must be unique within a lesson',
      }),
  })
  .strict();
export type Lesson = z.infer<typeof lessonSchema>;

/** What the build publishes for the server: the checks of every lesson, by lesson id. */
export const lessonCatalogSchema = z.record(
  z.string(),
  z.object({ title: z.string(), nodes: z.array(z.string()), steps: z.array(stepSchema) }),
);
export type LessonCatalog = z.infer<typeof lessonCatalogSchema>;
