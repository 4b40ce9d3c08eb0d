import { expect } from "chai";
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { loadConfig } from "../config";
import { sourceFiles } from "../tools/cli/build";
import {
    configProblems,
    Declaration,
    PACKS,
    policyOutcome,
    policyResults,
    shownAsDeclared,
    ShownValue,
} from "../tools/cli/main";
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

    it("starts without @pulumi/pulumi's index (its automation API and npm's arborist cost each of them 0.5 s of CPU)", () => {
        // A fresh Node process, as the engine starts one for each plugin on every preview and up.
        const loaded: string[] = JSON.parse(
            execFileSync(
                process.execPath,
                [
                    "-r",
                    "ts-node/register/transpile-only",
                    "-e",
                    'require("./tools/cli/providers/standin"); console.log(JSON.stringify(Object.keys(require.cache)))',
                ],
                { cwd: ROOT, encoding: "utf8" },
            ),
        );
        const sdk = path.join(ROOT, "node_modules", "@pulumi", "pulumi");
        expect(loaded).to.include(path.join(sdk, "provider", "server.js"));
        expect(
            loaded.filter((f) => f === path.join(sdk, "index.js") || f.startsWith(path.join(sdk, "automation"))),
        ).to.deep.equal([]);
        expect(loaded.filter((f) => f.includes(`${path.sep}@npmcli${path.sep}arborist${path.sep}`))).to.deep.equal([]);
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

describe("test:cli's config step (every declared key shown by pulumi config with its type)", () => {
    const declared: Record<string, Declaration> = {
        azCount: { type: "integer" },
        flowLogs: { type: "boolean" },
        natStrategy: { type: "string" },
        interfaceEndpoints: { type: "array", items: { type: "string" } },
    };
    const good: Record<string, ShownValue> = {
        "airflow:azCount": { value: "2", secret: false },
        "airflow:flowLogs": { value: "false", secret: false },
        "airflow:natStrategy": { value: "single", secret: false },
        "airflow:interfaceEndpoints": { value: '["sqs"]', objectValue: ["sqs"], secret: false },
    };
    it("passes when every declared key is shown with its declared type", () => {
        expect(configProblems("airflow", declared, good)).to.deep.equal([]);
    });
    const cases: [string, Record<string, ShownValue>, string][] = [
        [
            "an integer shown as a word",
            { "airflow:azCount": { value: "two" } },
            'airflow:azCount is declared integer in Pulumi.yaml, but pulumi config shows "two"',
        ],
        [
            "a boolean shown as yes",
            { "airflow:flowLogs": { value: "yes" } },
            'airflow:flowLogs is declared boolean in Pulumi.yaml, but pulumi config shows "yes"',
        ],
        [
            "a string shown as a list",
            { "airflow:natStrategy": { value: '["a"]', objectValue: ["a"] } },
            'airflow:natStrategy is declared string in Pulumi.yaml, but pulumi config shows ["a"]',
        ],
        [
            "an array of strings holding a number",
            { "airflow:interfaceEndpoints": { value: "[1]", objectValue: [1] } },
            "airflow:interfaceEndpoints is declared array of string in Pulumi.yaml, but pulumi config shows [1]",
        ],
    ];
    for (const [what, change, message] of cases) {
        it(`names the key of ${what}`, () => {
            expect(configProblems("airflow", declared, { ...good, ...change })).to.deep.equal([message]);
        });
    }
    it("names a declared key that pulumi config does not show", () => {
        const rest = Object.fromEntries(Object.entries(good).filter(([k]) => k !== "airflow:azCount"));
        expect(configProblems("airflow", declared, rest)).to.deep.equal([
            "airflow:azCount is declared in Pulumi.yaml (integer), but pulumi config does not show it",
        ]);
    });
    it("accepts every default Pulumi.yaml declares, as the CLI shows it", () => {
        const project = parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        for (const [key, d] of Object.entries(project.config as Record<string, Declaration & { default: unknown }>)) {
            const v = d.default;
            const shown: ShownValue =
                v !== null && typeof v === "object"
                    ? { value: JSON.stringify(v), objectValue: v }
                    : { value: String(v) };
            expect(shownAsDeclared(d, shown), `${key} default ${JSON.stringify(v)}`).to.equal(true);
        }
    });
});

describe("test:cli's build (tools/cli/build.ts)", () => {
    it("transpiles the program, both policy packs and the stand-ins, and no test", () => {
        const files = sourceFiles(ROOT);
        for (const f of ["index.ts", "policy/index.ts", "policy-awsguard/index.ts", "tools/cli/providers/standin.ts"])
            expect(files).to.include(f);
        expect(files.filter((f) => f.startsWith("tests/") || f.endsWith(".d.ts"))).to.deep.equal([]);
    });
});

describe("test:cli's reading of the policy packs' results", () => {
    // As Pulumi CLI v3.274.1 prints them (taken from a run of dev with both packs).
    const passed = [
        "Policies:",
        "    ✅ airflow-aws@v0.1.0 (local: policy)",
        "    ✅ pulumi-awsguard@v0.1.0 (local: policy-awsguard)",
        "",
        "Resources:",
    ].join("\n");
    const deferred = [
        "Policies:",
        "    ⚠️ airflow-aws@v0.1.0 (local: policy)",
        "        - [advisory]  alarm-has-action  (aws:cloudwatch:MetricAlarm: airflow-dev-database-cpu)",
        "          can't run policy 'alarm-has-action' from policy pack 'airflow-aws@v0.1.0' during preview: string value at .alarmActions.0 can't be known during preview",
        "    ✅ pulumi-awsguard@v0.1.0 (local: policy-awsguard)",
    ].join("\n");
    const finding = (level: string, pack: string, policy: string) =>
        [
            "Policies:",
            `    ❌ ${pack}@v0.1.0 (local: ${pack === "airflow-aws" ? "policy" : "policy-awsguard"})`,
            `        - [${level}]  ${policy}  (aws:s3:Bucket: airflow-dev-artifacts)`,
            "          the bucket has no logging",
            `    ✅ ${pack === "airflow-aws" ? "pulumi-awsguard" : "airflow-aws"}@v0.1.0 (local: policy)`,
        ].join("\n");

    it("passes an up whose two packs report themselves passed", () => {
        expect(policyOutcome(passed, "up")).to.equal("both policy packs passed");
    });
    it("counts a policy that cannot read an unknown value in a preview as deferred, not as a finding", () => {
        expect(policyResults(deferred).findings).to.deep.equal([]);
        expect(policyOutcome(deferred, "preview")).to.equal(
            "the policy pack passed (1 checks wait for values known at the up, where they run)",
        );
    });
    it("previews with our pack, as the pull-request workflow does, and ups with both", () => {
        const workflow = readFileSync(path.join(__dirname, "..", ".github", "workflows", "pull-request.yml"), "utf8");
        expect(workflow).to.match(/policyPacks: policy\n/);
        expect(PACKS.preview).to.deep.equal(["--policy-pack", "policy"]);
        expect(PACKS.up).to.deep.equal(["--policy-pack", "policy", "--policy-pack", "policy-awsguard"]);
        expect(policyOutcome(passed.replace(/.*pulumi-awsguard.*\n/, ""), "preview")).to.equal(
            "the policy pack passed",
        );
    });
    it("fails an up in which a policy still could not run", () => {
        expect(() => policyOutcome(deferred, "up")).to.throw("1 policies could not run in the up");
    });
    it("fails on a finding of our pack (mandatory) and of awsguard (advisory), naming policy and resource", () => {
        expect(() => policyOutcome(finding("mandatory", "airflow-aws", "s3-bucket-logging"), "up")).to.throw(
            "1 policy finding(s):\n[mandatory] s3-bucket-logging (aws:s3:Bucket: airflow-dev-artifacts): the bucket has no logging",
        );
        expect(() =>
            policyOutcome(finding("advisory", "pulumi-awsguard", "s3-bucket-logging-enabled"), "preview"),
        ).to.throw("[advisory] s3-bucket-logging-enabled (aws:s3:Bucket: airflow-dev-artifacts)");
    });
    it("fails when a pack did not run at all", () => {
        expect(() => policyOutcome(passed.replace(/.*pulumi-awsguard.*\n/, ""), "up")).to.throw(
            "the pulumi-awsguard pack did not run",
        );
    });
});
