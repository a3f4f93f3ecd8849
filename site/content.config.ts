import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { lessonTextSchema } from '../lessons/schema.ts';

/**
 * The words of each lesson: lessons/<slug>/<lang>.mdx, with ids "<lang>/<slug>". The machine
 * part (lesson.yaml) is read and joined with them by site/lessons.ts.
 */
export const collections = {
  lessons: defineCollection({
    // SLIPWAY_LESSONS_DIR lets the tests build a lesson folder of their own.
    loader: glob({
      pattern: '*/{zh,en}.mdx',
      base: process.env.SLIPWAY_LESSONS_DIR ?? './lessons',
      generateId: ({ entry }) => {
        const [slug = '', file = ''] = entry.split('/');
        return `${file.replace(/\.mdx$/, '')}/${slug}`;
      },
    }),
    schema: lessonTextSchema,
  }),
};
