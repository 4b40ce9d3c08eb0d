// @pulumi/awsguard's verdict on every committed stack and on both layout switches (dev as mwaa, prod
// as celery), next to our own pack's: the goal is 0 awsguard violations everywhere, each
// remaining rule waived in AWSGUARD_WAIVERS with its reason. Prints the figures.
import { expect } from "chai";
import { awsguardPolicies, awsguardView } from "../policy/awsguard";
import { evaluatePolicies } from "../policy/offline";
import { runProgram } from "./harness/program";

const RUNS: [string, string, Record<string, unknown>][] = [
    ["dev", "dev", {}],
    ["staging", "staging", {}],
    ["prod", "prod", {}],
    ["dev as mwaa", "dev", { "airflow:layout": "mwaa" }],
    ["prod as celery", "prod", { "airflow:layout": "celery" }],
];

describe("@pulumi/awsguard and our pack on every stack and both layout switches", function () {
    this.timeout(120_000);
    const figures: string[] = [];
    after(() => console.log(`      awsguard violations (mapped view): ${figures.join(", ")}`));

    for (const [label, stack, overrides] of RUNS) {
        it(`${label}: awsguard reports nothing that is not waived, and our pack passes`, async () => {
            const run = await runProgram(stack, overrides);
            const guard = await evaluatePolicies(awsguardView(run.resources), awsguardPolicies());
            figures.push(`${label} ${guard.length}`);
            expect(guard.map((v) => `${v.policy}: ${v.resource?.name ?? ""}`)).to.deep.equal([]);
            const ours = await evaluatePolicies(run.resources);
            expect(ours.map((v) => `${v.policy}: ${v.message}`)).to.deep.equal([]);
        });
    }
});
