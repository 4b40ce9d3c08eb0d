import { SHARED_AIRFLOW_OPTION_NAMES } from "../lib/airflow";
import { z } from "zod";
import { choiceText, enumKey, key, KeySpec, shown } from "./spec";

export const MWAA_ENVIRONMENT_CLASSES = [
    "mw1.micro",
    "mw1.small",
    "mw1.medium",
    "mw1.large",
    "mw1.xlarge",
    "mw1.2xlarge",
] as const;
export type MwaaEnvironmentClass = (typeof MWAA_ENVIRONMENT_CLASSES)[number];

/** How the Airflow UI is reached: through a VPC endpoint in the private subnets, or from the internet. */
export const MWAA_WEBSERVER_ACCESS_MODES = ["PRIVATE_ONLY", "PUBLIC_ONLY"] as const;
export type MwaaWebserverAccessMode = (typeof MWAA_WEBSERVER_ACCESS_MODES)[number];

/** The Airflow components MWAA sends logs for, each to its own log group `airflow-<name>-<Module>`. */
export const MWAA_LOG_MODULES = ["DagProcessing", "Scheduler", "Task", "Webserver", "Worker"] as const;
export type MwaaLogModule = (typeof MWAA_LOG_MODULES)[number];

export const MWAA_LOG_LEVELS = ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] as const;
export type MwaaLogLevel = (typeof MWAA_LOG_LEVELS)[number];

/** An inclusive range of counts. */
export interface CountRange {
    readonly min: number;
    readonly max: number;
}

/** What MWAA accepts for the counts of one environment class. */
export interface MwaaClassLimits {
    /** Workers, for both the minimum and the maximum (autoscaling runs between the two). */
    readonly workers: CountRange;
    readonly schedulers: CountRange;
    /** Web servers, for both the minimum and the maximum. */
    readonly webservers: CountRange;
}

const MICRO: MwaaClassLimits = {
    workers: { min: 1, max: 1 },
    schedulers: { min: 1, max: 1 },
    webservers: { min: 1, max: 1 },
};
const LARGER: MwaaClassLimits = {
    workers: { min: 1, max: 25 },
    schedulers: { min: 2, max: 5 },
    webservers: { min: 2, max: 5 },
};

/**
 * MWAA's limits per environment class: the one place they are written down (the config rules and
 * the MwaaEnvironment component both check against it).
 *
 * Sources (Amazon MWAA User Guide and API Reference):
 *  - "Configuring the Amazon MWAA environment class"
 *    (https://docs.aws.amazon.com/mwaa/latest/userguide/environment-class.html): mw1.micro runs one
 *    combined worker-and-scheduler container and one web server and does not autoscale; the other
 *    classes take 2 to 5 schedulers.
 *  - CreateEnvironment (https://docs.aws.amazon.com/mwaa/latest/API/API_CreateEnvironment.html):
 *    Schedulers, MinWebservers and MaxWebservers "for environments larger than mw1.micro, accepts
 *    values from 2 to 5", 1 on mw1.micro; MinWorkers and MaxWorkers at least 1.
 *  - MWAA FAQ, "Can I specify more than 25 Apache Airflow workers?"
 *    (https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-faqs.html#scaling-quota): 25 workers per
 *    environment, on every class; AWS Support can raise it (to at most 50). An account with a raised
 *    quota changes `LARGER.workers.max` here, and nothing else.
 */
export const MWAA_CLASS_LIMITS: Readonly<Record<MwaaEnvironmentClass, MwaaClassLimits>> = {
    "mw1.micro": MICRO,
    "mw1.small": LARGER,
    "mw1.medium": LARGER,
    "mw1.large": LARGER,
    "mw1.xlarge": LARGER,
    "mw1.2xlarge": LARGER,
};

/** The counts of an MWAA environment. */
export interface MwaaCapacity {
    readonly minWorkers: number;
    readonly maxWorkers: number;
    readonly schedulers: number;
    readonly minWebservers: number;
    readonly maxWebservers: number;
}

/**
 * The counts a class gets when they are not set: the least it allows, and autoscaling up to 2 workers
 * (1 on mw1.micro). Cheap, and always within the class's limits.
 */
export function defaultCapacity(environmentClass: MwaaEnvironmentClass): MwaaCapacity {
    const l = MWAA_CLASS_LIMITS[environmentClass];
    return {
        minWorkers: l.workers.min,
        maxWorkers: Math.min(2, l.workers.max),
        schedulers: l.schedulers.min,
        minWebservers: l.webservers.min,
        maxWebservers: l.webservers.min,
    };
}

/**
 * One count MWAA would refuse: outside the class's range (`range`), or a maximum below its minimum
 * (`atLeast` names the minimum's field).
 */
export type CapacityViolation =
    | { readonly field: keyof MwaaCapacity; readonly got: number; readonly range: CountRange }
    | { readonly field: keyof MwaaCapacity; readonly got: number; readonly atLeast: keyof MwaaCapacity };

