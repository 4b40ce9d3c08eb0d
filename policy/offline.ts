// The second runner of the policies: evaluates them without the Pulumi CLI, over resources captured
// by the mock runtime (the offline plan, tools/plan/, and the tests). It hands each policy the same
// arguments the CLI's analyzer does: every resource to a resource policy, the whole stack (with
// parents, dependencies and per-property dependencies resolved to resources) to a stack policy.
import type {
    EnforcementLevel,
    Policies,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { policies as packPolicies } from "./policies";

/** A resource as the mock runtime captures it (tools/harness/mocks.ts's CapturedResource fits). */
export interface CapturedResourceLike {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly inputs: Record<string, unknown>;
    readonly parentUrn?: string;
    readonly options: {
        readonly protect: boolean;
        readonly ignoreChanges: readonly string[];
        readonly deleteBeforeReplace?: boolean;
        readonly customTimeouts?: { create?: string; update?: string; delete?: string };
        readonly dependencies: readonly string[];
        readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
    };
}

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly message: string;
    /** The resource in violation, when the policy names one. */
    readonly resource?: { readonly type: string; readonly name: string; readonly urn: string };
}

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
    throw new NotApplicable(reason);
}

/** "20m" -> 1200, "1h30m" -> 5400 (Go duration syntax, as Pulumi's customTimeouts take). */
function seconds(duration: string | undefined): number {
    if (!duration) return 0;
    const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
    let total = 0;
    for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
        total += Number(amount) * units[unit];
    return total;
}

function optionsOf(r: CapturedResourceLike): PolicyResourceOptions {
    const t = r.options.customTimeouts ?? {};
    return {
        protect: r.options.protect,
        ignoreChanges: [...r.options.ignoreChanges],
        deleteBeforeReplace: r.options.deleteBeforeReplace,
        aliases: [],
        customTimeouts: {
            createSeconds: seconds(t.create),
            updateSeconds: seconds(t.update),
            deleteSeconds: seconds(t.delete),
        },
        additionalSecretOutputs: [],
        ...(r.parentUrn ? { parent: r.parentUrn } : {}),
    };
}

/**
 * A copy of captured inputs with secret values unwrapped: the mock runtime keeps them in the engine's
 * wire form ({<sig key>: <secret sig>, value}); the CLI's analyzer hands policies the plain value.
 */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig)
            return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    return (resourceClass as { __pulumiType?: string }).__pulumiType === type;
}

/** The stack as a stack policy sees it: each resource with its props and its relations resolved. */
export function policyResources(captured: readonly CapturedResourceLike[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const resources = captured.map((r) => {
        const props = unwrapSecrets(r.inputs) as PolicyResource["props"];
        const resource: PolicyResource = {
            type: r.type,
            name: r.name,
            urn: r.urn,
            props,
            opts: optionsOf(r),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
        };
        byUrn.set(r.urn, resource);
        return resource;
    });
    captured.forEach((r, i) => {
        const resource = resources[i];
        const resolve = (urns: readonly string[]) =>
            urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
        if (r.parentUrn && byUrn.has(r.parentUrn)) resource.parent = byUrn.get(r.parentUrn);
        resource.dependencies = resolve(r.options.dependencies);
        for (const [property, urns] of Object.entries(r.options.propertyDependencies ?? {})) {
            resource.propertyDependencies[property] = resolve(urns);
        }
    });
    return resources;
}

/**
 * Runs the policies (by default the whole pack) over captured resources and returns every violation,
 * sorted by policy, resource and message. A policy that throws fails the run, naming the policy.
 */
export async function evaluatePolicies(
    captured: readonly CapturedResourceLike[],
    policies: Policies = packPolicies,
    stackTags: ReadonlyMap<string, string> = new Map(),
): Promise<Violation[]> {
    const resources = policyResources(captured);
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const violations: Violation[] = [];
    for (const policy of policies) {
        const enforcementLevel = policy.enforcementLevel ?? "advisory";
        if (enforcementLevel === "disabled") continue;
        const report = (message: string, urn?: string) => {
            const r = urn ? byUrn.get(urn) : undefined;
            violations.push({
                policy: policy.name,
                enforcementLevel,
                message,
                ...(r ? { resource: { type: r.type, name: r.name, urn: r.urn } } : {}),
            });
        };
        try {
            if ("validateStack" in policy) {
                const args: StackValidationArgs = {
                    resources,
                    stackTags,
                    getConfig: () => ({}) as never,
                    notApplicable,
                };
                await runGuarded(() => (policy as StackValidationPolicy).validateStack(args, report));
            } else {
                const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
                for (const r of resources) {
                    const args: ResourceValidationArgs = {
                        type: r.type,
                        props: r.props,
                        urn: r.urn,
                        name: r.name,
                        opts: r.opts,
                        stackTags,
                        isType: r.isType,
                        asType: r.asType as ResourceValidationArgs["asType"],
                        getConfig: () => ({}) as never,
                        notApplicable,
                    };
                    for (const validate of validations) {
                        await runGuarded(() => validate(args, (message) => report(message, r.urn)));
                    }
                }
            }
        } catch (err) {
            throw new Error(`policy ${policy.name} failed: ${(err as Error).message}`, { cause: err });
        }
    }
    return violations.sort(
        (a, b) =>
            a.policy.localeCompare(b.policy) ||
            (a.resource?.name ?? "").localeCompare(b.resource?.name ?? "") ||
            a.message.localeCompare(b.message),
    );
}

async function runGuarded(run: () => Promise<void> | void): Promise<void> {
    try {
        await run();
    } catch (err) {
        if (!(err instanceof NotApplicable)) throw err;
    }
}
