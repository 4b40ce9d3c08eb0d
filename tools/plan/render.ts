// The plan as text: a header, the resource tree (component -> children, from parent URNs) with each
// resource's key inputs, a count by type, the stack outputs and the policy results.
import type { Violation } from "../../policy/offline";
import { className } from "../../policy/resources";
import type { Plan, PlannedResource } from "./plan";
import { failingViolations } from "./plan";

const LEGEND =
    "Values AWS assigns on apply are shown as <known after apply: resource.attribute> (or <resource.attribute> inside a longer value); <account> is the AWS account id.";

/** The tree of resources under their parents, roots first; children sorted by type, then name. */
function renderTree(resources: readonly PlannedResource[]): string[] {
    const children = new Map<string | undefined, PlannedResource[]>();
    const urns = new Set(resources.map((r) => r.urn));
    for (const r of resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const lines: string[] = [];
    const visit = (r: PlannedResource, prefix: string, childPrefix: string) => {
        const [summary, ...details] = r.keyInputs;
        const flags = [
            r.options.protect && "protect",
            r.options.retainOnDelete && "retain on delete",
            r.options.customTimeouts &&
                `timeouts ${Object.entries(r.options.customTimeouts)
                    .filter(([, v]) => v)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(" ")}`,
        ].filter((f): f is string => !!f);
        const head = r.custom ? `${className(r.type)} ${r.name}` : `${r.name} (${r.type})`;
        lines.push(`${prefix}${head}${summary ? `: ${summary}` : ""}${flags.length ? ` [${flags.join(", ")}]` : ""}`);
        const kids = children.get(r.urn) ?? [];
        const detailPrefix = `${childPrefix}${kids.length > 0 ? "│ " : "  "}  `;
        for (const d of details) lines.push(`${detailPrefix}${d}`);
        kids.forEach((kid, i) => {
            const last = i === kids.length - 1;
            visit(kid, `${childPrefix}${last ? "└── " : "├── "}`, `${childPrefix}${last ? "    " : "│   "}`);
        });
    };
    for (const root of children.get(undefined) ?? []) visit(root, "", "");
    return lines;
}

/** A value of the stack outputs: scalars as JSON, tokens bare, objects one key a line. */
export function formatValue(value: unknown, indent = ""): string {
    if (typeof value === "string") return value.startsWith("<") && value.endsWith(">") ? value : JSON.stringify(value);
    if (Array.isArray(value)) return `[${value.map((v) => formatValue(v, indent)).join(", ")}]`;
    if (value && typeof value === "object") {
        const inner = `${indent}    `;
        return Object.entries(value)
            .map(([k, v]) => `\n${inner}${k}: ${formatValue(v, inner)}`)
            .join("");
    }
    return JSON.stringify(value);
}

export function violationLine(v: Violation): string {
    return `✖ ${v.policy} (${v.enforcementLevel}): ${v.message}`;
}

export function renderPlan(plan: Plan): string {
    const custom = plan.resources.filter((r) => r.custom).length;
    const components = plan.resources.length - custom;
    const c = plan.config;
    const lines = [
        `Offline plan of stack "${plan.stack}" (Pulumi.${plan.stack}.yaml under the mock runtime: no AWS account, no Pulumi CLI)`,
        `Layout ${c["airflow:layout"] ?? "celery"}, Airflow ${c["airflow:airflowVersion"] ?? "default"}, environment ${c["airflow:environment"] ?? plan.stack}, production ${c["airflow:production"] ?? false}, region ${c["aws:region"] ?? "unset"}`,
        LEGEND,
        "",
        `Resources: ${custom} to create, in ${components} component${components === 1 ? "" : "s"}`,
        ...renderTree(plan.resources),
        "",
        `Resources by type (${plan.resources.length}):`,
        ...Object.entries(plan.counts).map(([type, n]) => `${String(n).padStart(5)}  ${className(type)}`),
        "",
        "Outputs:",
        ...Object.entries(plan.outputs).map(([k, v]) => `    ${k}:${formatValue(v, "    ").replace(/^(?!\n)/, " ")}`),
        "",
        ...renderPolicies(plan),
    ];
    return `${lines.join("\n")}\n`;
}

export function renderPolicies(plan: Plan): string[] {
    const { pack, count, violations } = plan.policies;
    const failing = failingViolations(plan).length;
    const head = `Policies: ${count} of policy pack ${pack}, ${violations.length === 0 ? "no violations" : `${violations.length} violation${violations.length === 1 ? "" : "s"} (${failing} mandatory)`}`;
    const guard = plan.advisory;
    const waived = Object.keys(guard.waived);
    const guardHead =
        `Advisory: ${guard.count} of policy pack ${guard.pack}, ` +
        `${guard.violations.length === 0 ? "no violations" : `${guard.violations.length} violation${guard.violations.length === 1 ? "" : "s"}`}` +
        (waived.length > 0 ? `; waived (policy/awsguard.ts says why): ${waived.join(", ")}` : "");
    return [
        head,
        ...violations.map((v) => `    ${violationLine(v)}`),
        guardHead,
        // awsguard's messages do not name the resource: the line does.
        ...guard.violations.map(
            (v) =>
                `    ${violationLine(v)}${v.resource ? ` (${className(v.resource.type)} "${v.resource.name}")` : ""}`,
        ),
    ];
}