/** "1", or "from 2 to 5". */
export function rangeText(r: CountRange): string {
    return r.min === r.max ? `${r.min}` : `from ${r.min} to ${r.max}`;
}

/**
 * Every count MWAA would refuse for this class, in field order: each must be a whole number in the
 * class's range, and each maximum at least its minimum.
 */
export function capacityViolations(
    environmentClass: MwaaEnvironmentClass,
    capacity: MwaaCapacity,
): CapacityViolation[] {
    const l = MWAA_CLASS_LIMITS[environmentClass];
    const violations: CapacityViolation[] = [];
    const ranges: [keyof MwaaCapacity, CountRange][] = [
        ["minWorkers", l.workers],
        ["maxWorkers", l.workers],
        ["schedulers", l.schedulers],
        ["minWebservers", l.webservers],
        ["maxWebservers", l.webservers],
    ];
    for (const [field, range] of ranges) {
        const got = capacity[field];
        if (!Number.isInteger(got) || got < range.min || got > range.max) violations.push({ field, got, range });
    }
    const pairs: [keyof MwaaCapacity, keyof MwaaCapacity][] = [
        ["minWorkers", "maxWorkers"],
        ["minWebservers", "maxWebservers"],
    ];
    for (const [min, max] of pairs) {
        if (violations.some((v) => v.field === min || v.field === max)) continue;
        if (capacity[max] < capacity[min]) violations.push({ field: max, got: capacity[max], atLeast: min });
    }
    return violations;
}

/** MWAA's weekly maintenance window start: `DAY:HH:MM` in UTC, on the hour or half hour. */
export const MAINTENANCE_WINDOW_PATTERN = /^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$/;

/** An Airflow configuration option as MWAA takes it: `section.key`. */
export const CONFIGURATION_OPTION_PATTERN = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/**
 * Options the program sets itself, the same on both layouts (lib/airflow.ts): connections and
 * variables from Secrets Manager, deferrable operators. Overriding them on MWAA alone would make prod
 * behave differently from staging.
 */
export const RESERVED_CONFIGURATION_OPTIONS = SHARED_AIRFLOW_OPTION_NAMES;

/** A count key: unset means the class's default (see defaultCapacity), when that depends on the class. */
function countKey(
    limit: (l: MwaaClassLimits) => CountRange,
    defaultText: string,
    description: string,
    def?: number,
): KeySpec<number | undefined> {
    const [micro, larger] = [limit(MICRO), limit(LARGER)];
    return key<number | undefined>({
        type: "integer",
        description,
        default: def,
        defaultText,
        allowed: `a whole number: ${rangeText(micro)} on mw1.micro, ${rangeText(larger)} on the other classes`,
        schema: z.number().int().min(Math.min(micro.min, larger.min)).max(Math.max(micro.max, larger.max)).optional(),
    });
}

const LOG_LEVEL_MAP = z.partialRecord(z.enum(MWAA_LOG_MODULES), z.enum(MWAA_LOG_LEVELS));

/** Keys of the mwaa layout (Amazon MWAA, prod). Read on every stack; used when airflow:layout is "mwaa". */
export const mwaaKeys = {
    mwaaEnvironmentClass: enumKey(
        MWAA_ENVIRONMENT_CLASSES,
        "mw1.small",
        "MWAA environment class (mwaa layout): the size of the scheduler, worker and web server containers and of the metadata database. mw1.micro runs one scheduler, one worker and one web server and does not autoscale.",
    ),
    mwaaMinWorkers: countKey((l) => l.workers, "1", "Workers MWAA always runs (mwaa layout).", 1),
    mwaaMaxWorkers: countKey(
        (l) => l.workers,
        "2 (1 on mw1.micro)",
        "Workers MWAA scales up to when tasks queue (mwaa layout); at least airflow:mwaaMinWorkers.",
    ),
    mwaaSchedulers: countKey(
        (l) => l.schedulers,
        "2 (1 on mw1.micro)",
        "Airflow schedulers (mwaa layout). MWAA runs as many triggerers as schedulers.",
    ),
    mwaaMinWebservers: countKey(
        (l) => l.webservers,
        "2 (1 on mw1.micro)",
        "Web servers MWAA always runs (mwaa layout).",
    ),
    mwaaMaxWebservers: countKey(
        (l) => l.webservers,
        "2 (1 on mw1.micro)",
        "Web servers MWAA scales up to under UI, API and CLI load (mwaa layout); at least airflow:mwaaMinWebservers.",
    ),
    mwaaWebserverAccessMode: enumKey(
        MWAA_WEBSERVER_ACCESS_MODES,
        "PRIVATE_ONLY",
        "How the Airflow UI is reached (mwaa layout): PRIVATE_ONLY through a VPC endpoint in the private subnets (HTTPS from inside the VPC), or PUBLIC_ONLY from the internet (still behind AWS sign-in).",
    ),
    mwaaMaintenanceWindowStart: key<string>({
        type: "string",
        description:
            "Start of MWAA's weekly maintenance window, in UTC (mwaa layout). MWAA may restart Airflow during the following hours.",
        default: "SUN:03:00",
        allowed:
            'DAY:HH:MM in UTC with DAY one of MON, TUE, WED, THU, FRI, SAT, SUN and minutes 00 or 30, e.g. "SUN:03:00"',
        schema: z.string().regex(MAINTENANCE_WINDOW_PATTERN),
    }),
    mwaaLogLevel: enumKey(
        MWAA_LOG_LEVELS,
        "INFO",
        "Level of the logs every Airflow component sends to CloudWatch Logs (mwaa layout). The Airflow UI shows task logs from CloudWatch, so a level above INFO hides most of what a task prints.",
    ),
    mwaaModuleLogLevels: key<Partial<Record<MwaaLogModule, MwaaLogLevel>>>({
        type: "object",
        description:
            "Per-component overrides of airflow:mwaaLogLevel (mwaa layout), e.g. {Webserver: WARNING}. Set as a YAML map in the stack file.",
        default: {},
        allowed: `a map from ${choiceText(MWAA_LOG_MODULES)} to ${choiceText(MWAA_LOG_LEVELS)}`,
        schema: LOG_LEVEL_MAP as z.ZodType<Partial<Record<MwaaLogModule, MwaaLogLevel>>>,
    }),
    mwaaConfigurationOptions: key<Record<string, string>>({
        type: "object",
        description:
            'Airflow configuration options MWAA sets (mwaa layout), e.g. {core.default_task_retries: "2"}. The secrets backend is set by the program. Set as a YAML map in the stack file.',
        default: {},
        allowed:
            "a map from Airflow options written section.key (lowercase letters, digits and underscores) to string values (quote numbers and booleans)",
        schema: z.record(z.string().regex(CONFIGURATION_OPTION_PATTERN), z.string()),
    }),
} satisfies Record<string, KeySpec<unknown>>;

