/** The cookie-signing key every server started by the tests and benchmarks uses (SLIPWAY_SECRET). */
export const testSecret = 'slipway-tests-sign-learner-cookies-with-this-key';

/** The teacher key of every server the tests and benchmarks start (SLIPWAY_TEACHER_KEY). */
export const testTeacherKey = 'slipway-tests-teacher-key';
