// The cost estimate as text, and the cost difference between two stacks.
import { className } from "../../policy/resources";
import type { CostEstimate, CostLine, NetworkChoice } from "./cost";

function usd(n: number): string {
    return `$${n.toFixed(2)}`;
}

function signed(n: number): string {
    return `${n >= 0 ? "+" : "-"}${usd(Math.abs(n))}`;
}

function loadText(c: CostEstimate): string {
    const l = c.load;
    return [
        `${l.costBusyHoursPerDay} busy h/day`,
        `${l.costNatGbPerMonth} GB NAT`,
        `${l.costEndpointGbPerMonth} GB to endpoint services`,
        `${l.costLogGbPerMonth} GB logs`,
        `${l.costS3Gb} GB S3`,
        `${l.costEfsGb} GB EFS`,
        `${l.costEcrGb} GB ECR`,
        `${l.costJobHoursPerMonth} job task-h`,
        `${l.costTrainingHoursPerMonth} training h`,
        `${l.costTransformHoursPerMonth} transform h`,
        `${l.costAlbLcus} LCU`,
    ].join(", ");
}

function choice(label: string, n: NetworkChoice): string {
    return `    ${label.padEnd(26)} ${usd(n.monthlyIdle).padStart(10)} ${usd(n.monthlyLoaded).padStart(10)}  ${n.natGateways} NAT gateway${n.natGateways === 1 ? "" : "s"}, ${n.interfaceEndpoints} interface endpoint${n.interfaceEndpoints === 1 ? "" : "s"} in ${n.endpointAzs} AZs${n.note ? ` (${n.note})` : ""}`;
}

export function renderCost(c: CostEstimate): string[] {
    const lines = [...c.lines].sort((a, b) => b.monthlyLoaded - a.monthlyLoaded || a.name.localeCompare(b.name));
    return [
        `Estimated monthly cost: ${usd(c.monthlyIdle)} idle, ${usd(c.monthlyLoaded)} loaded (${c.currency}, ${c.region} on-demand list prices of ${c.priceDate}, ${c.hoursPerMonth} h a month, table ${c.priceTable})`,
        `  Load (airflow:cost* keys or --config): ${loadText(c)}`,
        `        idle     loaded  resource: basis`,
        ...lines.map(
            (l) =>
                `  ${usd(l.monthlyIdle).padStart(10)} ${usd(l.monthlyLoaded).padStart(10)}  ${className(l.type)} ${l.name}: ${l.basis}`,
        ),
        `  ${usd(c.monthlyIdle).padStart(10)} ${usd(c.monthlyLoaded).padStart(10)}  total of ${c.lines.length} priced resources`,
        `  Unpriced (${c.unpriced.length}):${c.unpriced.length === 0 ? " none" : ""}`,
        ...c.unpriced.map((u) => `    ? ${className(u.type)} ${u.name}: ${u.reason}`),
        `  Free: ${c.free.reduce((n, f) => n + f.count, 0)} resources of ${c.free.length} types (listed in the JSON plan)`,
        `  NAT gateways vs interface endpoints (the network's cost each way):`,
        `    ${"".padEnd(26)} ${"idle".padStart(10)} ${"loaded".padStart(10)}`,
        choice("as configured", c.network.configured),
        choice("NAT gateways only", c.network.natGatewaysOnly),
        choice("interface endpoints only", c.network.endpointsOnly),
        ...c.warnings.filter((w) => !w.startsWith("unpriced:")).map((w) => `  warning: ${w}`),
    ];
}

export interface CostDiff {
    readonly left: string;
    readonly right: string;
    readonly currency: string;
    readonly monthlyIdle: { left: number; right: number; difference: number };
    readonly monthlyLoaded: { left: number; right: number; difference: number };
    /** Lines whose figures differ, matched by type and name with the stack names replaced. */
    readonly lines: { type: string; name: string; left?: CostLine; right?: CostLine; idle: number; loaded: number }[];
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The cost difference right - left; `norm*` replace each stack's names so that lines match. */
export function diffCost(
    left: { stack: string; cost: CostEstimate },
    right: { stack: string; cost: CostEstimate },
    normLeft: (s: string) => string,
    normRight: (s: string) => string,
): CostDiff {
    const index = (c: CostEstimate, norm: (s: string) => string) =>
        new Map(c.lines.map((l) => [`${l.type}\u0000${norm(l.name)}`, l] as const));
    const a = index(left.cost, normLeft);
    const b = index(right.cost, normRight);
    const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
    const lines = keys
        .map((k) => {
            const [type, name] = k.split("\u0000");
            const l = a.get(k);
            const r = b.get(k);
            return {
                type,
                name,
                ...(l ? { left: l } : {}),
                ...(r ? { right: r } : {}),
                idle: round((r?.monthlyIdle ?? 0) - (l?.monthlyIdle ?? 0)),
                loaded: round((r?.monthlyLoaded ?? 0) - (l?.monthlyLoaded ?? 0)),
            };
        })
        .filter((d) => d.idle !== 0 || d.loaded !== 0)
        .sort((x, y) => Math.abs(y.loaded) - Math.abs(x.loaded) || x.name.localeCompare(y.name));
    const total = (which: "monthlyIdle" | "monthlyLoaded") => ({
        left: left.cost[which],
        right: right.cost[which],
        difference: round(right.cost[which] - left.cost[which]),
    });
    return {
        left: left.stack,
        right: right.stack,
        currency: left.cost.currency,
        monthlyIdle: total("monthlyIdle"),
        monthlyLoaded: total("monthlyLoaded"),
        lines,
    };
}

export function renderCostDiff(d: CostDiff): string[] {
    return [
        `Estimated monthly cost: ${d.left} ${usd(d.monthlyIdle.left)} idle, ${usd(d.monthlyLoaded.left)} loaded -> ${d.right} ${usd(d.monthlyIdle.right)} idle, ${usd(d.monthlyLoaded.right)} loaded (${signed(d.monthlyIdle.difference)} idle, ${signed(d.monthlyLoaded.difference)} loaded, ${d.currency})`,
        `  Lines that differ (${d.lines.length}):`,
        ...d.lines.map(
            (l) =>
                `  ${signed(l.idle).padStart(11)} ${signed(l.loaded).padStart(11)}  ${l.left ? (l.right ? "~" : "-") : "+"} ${className(l.type)} ${l.name}`,
        ),
    ];
}
