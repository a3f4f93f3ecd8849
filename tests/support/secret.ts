/** The cookie-signing key every server started by the tests and benchmarks uses (SLIPWAY_SECRET). */
export const testSecret = 'slipway-tests-sign-learner-cookies-with-this-key';
