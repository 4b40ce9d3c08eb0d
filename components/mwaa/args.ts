// MwaaEnvironment's arguments: their types, defaults and the up-front check.
import * as pulumi from "@pulumi/pulumi";
import { CELERY_DEFAULTS, MWAA_DEFAULTS, MwaaConfig } from "../../config";
import { ENVIRONMENT_ALLOWED, ENVIRONMENT_PATTERN } from "../../config/core";
import {
    CONFIGURATION_OPTION_PATTERN,
    capacityViolations,
    defaultCapacity,
    MAINTENANCE_WINDOW_PATTERN,
    MWAA_ENVIRONMENT_CLASSES,
    MWAA_LOG_LEVELS,
    MWAA_LOG_MODULES,
    MWAA_WEBSERVER_ACCESS_MODES,
    MwaaCapacity,
    MwaaEnvironmentClass,
    MwaaLogLevel,
    MwaaLogModule,
    MwaaWebserverAccessMode,
    rangeText,
    RESERVED_CONFIGURATION_OPTIONS,
} from "../../config/mwaa";
import { choiceText, isCidr, LOG_RETENTION_DAYS } from "../../config/spec";
import { DEFAULT_AIRFLOW_VERSION, MWAA_AIRFLOW_VERSIONS, mwaaPython } from "../../config/versions";
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

export function validateArgs(name: string, args: MwaaEnvironmentArgs, resource: pulumi.Resource): ResolvedArgs {
    const fail = (field: string, allowed: string, got: unknown): never => {
        throw new pulumi.ResourceError(
            `MwaaEnvironment ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    if (!MWAA_NAME.test(name)) {
        fail("name", "a letter followed by up to 79 letters, digits, hyphens or underscores (MWAA's names)", name);
    }
    if (!ENVIRONMENT_PATTERN.test(args.environment ?? "")) {
        fail("environment", ENVIRONMENT_ALLOWED, args.environment);
    }
    const airflowVersion = args.airflowVersion ?? DEFAULT_AIRFLOW_VERSION;
    if (mwaaPython(airflowVersion) === undefined) {
        fail("airflowVersion", choiceText(MWAA_AIRFLOW_VERSIONS.map((v) => v.airflow)), airflowVersion);
    }
    const environmentClass = args.environmentClass ?? MWAA_DEFAULTS.environmentClass;
    if (!MWAA_ENVIRONMENT_CLASSES.includes(environmentClass)) {
        fail("environmentClass", choiceText(MWAA_ENVIRONMENT_CLASSES), environmentClass);
    }
    const defaults = defaultCapacity(environmentClass);
    const capacity: MwaaCapacity = {
        minWorkers: args.minWorkers ?? defaults.minWorkers,
        maxWorkers: args.maxWorkers ?? defaults.maxWorkers,
        schedulers: args.schedulers ?? defaults.schedulers,
        minWebservers: args.minWebservers ?? defaults.minWebservers,
        maxWebservers: args.maxWebservers ?? defaults.maxWebservers,
    };
    for (const v of capacityViolations(environmentClass, capacity)) {
        if ("range" in v)
            fail(v.field, `${rangeText(v.range)} on ${environmentClass} (MWAA's limit for the class)`, v.got);
        else fail(v.field, `at least ${v.atLeast} (${capacity[v.atLeast]})`, v.got);
    }
    const webserverAccessMode = args.webserverAccessMode ?? MWAA_DEFAULTS.webserverAccessMode;
    if (!MWAA_WEBSERVER_ACCESS_MODES.includes(webserverAccessMode)) {
        fail("webserverAccessMode", choiceText(MWAA_WEBSERVER_ACCESS_MODES), webserverAccessMode);
    }
    const weeklyMaintenanceWindowStart =
        args.weeklyMaintenanceWindowStart ?? MWAA_DEFAULTS.weeklyMaintenanceWindowStart;
    if (!MAINTENANCE_WINDOW_PATTERN.test(weeklyMaintenanceWindowStart)) {
        fail(
            "weeklyMaintenanceWindowStart",
            'DAY:HH:MM in UTC (MON to SUN, minutes 00 or 30), e.g. "SUN:03:00"',
            weeklyMaintenanceWindowStart,
        );
    }
    const level = args.logging?.level ?? MWAA_DEFAULTS.logging.level;
    if (!MWAA_LOG_LEVELS.includes(level)) fail("logging.level", choiceText(MWAA_LOG_LEVELS), level);
    const logLevels = Object.fromEntries(MWAA_LOG_MODULES.map((m) => [m, level])) as Record<
        MwaaLogModule,
        MwaaLogLevel
    >;
    for (const [module, moduleLevel] of Object.entries(args.logging?.modules ?? {})) {
        if (!(MWAA_LOG_MODULES as readonly string[]).includes(module)) {
            fail("logging.modules", `a map from ${choiceText(MWAA_LOG_MODULES)} to a level`, module);
        }
        if (!MWAA_LOG_LEVELS.includes(moduleLevel)) {
            fail(`logging.modules.${module}`, choiceText(MWAA_LOG_LEVELS), moduleLevel);
        }
        logLevels[module as MwaaLogModule] = moduleLevel;
    }
    const options = args.airflowConfigurationOptions ?? {};
    for (const [option, value] of Object.entries(options)) {
        if (!CONFIGURATION_OPTION_PATTERN.test(option)) {
            fail(
                "airflowConfigurationOptions",
                "keyed by section.key (lowercase letters, digits and underscores)",
                option,
            );
        }
        if ((RESERVED_CONFIGURATION_OPTIONS as readonly string[]).includes(option)) {
            fail(
                "airflowConfigurationOptions",
                `without ${choiceText(RESERVED_CONFIGURATION_OPTIONS)} (the component sets them the same as the Celery layout)`,
                option,
            );
        }
        if (typeof value !== "string") fail(`airflowConfigurationOptions["${option}"]`, "a string", value);
    }
    const subnets = args.network?.privateSubnetIds ?? [];
    if (subnets.length < 2) {
        fail(
            "network.privateSubnetIds",
            "at least 2 private subnets in different availability zones (MWAA runs in exactly two)",
            subnets.length,
        );
    }
    const logRetentionDays = args.logRetentionDays ?? CELERY_DEFAULTS.logRetentionDays;
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
        fail("logRetentionDays", choiceText(LOG_RETENTION_DAYS), logRetentionDays);
    }
    const webserverIngressCidrs = args.network.webserverIngressCidrs ?? [];
    if (!webserverIngressCidrs.every((c) => isCidr(c))) {
        fail("network.webserverIngressCidrs", "a list of CIDR blocks", webserverIngressCidrs);
    }
    return {
        environment: args.environment,
        airflowVersion,
        environmentClass,
        capacity,
        webserverAccessMode,
        weeklyMaintenanceWindowStart,
        logLevels,
        airflowConfigurationOptions: { ...options },
        webserverIngressCidrs,
        logRetentionDays,
    };
}
