import { z } from "zod";
import { DEFAULT_METRICS_AGENT_IMAGE } from "./celery";
import { DEFAULT_JOB_IMAGE } from "./jobs";
import { boolKey, enumKey, key, KeySpec, shown } from "./spec";

/**
 * The cost levers of the Celery layout (issue 20): the CPU architecture of every Fargate task,
 * Fargate Spot for the stateless services, an off-hours schedule and Container Insights. Spot for
 * the services and the off-hours schedule are for non-production stacks only (`offHoursRules`).
 */
export const CPU_ARCHITECTURES = ["X86_64", "ARM64"] as const;
export type CpuArchitecture = (typeof CPU_ARCHITECTURES)[number];

/** The docker build platform of an ECS CPU architecture. */
export function dockerPlatform(arch: CpuArchitecture): "linux/amd64" | "linux/arm64" {
    return arch === "ARM64" ? "linux/arm64" : "linux/amd64";
}

/**
 * An Application Auto Scaling weekly cron expression whose minute and hour are single numbers and
 * whose day-of-month is `?`, e.g. `cron(0 20 ? * MON-FRI *)`.
 */
const WEEKLY_CRON = /^cron\((\d{1,2}) (\d{1,2}) \? \* ([A-Z0-9,-]+) \*\)$/;

/** The minutes after the stop time at which each group of services stops (`offHoursActions`). */
export const STOP_STAGGER_MINUTES = { scheduler: 0, rest: 2, last: 5 } as const;

/** The minute and hour of a weekly cron expression, or undefined when it is not one of the form allowed. */
export function parseWeeklyCron(cron: string): { minute: number; hour: number; days: string } | undefined {
    const m = WEEKLY_CRON.exec(cron);
    if (!m) return undefined;
    const minute = Number(m[1]);
    const hour = Number(m[2]);
    if (minute > 59 || hour > 23) return undefined;
    return { minute, hour, days: m[3] };
}

function isTimeZone(tz: string): boolean {
    try {
        new Intl.DateTimeFormat("en-US", { timeZone: tz });
        return true;
    } catch {
        return false;
    }
}

const CRON_ALLOWED =
    'empty or a weekly cron expression with a single minute (0 to 54) and hour and "?" as day-of-month, e.g. "cron(0 20 ? * MON-FRI *)"';
const cronKey = (description: string) =>
    key<string>({
        type: "string",
        description,
        default: "",
        allowed: CRON_ALLOWED,
        schema: z.string().refine((v) => {
            if (v === "") return true;
            const p = parseWeeklyCron(v);
            return !!p && p.minute <= 59 - STOP_STAGGER_MINUTES.last;
        }),
    });

/**
 * The images the program runs by default besides the Airflow image it builds (for the tasks'
 * architecture), each with the page that shows it published for both linux/amd64 and linux/arm64, so
 * that airflow:cpuArchitecture can be either. A default image not listed here fails
 * tests/levers.test.ts until someone has checked it.
 */
export const MULTI_ARCH_IMAGES: Readonly<Record<string, string>> = {
    [DEFAULT_JOB_IMAGE]:
        "https://hub.docker.com/_/python (official image: amd64, arm64v8 and others; ECR Public mirrors Docker's library)",
    [DEFAULT_METRICS_AGENT_IMAGE]:
        "https://gallery.ecr.aws/aws-observability/aws-otel-collector (Linux x86-64 and ARM 64; the project publishes an arm64 manifest since v0.23.0 and runs its end-to-end tests on arm64, .github/workflows/CI-e2etest-eks-arm64.yml)",
};

export const leverKeys = {
    cpuArchitecture: enumKey(
        CPU_ARCHITECTURES,
        "X86_64",
        "CPU architecture of every Fargate task (the Celery services and the Fargate jobs) and of the Airflow image the program builds. ARM64 (Graviton) costs about 20% less; every image used is multi-arch (README, Cost).",
    ),
    spotServices: boolKey(
        false,
        "Run the stateless services (api-server, dag-processor, triggerer, Flower) on FARGATE_SPOT; with airflow:apiServerCount of 2 or more, one api-server stays on FARGATE. Not allowed on production stacks.",
    ),
    offHoursStop: cronKey(
        "When every Celery service scales to zero (ECS scheduled scaling), as a weekly cron in airflow:offHoursTimezone: the schedulers stop at that minute, the other services 2 minutes later, the api-server and control service 5 minutes later. Empty: always on. Needs airflow:offHoursStart; not allowed on production stacks.",
    ),
    offHoursStart: cronKey(
        "When every Celery service scales back up, as a weekly cron in airflow:offHoursTimezone. Empty: always on. Needs airflow:offHoursStop.",
    ),
    offHoursTimezone: key<string>({
        type: "string",
        description: "IANA time zone of airflow:offHoursStop and airflow:offHoursStart.",
        default: "UTC",
        allowed: 'an IANA time zone name, e.g. "UTC" or "Europe/Berlin"',
        schema: z.string().refine(isTimeZone),
    }),
    containerInsights: boolKey(
        true,
        "Container Insights on the ECS cluster (per-task CPU, memory and network metrics, billed as custom metrics). Off: only the services' basic ECS metrics.",
    ),
} satisfies Record<string, KeySpec<unknown>>;

/** The off-hours schedule of a stack: when the services stop and start. */
export interface OffHours {
    readonly stop: string;
    readonly start: string;
    readonly timezone: string;
}

/**
 * The levers refused on a production stack, and the off-hours keys that go together: the one place
 * this rule is written.
 */
export function leverRules(v: {
    production: boolean;
    spotServices: boolean;
    offHoursStop: string;
    offHoursStart: string;
}): string[] {
    const errors: string[] = [];
    if (v.production && v.spotServices)
        errors.push(
            "airflow:spotServices must be false on a production stack (airflow:production is true): Spot tasks can be stopped at any time, got true",
        );
    if (v.production && (v.offHoursStop || v.offHoursStart))
        errors.push(
            `airflow:offHoursStop and airflow:offHoursStart must be empty on a production stack (airflow:production is true), got ${shown(v.offHoursStop)} and ${shown(v.offHoursStart)}`,
        );
    if (!v.offHoursStop !== !v.offHoursStart)
        errors.push(
            `airflow:offHoursStop and airflow:offHoursStart must be set together, got ${shown(v.offHoursStop)} and ${shown(v.offHoursStart)}`,
        );
    return errors;
}
