// The second, advisory pack as the Pulumi CLI runs it: pulumi preview --policy-pack policy
// --policy-pack policy-awsguard. It serves awsguard's rules, advisory, less the waived ones.
import { expect } from "chai";
import * as path from "path";
import { AWSGUARD_PACK_NAME, AWSGUARD_WAIVERS, awsguardPolicies } from "../policy/awsguard";
import { PolicyPackProcess } from "../tools/harness/analyzer";
import { runStack } from "./harness/program";

const guardPack = PolicyPackProcess.start(path.join(__dirname, "..", "policy-awsguard"));
guardPack.catch(() => undefined); // reported by the tests that await it

describe("awsguard pack as the Pulumi CLI runs it (--policy-pack policy-awsguard)", function () {
    this.timeout(120_000);
    after(async () => (await guardPack).stop());

    it("serves every awsguard rule as advisory, less the waived ones (the offline plan's list)", async () => {
        const info = await (await guardPack).info();
        expect(info.name).to.equal(AWSGUARD_PACK_NAME);
        expect(info.policies).to.deep.equal(
            awsguardPolicies().map((p) => ({ name: p.name, enforcementLevel: "advisory" })),
        );
        for (const waived of Object.keys(AWSGUARD_WAIVERS))
            expect(info.policies.map((p) => p.name)).to.not.include(waived);
    });

    it("reports nothing on the committed prod stack over the analyzer protocol (0 violations)", async () => {
        expect(await (await guardPack).analyze((await runStack("prod")).resources)).to.deep.equal([]);
    });
});
