import { expect } from "chai";
import { ConfigError, loadConfig } from "../../config";
import { useStack } from "./program";

/** Loads a committed stack's config with overrides; returns every error, or [] when it loads. */
export function configErrors(stack: string, overrides: Record<string, unknown>): readonly string[] {
    useStack(stack, overrides);
    try {
        loadConfig();
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.errors;
        throw err;
    }
}

/** One test per case: the stack's config with these overrides is rejected with exactly this message. */
export function itRejectsEach(cases: readonly [string, Record<string, unknown>, string][], stack = "dev"): void {
    for (const [what, overrides, message] of cases) {
        it(`rejects ${what} with its exact message`, () => {
            expect(configErrors(stack, overrides)).to.deep.equal([message]);
        });
    }
}