/** The config key of each count. */
export const CAPACITY_KEYS = {
    minWorkers: "mwaaMinWorkers",
    maxWorkers: "mwaaMaxWorkers",
    schedulers: "mwaaSchedulers",
    minWebservers: "mwaaMinWebservers",
    maxWebservers: "mwaaMaxWebservers",
} as const satisfies Record<keyof MwaaCapacity, string>;

type MwaaCapacityValues = { readonly mwaaEnvironmentClass: MwaaEnvironmentClass } & {
    readonly [K in (typeof CAPACITY_KEYS)[keyof MwaaCapacity]]: number | undefined;
};

/** The counts a stack asks for: each key that is set, the class's default for the others. */
export function resolveCapacity(v: MwaaCapacityValues): MwaaCapacity {
    const defaults = defaultCapacity(v.mwaaEnvironmentClass);
    const fields = Object.keys(CAPACITY_KEYS) as (keyof MwaaCapacity)[];
    return Object.fromEntries(fields.map((f) => [f, v[CAPACITY_KEYS[f]] ?? defaults[f]])) as unknown as MwaaCapacity;
}

/** Cross-key check: every count within the environment class's limits (MWAA_CLASS_LIMITS). */
export function mwaaCapacityRules(v: MwaaCapacityValues): string[] {
    const cls = v.mwaaEnvironmentClass;
    const keyName = (field: keyof MwaaCapacity) => `airflow:${CAPACITY_KEYS[field]}`;
    return capacityViolations(cls, resolveCapacity(v)).map((violation) => {
        const got =
            v[CAPACITY_KEYS[violation.field]] === undefined
                ? `${violation.got} (its default on ${cls})`
                : `${violation.got}`;
        const allowed =
            "range" in violation
                ? `${rangeText(violation.range)} when airflow:mwaaEnvironmentClass is ${JSON.stringify(cls)} (MWAA's limit for the class)`
                : `at least ${keyName(violation.atLeast)} (${resolveCapacity(v)[violation.atLeast]})`;
        return `${keyName(violation.field)} must be ${allowed}, got ${got}`;
    });
}

/**
 * What is wrong with configuration options that set one the program owns (`must not set ..., got ...`),
 * or undefined. The one rule the loader (airflow:mwaaConfigurationOptions) and MwaaEnvironment's
 * up-front check (airflowConfigurationOptions) both report.
 */
export function reservedOptionsViolation(options: Readonly<Record<string, unknown>>): string | undefined {
    const reserved = RESERVED_CONFIGURATION_OPTIONS.filter((k) => k in options);
    if (reserved.length === 0) return undefined;
    return `must not set ${reserved.map((k) => JSON.stringify(k)).join(" or ")} (the program sets it the same on both layouts: the Secrets Manager backend under airflow/<environment>/, deferrable operators), got ${shown(options)}`;
}

/** Cross-key check: the configuration options leave the shared options to the program. */
export function mwaaOptionRules(v: { readonly mwaaConfigurationOptions: Readonly<Record<string, string>> }): string[] {
    const violation = reservedOptionsViolation(v.mwaaConfigurationOptions);
    return violation === undefined ? [] : [`airflow:mwaaConfigurationOptions ${violation}`];
}
