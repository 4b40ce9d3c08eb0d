// The difference between the offline plans of two stacks: resources only in one, inputs that differ,
// counts and outputs that differ. Resources are matched by type and name, with each stack's stack and
// environment names replaced by <env> in names and values, so that airflow-staging-vpc and
// airflow-prod-vpc are the same resource.
import type { Violation } from "../../policy/offline";
import { className } from "../../policy/resources";
import { Plan, PlannedResource } from "./plan";
import { formatValue, violationLine } from "./render";

export const ENV_TOKEN = "<env>";

export interface ValueChange {
    readonly path: string;
    readonly left?: unknown;
    readonly right?: unknown;
}

export interface ResourceChange {
    readonly type: string;
    readonly name: string;
    readonly changes: ValueChange[];
}

export interface PlanDiff {
    readonly left: string;
    readonly right: string;
    readonly onlyLeft: { type: string; name: string }[];
    readonly onlyRight: { type: string; name: string }[];
    /** Inputs that differ, tags aside. */
    readonly changed: ResourceChange[];
    /** Tag changes, each with the number of resources it applies to. */
    readonly tags: (ValueChange & { resources: number })[];
    readonly counts: { type: string; left: number; right: number }[];
    readonly outputs: ValueChange[];
    readonly violations: { left: Violation[]; right: Violation[] };
}

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces a stack's stack and environment names, as whole words, by <env>. */
export function normaliser(plan: Plan): <T>(value: T) => T {
    const names = [...new Set([plan.stack, String(plan.config["airflow:environment"] ?? plan.stack)])];
    const pattern = new RegExp(`(?<![A-Za-z0-9])(${names.map(escape).join("|")})(?![A-Za-z0-9])`, "g");
    const walk = (value: unknown): unknown => {
        if (typeof value === "string") return value.replace(pattern, ENV_TOKEN);
        if (Array.isArray(value)) return value.map(walk);
        if (value && typeof value === "object") {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [walk(k) as string, walk(v)]));
        }
        return value;
    };
    return walk as <T>(value: T) => T;
}

