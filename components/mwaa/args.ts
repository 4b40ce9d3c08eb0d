// MwaaEnvironment's arguments: their types, defaults and the up-front check.
import * as pulumi from "@pulumi/pulumi";
import { CELERY_DEFAULTS, CONFIG_KEYS, MWAA_DEFAULTS, MwaaConfig } from "../../config";
import { MWAA_VERSIONS_ALLOWED } from "../../config/core";
import {
    capacityViolations,
    defaultCapacity,
    MWAA_LOG_MODULES,
    MwaaCapacity,
    MwaaEnvironmentClass,
    MwaaLogLevel,
    MwaaLogModule,
    MwaaWebserverAccessMode,
    rangeText,
    reservedOptionsViolation,
} from "../../config/mwaa";
import { isCidr, KeySpec } from "../../config/spec";
import { DEFAULT_AIRFLOW_VERSION, mwaaPython } from "../../config/versions";
import { ARTIFACT_KEYS } from "../storage";

/** MWAA creates, updates (a new requirements.txt, a class change) and deletes in 20 to 40 minutes. */
export const MWAA_TIMEOUTS = { create: "2h", update: "2h", delete: "1h" } as const;

/**
 * The log group MWAA writes each module's logs to: `airflow-<environment name>-<suffix>`. The suffixes
 * are MWAA's own spelling ("DAGProcessing", as in the CloudWatchLogGroupArn example of
 * https://docs.aws.amazon.com/mwaa/latest/API/API_ModuleLoggingConfiguration.html, and "WebServer"),
 * not the module names of the LoggingConfiguration.
 */
export const MWAA_LOG_GROUP_SUFFIXES: Readonly<Record<MwaaLogModule, string>> = {
    DagProcessing: "DAGProcessing",
    Scheduler: "Scheduler",
    Task: "Task",
    Webserver: "WebServer",
    Worker: "Worker",
};

/** The name of the log group MWAA writes a module's logs to. */
export function mwaaLogGroupName(environmentName: string, module: MwaaLogModule): string {
    return `airflow-${environmentName}-${MWAA_LOG_GROUP_SUFFIXES[module]}`;
}

/** MWAA's environment names: a letter, then letters, digits, hyphens or underscores; 80 at most. */
const MWAA_NAME = /^[a-zA-Z][0-9a-zA-Z_-]{0,79}$/;

/** The artifacts bucket layout MWAA reads: the same keys AirflowStorage uploads to on both layouts. */
export const MWAA_S3_PATHS = {
    dags: ARTIFACT_KEYS.dags.replace(/\/$/, ""),
    requirements: ARTIFACT_KEYS.requirements,
    plugins: ARTIFACT_KEYS.plugins,
} as const;

