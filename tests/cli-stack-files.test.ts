import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { loadConfig } from "../config";
import { parseUrn, stateOf } from "../tools/cli/providers/standin";
import { AirflowMocks } from "../tools/harness/mocks";
import { PROJECT, ROOT, runProgram, runStack, STACKS, useStack } from "./harness/program";

/** What `pulumi stack init` / `pulumi config set` write back: an encryption salt, top-level scalars quoted. */
export function rewriteAsTheCli(text: string): string {
    const doc = parseDocument(text);
    doc.set("encryptionsalt", "v1:Zm9vYmFyYmF6:v1:cXV1eHF1dXhxdXV4:ZGVhZGJlZWZkZWFkYmVlZmRlYWRiZWVm");
    const config = doc.get("config") as any;
    for (const item of config.items) {
        const value = item.value?.toJSON?.() ?? item.value;
        if (value !== null && typeof value !== "object") item.value = doc.createNode(String(value));
    }
    return doc.toString();
}

function stackText(stack: string): string {
    return readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
}

/** The stack file's config as overrides, every key present (a rewritten file replaces each value). */
function configOf(text: string): Record<string, unknown> {
    return parse(text).config;
}

/** Whether a value satisfies a Pulumi.yaml type as the CLI's config validation checks it. */
function cliAccepts(type: string, value: unknown): boolean {
    switch (type) {
        case "integer":
            return (
                (typeof value === "number" && Number.isInteger(value)) ||
                (typeof value === "string" && /^-?\d+$/.test(value))
            );
        case "boolean":
            return typeof value === "boolean" || value === "true" || value === "false";
        case "string":
            return typeof value !== "object" || value === null;
        case "array":
            return Array.isArray(value);
        default:
            return true;
    }
}

describe("stack files as the Pulumi CLI reads and rewrites them", () => {
    const declared: Record<string, any> = parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config;

    for (const stack of STACKS) {
        it(`Pulumi.${stack}.yaml satisfies every declaration in Pulumi.yaml (required keys set, values of the declared type)`, () => {
            const config = configOf(stackText(stack));
            const problems: string[] = [];
            for (const [name, decl] of Object.entries(declared)) {
                const key = `${PROJECT}:${name}`;
                if (!(key in config)) {
                    if (decl.default === undefined) problems.push(`${key} is declared without a default and not set`);
                    continue;
                }
                if (!cliAccepts(decl.type, config[key])) problems.push(`${key} must be of type ${decl.type}`);
            }
            expect(problems).to.deep.equal([]);
        });

        it(`Pulumi.${stack}.yaml rewritten by the CLI (quoted scalars, encryptionsalt) loads to exactly the same configuration`, () => {
            const rewritten = rewriteAsTheCli(stackText(stack));
            expect(rewritten).to.match(/encryptionsalt:/);
            useStack(stack);
            const original = loadConfig();
            useStack(stack, configOf(rewritten));
            expect(loadConfig()).to.deep.equal(original);
        });
    }

    it("the program registers the same resources from a CLI-rewritten dev stack file", async function () {
        this.timeout(60_000);
        const original = await runStack("dev");
        const rewritten = await runProgram("dev", configOf(rewriteAsTheCli(stackText("dev"))));
        const view = (r: typeof original) =>
            Object.fromEntries(r.resources.map((x) => [`${x.type}::${x.name}`, x.inputs]));
        const before = view(original);
        const after = view(rewritten);
        expect(Object.keys(after).sort()).to.deep.equal(Object.keys(before).sort());
        for (const key of Object.keys(before))
            expect(JSON.stringify(after[key]), key).to.equal(JSON.stringify(before[key]));
        expect(rewritten.config).to.deep.equal(original.config);
    });
});

describe("stack outputs as the engine shows them", () => {
    for (const stack of STACKS) {
        it(`${stack}: no output reads a value the resources do not have ("undefined" inside a URL or name)`, async () => {
            const run = await runStack(stack);
            const text = JSON.stringify(run.outputs);
            expect(text).not.to.match(/undefined|null/);
        });
    }
});

describe("stand-in provider plugins (tools/cli/providers)", () => {
    it("reads the type and name from a URN, nested parents included", () => {
        expect(
            parseUrn("urn:pulumi:dev::airflow::airflow:network:AirflowNetwork$aws:ec2/vpc:Vpc::airflow-dev-vpc"),
        ).to.deep.equal({
            type: "aws:ec2/vpc:Vpc",
            name: "airflow-dev-vpc",
        });
    });

    it("answers with the inputs plus the outputs the mock harness computes, the same for the same URN", () => {
        const mocks = new AirflowMocks();
        mocks.reset("us-east-1");
        const urn = "urn:pulumi:dev::airflow::aws:s3/bucket:Bucket::airflow-dev-artifacts";
        const state = stateOf(mocks, urn, { forceDestroy: false });
        expect(state).to.include({ forceDestroy: false, bucket: state.bucket, arn: `arn:aws:s3:::${state.bucket}` });
        expect(stateOf(mocks, urn, { forceDestroy: false })).to.deep.equal(state);
    });

    it("fails loudly on an invoke the mocks do not answer", () => {
        const mocks = new AirflowMocks();
        mocks.reset("us-east-1");
        expect(() => mocks.call({ token: "aws:ec2/getAmi:getAmi", inputs: {} } as any)).to.throw(
            /which the test mocks do not answer/,
        );
    });
});