/** Leaf values by path; strings holding JSON documents (e.g. IAM policies) are compared inside. */
export function flatten(value: unknown, path = "", out: Record<string, unknown> = {}): Record<string, unknown> {
    if (typeof value === "string" && /^\s*[[{]/.test(value)) {
        try {
            return flatten(JSON.parse(value), path, out);
        } catch {
            // not JSON after all: compare it as text
        }
    }
    if (Array.isArray(value)) {
        if (value.length === 0) out[path] = [];
        value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
    } else if (value && typeof value === "object") {
        const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
        if (entries.length === 0) out[path] = {};
        for (const [k, v] of entries) flatten(v, path ? `${path}.${k}` : k, out);
    } else {
        out[path] = value;
    }
    return out;
}

function changesBetween(left: unknown, right: unknown): ValueChange[] {
    const a = flatten(left);
    const b = flatten(right);
    const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return paths
        .filter((p) => JSON.stringify(a[p]) !== JSON.stringify(b[p]))
        .map((p) => ({ path: p, ...(p in a ? { left: a[p] } : {}), ...(p in b ? { right: b[p] } : {}) }));
}

const key = (r: { type: string; name: string }) => `${r.type}\u0000${r.name}`;

export function diffPlans(left: Plan, right: Plan): PlanDiff {
    const normLeft = normaliser(left);
    const normRight = normaliser(right);
    const index = (plan: Plan, norm: <T>(v: T) => T) =>
        new Map(
            plan.resources.map((r): [string, PlannedResource] => {
                const n = { ...r, name: norm(r.name), inputs: norm(r.inputs) };
                return [key(n), n];
            }),
        );
    const a = index(left, normLeft);
    const b = index(right, normRight);
    const sortByTypeName = (x: { type: string; name: string }, y: { type: string; name: string }) =>
        x.type.localeCompare(y.type) || x.name.localeCompare(y.name, undefined, { numeric: true });
    const pick = (r: PlannedResource) => ({ type: r.type, name: r.name });

    const changed: ResourceChange[] = [];
    const tagChanges = new Map<string, ValueChange & { resources: number }>();
    for (const [k, ra] of a) {
        const rb = b.get(k);
        if (!rb) continue;
        const changes = changesBetween(ra.inputs, rb.inputs);
        const own = changes.filter((c) => !c.path.startsWith("tags."));
        for (const c of changes.filter((x) => x.path.startsWith("tags."))) {
            const id = JSON.stringify([c.path, c.left, c.right]);
            const seen = tagChanges.get(id);
            tagChanges.set(id, { ...c, resources: (seen?.resources ?? 0) + 1 });
        }
        if (own.length > 0) changed.push({ type: ra.type, name: ra.name, changes: own });
    }
    const types = [...new Set([...Object.keys(left.counts), ...Object.keys(right.counts)])].sort();
    return {
        left: left.stack,
        right: right.stack,
        onlyLeft: [...a.values()]
            .filter((r) => !b.has(key(r)))
            .map(pick)
            .sort(sortByTypeName),
        onlyRight: [...b.values()]
            .filter((r) => !a.has(key(r)))
            .map(pick)
            .sort(sortByTypeName),
        changed: changed.sort(sortByTypeName),
        tags: [...tagChanges.values()].sort((x, y) => x.path.localeCompare(y.path)),
        counts: types
            .map((type) => ({ type, left: left.counts[type] ?? 0, right: right.counts[type] ?? 0 }))
            .filter((c) => c.left !== c.right),
        outputs: changesBetween(normLeft(left.outputs), normRight(right.outputs)),
        violations: { left: left.policies.violations, right: right.policies.violations },
    };
}

function shown(value: unknown): string {
    return value === undefined ? "(absent)" : formatValue(value);
}

function changeLine(c: ValueChange): string {
    return `${c.path}: ${shown(c.left)} -> ${shown(c.right)}`;
}

export function renderDiff(d: PlanDiff): string {
    const lines = [
        `Offline plan difference: ${d.left} -> ${d.right} (resources matched by type and name, with each stack's name replaced by ${ENV_TOKEN})`,
        "",
        `Only in ${d.left} (${d.onlyLeft.length}):`,
        ...d.onlyLeft.map((r) => `  - ${className(r.type)} ${r.name}`),
        "",
        `Only in ${d.right} (${d.onlyRight.length}):`,
        ...d.onlyRight.map((r) => `  + ${className(r.type)} ${r.name}`),
        "",
        `Inputs that differ (${d.changed.length} resource${d.changed.length === 1 ? "" : "s"}):`,
        ...d.changed.flatMap((r) => [
            `  ~ ${className(r.type)} ${r.name}`,
            ...r.changes.map((c) => `      ${changeLine(c)}`),
        ]),
        "",
        `Tags that differ (${d.tags.length}):`,
        ...d.tags.map((t) => `  ~ ${changeLine(t)} on ${t.resources} resource${t.resources === 1 ? "" : "s"}`),
        "",
        `Resources by type that differ (${d.counts.length}):`,
        ...d.counts.map((c) => `  ${className(c.type)}: ${c.left} -> ${c.right}`),
        "",
        `Outputs that differ (${d.outputs.length}):`,
        ...d.outputs.map((c) => `  ~ ${changeLine(c)}`),
        "",
        `Policies: ${d.left} ${d.violations.left.length} violations, ${d.right} ${d.violations.right.length} violations`,
        ...[
            ...d.violations.left.map((v) => `  ${d.left}: ${violationLine(v)}`),
            ...d.violations.right.map((v) => `  ${d.right}: ${violationLine(v)}`),
        ],
    ];
    return `${lines.join("\n")}\n`;
}
