// Root hooks: the mocks are installed once, before any test file's tests run, and the suite's
// wall-clock time (module loading included) is printed at the end.
import { installMocks } from "./program";

export const mochaHooks = {
    beforeAll(): void {
        installMocks();
    },
    afterAll(): void {
        console.log(`\n  TypeScript suite: ${process.uptime().toFixed(1)} s wall clock on Node ${process.version}`);
    },
};
