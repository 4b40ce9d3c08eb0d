// The offline plan of a stack: the whole program run under the mock runtime for the stack's committed
// Pulumi.<stack>.yaml (tools/harness/program.ts, the same harness the tests use), then the policy pack
// (policy/) run over what it registered.
import { AWSGUARD_PACK_NAME, AWSGUARD_WAIVERS, awsguardPolicies, awsguardView } from "../../policy/awsguard";
import { evaluatePolicies, Violation } from "../../policy/offline";
import { policies, POLICY_PACK_NAME } from "../../policy/policies";
import type { ProgramRun } from "../harness/program";
import { contextFor, summarize } from "./summaries";
import { redactSecrets, Unknowns } from "./unknowns";

export const PLAN_FORMAT_VERSION = 1;

export interface PlannedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** URN of the parent (a component), if any. */
    readonly parent?: string;
    /** False for components, which AWS never sees. */
    readonly custom: boolean;
    /** The key inputs: the first line is a summary, further lines are details (e.g. IAM statements). */
    readonly keyInputs: string[];
    /**
     * URNs of the resources this one waits for: its explicit `dependsOn` and the resources its inputs
     * come from (every property's dependencies), sorted. The engine creates none of this resource
     * before all of them exist.
     */
    readonly dependencies: string[];
    /** Every input, with values only AWS can know replaced by `<known after apply: ...>` tokens. */
    readonly inputs: Record<string, unknown>;
    readonly options: {
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly customTimeouts?: { create?: string; update?: string; delete?: string };
    };
}

export interface Plan {
    readonly formatVersion: number;
    readonly stack: string;
    /** The configuration the program ran with: Pulumi.yaml's defaults, then the stack file. */
    readonly config: Record<string, unknown>;
    readonly resources: PlannedResource[];
    /** Number of resources of each type, by type token. */
    readonly counts: Record<string, number>;
    /** The stack outputs, with values only AWS can know replaced by tokens. */
    readonly outputs: Record<string, unknown>;
    readonly policies: { readonly pack: string; readonly count: number; readonly violations: Violation[] };
    /** @pulumi/awsguard, run as a second, advisory pack (policy/awsguard.ts), with its waivers and reasons. */
    readonly advisory: {
        readonly pack: string;
        readonly count: number;
        readonly waived: Readonly<Record<string, string>>;
        readonly violations: Violation[];
    };
}

function byTypeThenName(a: { type: string; name: string }, b: { type: string; name: string }): number {
    return a.type.localeCompare(b.type) || a.name.localeCompare(b.name, undefined, { numeric: true });
}

/** Builds the plan of a program run: resources with their key inputs, counts, outputs, policy results. */
export async function buildPlan(run: ProgramRun): Promise<Plan> {
    const unknowns = new Unknowns(run.resources);
    const ctx = contextFor(unknowns);
    const resources = [...run.resources].sort(byTypeThenName).map((r): PlannedResource => {
        // Secret values never reach the plan: [secret] stands for them, as in `pulumi preview`.
        const inputs = redactSecrets(r.rawInputs);
        return {
            type: r.type,
            name: r.name,
            urn: r.urn,
            ...(r.parentUrn ? { parent: r.parentUrn } : {}),
            custom: r.custom,
            keyInputs: summarize({ ...r, inputs }, ctx),
            dependencies: [
                ...new Set([...r.options.dependencies, ...Object.values(r.options.propertyDependencies).flat()]),
            ].sort(),
            inputs: unknowns.substitute(inputs),
            options: {
                protect: r.options.protect,
                retainOnDelete: r.options.retainOnDelete,
                ...(r.options.customTimeouts && Object.values(r.options.customTimeouts).some((t) => t)
                    ? { customTimeouts: r.options.customTimeouts }
                    : {}),
            },
        };
    });
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    // Like the Pulumi CLI, a stack shows no output whose value is undefined (the other layout's).
    const outputs = Object.fromEntries(
        Object.keys(run.outputs)
            .filter((k) => run.outputs[k] !== undefined)
            .sort()
            .map((k) => [k, unknowns.substitute(run.outputs[k])]),
    );
    const violations = await evaluatePolicies(run.resources);
    const guard = awsguardPolicies();
    // Violations name the resources as the program registered them, not as awsguard's view shows them.
    const typeOf = new Map(run.resources.map((r) => [r.urn, r.type]));
    const advisory = (await evaluatePolicies(awsguardView(run.resources), guard)).map((v) =>
        v.resource ? { ...v, resource: { ...v.resource, type: typeOf.get(v.resource.urn) ?? v.resource.type } } : v,
    );
    return {
        formatVersion: PLAN_FORMAT_VERSION,
        stack: run.stack,
        config: Object.fromEntries(Object.entries(run.config).sort(([a], [b]) => a.localeCompare(b))),
        resources,
        counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
        outputs,
        policies: { pack: POLICY_PACK_NAME, count: policies.length, violations },
        advisory: { pack: AWSGUARD_PACK_NAME, count: guard.length, waived: AWSGUARD_WAIVERS, violations: advisory },
    };
}

/** Mandatory violations fail a plan; advisory ones are reported only. */
export function failingViolations(plan: Plan): Violation[] {
    return plan.policies.violations.filter((v) => v.enforcementLevel === "mandatory");
}
