/** Mocha root hooks: every suite runs on the backend milkit picks (MILKIT_BACKEND to force one). */
import { describeBackend, useBackend } from '../src/backend';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const info = await useBackend();
    if (!process.env.MILKIT_QUIET_BACKEND) {
      console.log(`      [milkit] backend ${describeBackend(info)}`);
      process.env.MILKIT_QUIET_BACKEND = '1';
    }
  },
};
