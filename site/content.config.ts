import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { lessonSchema } from '../lessons/schema.ts';

export const collections = {
  lessons: defineCollection({
    // SLIPWAY_LESSONS_DIR lets the tests build a lesson folder of their own.
    loader: glob({ pattern: '{zh,en}/**/*.mdx', base: process.env.SLIPWAY_LESSONS_DIR ?? './lessons' }),
    schema: lessonSchema,
  }),
};