export interface MwaaEnvironmentArgs {
    /**
     * Environment name of the stack: the Secrets Manager backend reads `airflow/<environment>/connections/*`
     * and `airflow/<environment>/variables/*`, the same prefixes as the Celery layout. Required.
     */
    environment: string;
    /** Apache Airflow version, one of MWAA_AIRFLOW_VERSIONS in config/versions.ts. Default: DEFAULT_AIRFLOW_VERSION. */
    airflowVersion?: string;
    /** "mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge" or "mw1.2xlarge". Default: "mw1.small". */
    environmentClass?: MwaaEnvironmentClass;
    /** Workers always running, within the class's limits. Default: 1. */
    minWorkers?: number;
    /** Workers MWAA scales up to, within the class's limits, at least minWorkers. Default: 2 (1 on mw1.micro). */
    maxWorkers?: number;
    /** Schedulers: 1 on mw1.micro, 2 to 5 on the other classes. Default: 2 (1 on mw1.micro). */
    schedulers?: number;
    /** Web servers always running: 1 on mw1.micro, 2 to 5 otherwise. Default: 2 (1 on mw1.micro). */
    minWebservers?: number;
    /** Web servers MWAA scales up to, at least minWebservers. Default: 2 (1 on mw1.micro). */
    maxWebservers?: number;
    /** "PRIVATE_ONLY" (a VPC endpoint in the subnets) or "PUBLIC_ONLY". Default: "PRIVATE_ONLY". */
    webserverAccessMode?: MwaaWebserverAccessMode;
    /** Start of the weekly maintenance window, `DAY:HH:MM` in UTC on the hour or half hour. Default: "SUN:03:00". */
    weeklyMaintenanceWindowStart?: string;
    /**
     * CloudWatch logging: every module (DagProcessing, Scheduler, Task, Webserver, Worker) is enabled at
     * `level` ("CRITICAL", "ERROR", "WARNING", "INFO" or "DEBUG"), except those in `modules`.
     * Default: every module at "INFO".
     */
    logging?: { level?: MwaaLogLevel; modules?: Partial<Record<MwaaLogModule, MwaaLogLevel>> };
    /**
     * Retention in days (a value CloudWatch Logs accepts) of the five module log groups
     * `airflow-<name>-<Module>`, which the component creates before the environment: MWAA would
     * otherwise create them itself, kept forever. Default: 30.
     */
    logRetentionDays?: number;
    /**
     * Airflow configuration options, `section.key` (lowercase letters, digits, underscores) to string.
     * `secrets.backend` and `secrets.backend_kwargs` are set by the component and cannot be given.
     * Default: none.
     */
    airflowConfigurationOptions?: Record<string, string>;
    /** Where the environment runs. Required. */
    network: {
        /** The VPC of the subnets; the component's security group is created in it. */
        vpcId: pulumi.Input<string>;
        /**
         * Private subnets, at least two: MWAA runs in exactly two, in two different availability zones,
         * and the component takes the first two. Their number must be known when the program runs.
         */
        privateSubnetIds: pulumi.Input<string>[];
        /** The availability zone of each subnet of privateSubnetIds, in the same order. */
        availabilityZones: pulumi.Input<pulumi.Input<string>[]>;
        /**
         * CIDR blocks allowed to reach the web server's VPC endpoint over HTTPS (PRIVATE_ONLY), e.g. the
         * VPC's own block for a VPN or bastion that lands in it. Default: none (only the environment itself).
         */
        webserverIngressCidrs?: readonly string[];
    };
    /**
     * The artifacts bucket (AirflowStorage) MWAA reads DAGs, requirements and plugins from. Required.
     * A version given for requirements or plugins pins MWAA to that S3 object version, so that a new
     * upload triggers exactly one environment update; without one, MWAA gets no requirements or plugins.
     */
    source: {
        bucketArn: pulumi.Input<string>;
        /** Version id of requirements/requirements.txt. Default: no requirements file. */
        requirementsVersion?: pulumi.Input<string>;
        /** Version id of plugins/plugins.zip. Default: no plugins. */
        pluginsVersion?: pulumi.Input<string>;
        /** The uploads, so that the environment is created (and updated) after them. Default: none. */
        uploads?: pulumi.Resource[];
        /**
         * The bucket's versioning resource: MWAA refuses a bucket without versioning and pins object
         * versions, so the environment is created after it. Default: none (the bucket is versioned already).
         */
        versioning?: pulumi.Resource;
        /**
         * KMS key that encrypts the bucket (SSE-KMS); the execution role may decrypt with it through
         * S3 only. Default: none (SSE-S3).
         */
        kmsKeyArn?: pulumi.Input<string>;
    };
    /**
     * Protect the environment (and the run history in its metadata database) from `pulumi destroy`
     * and from replacement. It is not retained on delete: an orphaned environment keeps costing.
     * Default: false.
     */
    protectData?: boolean;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The stack configuration's mwaa slice as MwaaEnvironment's arguments: `Pick` fails to compile when
 * the slice has a field the arguments do not (a renamed key), and the assignment in index.ts when a
 * field's type differs. So index.ts passes the slice as it is, without copying fields.
 */
export type MwaaSettings = Pick<MwaaEnvironmentArgs, keyof MwaaConfig>;

export interface ResolvedArgs {
    environment: string;
    airflowVersion: string;
    environmentClass: MwaaEnvironmentClass;
    capacity: MwaaCapacity;
    webserverAccessMode: MwaaWebserverAccessMode;
    weeklyMaintenanceWindowStart: string;
    logLevels: Record<MwaaLogModule, MwaaLogLevel>;
    airflowConfigurationOptions: Record<string, string>;
    webserverIngressCidrs: readonly string[];
    logRetentionDays: number;
}

/** One broken rule: the field and the rest of the sentence (`must be ..., got ...`). */
export interface ArgViolation {
    field: string;
    message: string;
}

/** The arguments with the configuration keys' defaults applied, before they are checked. */
export function resolveMwaaDefaults(args: MwaaEnvironmentArgs): Omit<ResolvedArgs, "capacity" | "logLevels"> & {
    capacity?: Partial<MwaaCapacity>;
    logging: { level: MwaaLogLevel; modules: Partial<Record<MwaaLogModule, MwaaLogLevel>> };
    subnetCount: number;
} {
    return {
        environment: args.environment,
        airflowVersion: args.airflowVersion ?? DEFAULT_AIRFLOW_VERSION,
        environmentClass: args.environmentClass ?? MWAA_DEFAULTS.environmentClass,
        capacity: {
            minWorkers: args.minWorkers,
            maxWorkers: args.maxWorkers,
            schedulers: args.schedulers,
            minWebservers: args.minWebservers,
            maxWebservers: args.maxWebservers,
        },
        webserverAccessMode: args.webserverAccessMode ?? MWAA_DEFAULTS.webserverAccessMode,
        weeklyMaintenanceWindowStart: args.weeklyMaintenanceWindowStart ?? MWAA_DEFAULTS.weeklyMaintenanceWindowStart,
        logging: {
            level: args.logging?.level ?? MWAA_DEFAULTS.logging.level,
            modules: { ...MWAA_DEFAULTS.logging.modules, ...(args.logging?.modules ?? {}) },
        },
        airflowConfigurationOptions: {
            ...MWAA_DEFAULTS.airflowConfigurationOptions,
            ...(args.airflowConfigurationOptions ?? {}),
        },
        webserverIngressCidrs: args.network?.webserverIngressCidrs ?? [],
        logRetentionDays: args.logRetentionDays ?? CELERY_DEFAULTS.logRetentionDays,
        subnetCount: (args.network?.privateSubnetIds ?? []).length,
    };
}

/**
 * Every rule the arguments break, in field order. Each plain value is checked against its
 * configuration key's own schema and reported with the key's allowed values, and the rules between
 * settings are config/mwaa.ts's, so the loader and the component apply one rule.
 */
export function mwaaArgViolations(name: string, r: ReturnType<typeof resolveMwaaDefaults>): ArgViolation[] {
    const out: ArgViolation[] = [];
    const fail = (field: string, allowed: string, got: unknown) =>
        out.push({ field, message: `must be ${allowed}, got ${JSON.stringify(got)}` });
    if (!MWAA_NAME.test(name)) {
        fail("name", "a letter followed by up to 79 letters, digits, hyphens or underscores (MWAA's names)", name);
    }
    const keyed = (field: string, spec: KeySpec<unknown>, value: unknown) => {
        const ok = spec.schema.safeParse(value).success;
        if (!ok) fail(field, spec.allowed, value);
        return ok;
    };
    keyed("environment", CONFIG_KEYS.environment, r.environment);
    if (mwaaPython(r.airflowVersion) === undefined) fail("airflowVersion", MWAA_VERSIONS_ALLOWED, r.airflowVersion);
    if (keyed("environmentClass", CONFIG_KEYS.mwaaEnvironmentClass, r.environmentClass)) {
        // The class's limits (config/mwaa.ts), on the counts given and the class's defaults for the rest.
        const capacity = mwaaCapacity(r.environmentClass, r.capacity);
        for (const v of capacityViolations(r.environmentClass, capacity)) {
            if ("range" in v)
                fail(v.field, `${rangeText(v.range)} on ${r.environmentClass} (MWAA's limit for the class)`, v.got);
            else fail(v.field, `at least ${v.atLeast} (${capacity[v.atLeast]})`, v.got);
        }
    }
    keyed("webserverAccessMode", CONFIG_KEYS.mwaaWebserverAccessMode, r.webserverAccessMode);
    keyed("weeklyMaintenanceWindowStart", CONFIG_KEYS.mwaaMaintenanceWindowStart, r.weeklyMaintenanceWindowStart);
    keyed("logging.level", CONFIG_KEYS.mwaaLogLevel, r.logging.level);
    keyed("logging.modules", CONFIG_KEYS.mwaaModuleLogLevels, r.logging.modules);
    if (keyed("airflowConfigurationOptions", CONFIG_KEYS.mwaaConfigurationOptions, r.airflowConfigurationOptions)) {
        const reserved = reservedOptionsViolation(r.airflowConfigurationOptions);
        if (reserved) out.push({ field: "airflowConfigurationOptions", message: reserved });
    }
    if (r.subnetCount < 2) {
        fail(
            "network.privateSubnetIds",
            "at least 2 private subnets in different availability zones (MWAA runs in exactly two)",
            r.subnetCount,
        );
    }
    keyed("logRetentionDays", CONFIG_KEYS.logRetentionDays, r.logRetentionDays);
    if (!r.webserverIngressCidrs.every((c) => isCidr(c))) {
        fail("network.webserverIngressCidrs", "a list of CIDR blocks", r.webserverIngressCidrs);
    }
    return out;
}

/** The counts given, and the class's default for each one left out. */
function mwaaCapacity(environmentClass: MwaaEnvironmentClass, given: Partial<MwaaCapacity> = {}): MwaaCapacity {
    const defaults = defaultCapacity(environmentClass);
    const fields = Object.keys(defaults) as (keyof MwaaCapacity)[];
    return Object.fromEntries(fields.map((f) => [f, given[f] ?? defaults[f]])) as unknown as MwaaCapacity;
}

/** Applies the defaults and checks the arguments, throwing a ResourceError naming the first bad field. */
export function validateArgs(name: string, args: MwaaEnvironmentArgs, resource: pulumi.Resource): ResolvedArgs {
    const r = resolveMwaaDefaults(args);
    const problem = mwaaArgViolations(name, r)[0];
    if (problem)
        throw new pulumi.ResourceError(`MwaaEnvironment ${name}: ${problem.field} ${problem.message}`, resource);
    const logLevels = Object.fromEntries(
        MWAA_LOG_MODULES.map((m) => [m, r.logging.modules[m] ?? r.logging.level]),
    ) as Record<MwaaLogModule, MwaaLogLevel>;
    return {
        environment: r.environment,
        airflowVersion: r.airflowVersion,
        environmentClass: r.environmentClass,
        capacity: mwaaCapacity(r.environmentClass, r.capacity),
        webserverAccessMode: r.webserverAccessMode,
        weeklyMaintenanceWindowStart: r.weeklyMaintenanceWindowStart,
        logLevels,
        airflowConfigurationOptions: r.airflowConfigurationOptions,
        webserverIngressCidrs: r.webserverIngressCidrs,
        logRetentionDays: r.logRetentionDays,
    };
}
