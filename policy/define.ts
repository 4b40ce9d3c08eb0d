// How the pack's policies are defined: every policy mandatory, resource policies matched by type token.
import type {
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

export type Policy = ResourceValidationPolicy | StackValidationPolicy;

export function resourcePolicy(
    name: string,
    description: string,
    types: readonly string[],
    check: (args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateResource: (args, report) => {
            if (types.includes(args.type)) check(args, report);
        },
    };
}

export function stackPolicy(
    name: string,
    description: string,
    check: (args: StackValidationArgs, report: ReportViolation) => void,
): StackValidationPolicy {
    return { name, description, enforcementLevel: "mandatory", validateStack: check };
}

/** A value as a message shows it. */
export function shown(value: unknown): string {
    return value === undefined || value === null ? "unset" : JSON.stringify(value);
}

export function isTrue(value: unknown): boolean {
    return value === true || value === "true";
}

/** Whether a resource carries the Production=true tag that every resource of a production stack has. */
export function isProduction(props: { tags?: Record<string, unknown> } | undefined): boolean {
    return props?.tags?.Production === "true";
}
