/**
 * Where learners' progress lives: the steps each learner has done, by lesson. One interface,
 * so a classroom-sized install can keep SQLite and a larger one can bring PostgreSQL.
 */
export interface ProgressStore {
  /** The steps this learner has done in one lesson. */
  doneSteps(learnerId: string, lesson: string): Promise<Set<string>>;
  /** Every lesson's done steps for this learner, by lesson. */
  allDone(learnerId: string): Promise<Record<string, string[]>>;
  /** Records steps as done; recording a done step again changes nothing. */
  markDone(learnerId: string, lesson: string, stepIds: readonly string[]): Promise<void>;
  /** Every step this learner has done, with when, the oldest first (for teachers' dashboards). */
  doneTimes(learnerId: string): Promise<DoneStep[]>;
  close(): void;
}

export interface DoneStep {
  lesson: string;
  step: string;
  /** ms since 1970. */
  doneAt: number;
}
