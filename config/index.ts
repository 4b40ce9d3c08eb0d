import * as pulumi from "@pulumi/pulumi";
import {
    celeryKeys,
    serviceSizeRules,
    SIZED_SERVICES,
    SizedService,
    WebAccess,
    WorkerPool,
    workerPoolRules,
} from "./celery";
import { arnRules, AwsTarget, instanceTypeRules } from "./aws";
import { coreKeys, coreRules, Layout, versionRules } from "./core";
import { costKeys } from "./cost";
import { InterfaceEndpoint, NatStrategy, networkKeys, networkRules } from "./network";
import { jobKeys, jobRules } from "./jobs";
import { CpuArchitecture, leverKeys, leverRules, OffHours } from "./levers";
import {
    MwaaCapacity,
    mwaaCapacityRules,
    MwaaEnvironmentClass,
    mwaaKeys,
    MwaaLogLevel,
    MwaaLogModule,
    mwaaOptionRules,
    MwaaWebserverAccessMode,
    resolveCapacity,
} from "./mwaa";
import { mlKeys, mlRules } from "./ml";
import { observabilityKeys } from "./observability";
import { defaultOf, KeyMap, KeySpec, shown, ValuesOf } from "./spec";
import { httpsRules, productionKeyRules } from "./production";
import { Broker, storageKeys, storageRules } from "./storage";
import { airflowMajor, AirflowVersion } from "./versions";

export { LAYOUTS } from "./core";
export type { Layout } from "./core";
export { INTERFACE_ENDPOINTS, NAT_STRATEGIES } from "./network";
export type { InterfaceEndpoint, NatStrategy } from "./network";
export {
    DEFAULT_WORKER_POOLS,
    SIZED_SERVICES,
    WEB_ACCESS,
    WORKER_POOL_FIELD_DEFAULTS,
    workerPoolViolations,
} from "./celery";
export { ENVIRONMENT_PATTERN } from "./core";
export type { SizedService, WebAccess, WorkerPool } from "./celery";
export { MWAA_ENVIRONMENT_CLASSES, MWAA_LOG_LEVELS, MWAA_LOG_MODULES, MWAA_WEBSERVER_ACCESS_MODES } from "./mwaa";
export type { MwaaCapacity, MwaaEnvironmentClass, MwaaLogLevel, MwaaLogModule, MwaaWebserverAccessMode } from "./mwaa";
export { CPU_ARCHITECTURES, dockerPlatform, STOP_STAGGER_MINUTES } from "./levers";
export type { CpuArchitecture, OffHours } from "./levers";
export { BROKERS } from "./storage";
export type { Broker } from "./storage";
export { SAGEMAKER_TRAINING_INSTANCE_TYPES, SAGEMAKER_TRANSFORM_INSTANCE_TYPES } from "./aws-data";
export { MWAA_AIRFLOW_VERSIONS, SUPPORTED_AIRFLOW_VERSIONS } from "./versions";
export type { AirflowVersion } from "./versions";

/** The config namespace: the project name in Pulumi.yaml. */
export const NAMESPACE = "airflow";

/** Every key the program reads, by name (without the namespace). */
export const CONFIG_KEYS = {
    ...coreKeys,
    ...networkKeys,
    ...storageKeys,
    ...celeryKeys,
    ...jobKeys,
    ...leverKeys,
    ...mwaaKeys,
    ...mlKeys,
    ...costKeys,
    ...observabilityKeys,
} satisfies KeyMap;

export type ConfigValues = ValuesOf<typeof CONFIG_KEYS>;

/**
 * The network slice. Apart from `webAllowedCidrs` (the load balancer's listeners), field for field a
 * part of AirflowNetwork's arguments (components/network/args.ts `AirflowNetworkSettings`).
 */
export interface NetworkConfig {
    readonly cidrBlock: string;
    readonly azCount: 2 | 3;
    readonly natStrategy: NatStrategy;
    readonly interfaceEndpoints: readonly InterfaceEndpoint[];
    readonly flowLogs: { readonly enabled: boolean; readonly retentionDays: number };
    /** CIDR blocks allowed to reach the load balancer's listeners. */
    readonly webAllowedCidrs: readonly string[];
}

export interface StorageConfig {
    /** Keep stateful resources on delete and protect them from `pulumi destroy`. */
    readonly protectData: boolean;
    readonly artifacts: {
        /** KMS key ARN for SSE-KMS; undefined means SSE-S3 (AES256). */
        readonly kmsKeyArn?: string;
        readonly taskLogExpirationDays: number;
        readonly noncurrentVersionExpirationDays: number;
    };
    readonly secretRecoveryWindowDays: number;
    /** Days objects in the log bucket are kept. */
    readonly accessLogExpirationDays: number;
    readonly database: {
        readonly engineVersion: string;
        readonly instanceClass: string;
        readonly allocatedStorageGb: number;
        readonly maxAllocatedStorageGb: number;
        readonly multiAz: boolean;
        readonly backupRetentionDays: number;
        readonly deletionProtection: boolean;
        readonly performanceInsights: boolean;
    };
    readonly broker: { readonly type: Broker; readonly nodeType: string; readonly nodes: number };
    readonly sharedFileSystem: { readonly enabled: boolean; readonly backups: boolean };
}

/** SageMaker training jobs that Airflow starts (both layouts). */
export interface MlConfig {
    readonly training: {
        /** ml.<family>.<size> */
        readonly instanceType: string;
        readonly instanceCount: number;
        readonly volumeSizeGb: number;
        readonly maxRuntimeSeconds: number;
        /** Managed spot training; maxWaitSeconds >= maxRuntimeSeconds when enabled. */
        readonly spot: { readonly enabled: boolean; readonly maxWaitSeconds: number };
        readonly networkIsolation: boolean;
    };
    readonly transformInstanceType: string;
    /** A custom ECR image URI; undefined means SageMaker's built-in XGBoost for the region. */
    readonly imageUri?: string;
    /** Run jobs in the VPC's private subnets. */
    readonly vpcMode: boolean;
    readonly checkpointExpirationDays: number;
    readonly batchExpirationDays: number;
    /** SageMaker's shared log groups, when this stack owns them (airflow:mlOwnsLogGroups). */
    readonly logGroups?: { readonly retentionDays: number };
}

export interface CeleryConfig {
    /** Run Flower (redis broker only). */
    readonly flower: boolean;
    /** An image to run instead of building images/airflow. */
    readonly image?: string;
    readonly ecrKeepImages: number;
    readonly logRetentionDays: number;
    readonly webAccess: WebAccess;
    /** ACM certificate ARN given by the stack; undefined means one is issued for `domain`, or none. */
    readonly certificateArn?: string;
    /** The UI's DNS name and its Route 53 zone (undefined: looked up); undefined means no DNS name. */
    readonly domain?: { readonly name: string; readonly hostedZoneId?: string };
    /** The stack opted in to an internet-facing load balancer without HTTPS. */
    readonly publicPlainHttp: boolean;
    readonly dagSyncIntervalSeconds: number;
    readonly ecsExec: boolean;
    readonly apiServerCount: number;
    readonly schedulerCount: number;
    /** CPU units and memory (MiB) of each long-running service. */
    readonly sizes: Readonly<Record<SizedService, { readonly cpu: number; readonly memory: number }>>;
    readonly workerPools: readonly WorkerPool[];
    /** CPU architecture of every task and of the image the program builds. */
    readonly cpuArchitecture: CpuArchitecture;
    /** Run the api-server, dag-processor, triggerer and Flower on FARGATE_SPOT (non-production only). */
    readonly spotServices: boolean;
    /** When every service stops and starts again; undefined means always on (non-production only). */
    readonly offHours?: OffHours;
    /** Container Insights on the cluster. */
    readonly containerInsights: boolean;
    /** Image of the metrics sidecar in every task (airflow:metricsAgentImage; default: the ADOT collector on ECR Public). */
    readonly metricsAgentImage: string;
}

/** The Fargate jobs' slice: field for field a part of FargateJobs' arguments (`FargateJobsSettings`). */
export interface JobsConfig {
    readonly image: string;
    readonly cpu: number;
    readonly memory: number;
    readonly spot: boolean;
    readonly cpuArchitecture: CpuArchitecture;
}

/**
 * The mwaa layout (Amazon MWAA). Read and checked on every stack, used when the layout is "mwaa".
 * Field for field a part of MwaaEnvironment's arguments (components/mwaa/args.ts `MwaaSettings`), so
 * that index.ts passes it as it is.
 */
export interface MwaaConfig extends MwaaCapacity {
    readonly environmentClass: MwaaEnvironmentClass;
    readonly webserverAccessMode: MwaaWebserverAccessMode;
    /** `DAY:HH:MM` in UTC. */
    readonly weeklyMaintenanceWindowStart: string;
    /** CloudWatch logging: every module at `level`, except those in `modules`. */
    readonly logging: {
        readonly level: MwaaLogLevel;
        readonly modules: Readonly<Partial<Record<MwaaLogModule, MwaaLogLevel>>>;
    };
    /** Airflow options `section.key` -> value, without the secrets backend (the program sets it). */
    readonly airflowConfigurationOptions: Readonly<Record<string, string>>;
}

/** Alarms (both layouts): who is notified, and each alarm's threshold. */
export interface ObservabilityConfig {
    readonly notifications: { readonly emails: readonly string[]; readonly httpsEndpoints: readonly string[] };
    readonly thresholds: {
        readonly heartbeatMissingMinutes: number;
        readonly queuedWithoutWorkerMinutes: number;
        readonly oldestQueuedTaskMinutes: number;
        readonly importErrors: number;
        readonly failedDagRunsPerHour: number;
        readonly dbCpuPercent: number;
        readonly dbFreeStorageGb: number;
        readonly dbConnections: number;
        readonly lb5xxPer5Minutes: number;
        readonly unhealthyTargetMinutes: number;
    };
}

/** The whole validated stack configuration. Components receive parts of it, never `pulumi.Config`. */
export interface AirflowConfig {
    readonly project: string;
    readonly stack: string;
    /** aws:region of the stack (undefined only where no region is configured, e.g. unit tests). */
    readonly region?: string;
    readonly layout: Layout;
    readonly airflowVersion: AirflowVersion;
    readonly airflowMajor: 2 | 3;
    readonly environment: string;
    readonly production: boolean;
    /** The user's tags plus Project, Environment, Production ("true"/"false") and ManagedBy. */
    readonly tags: Readonly<Record<string, string>>;
    readonly network: NetworkConfig;
    readonly storage: StorageConfig;
    readonly celery: CeleryConfig;
    readonly jobs: JobsConfig;
    readonly mwaa: MwaaConfig;
    readonly ml: MlConfig;
    readonly observability: ObservabilityConfig;
}

/** Every problem with a stack's configuration, reported at once. */
export class ConfigError extends pulumi.RunError {
    constructor(
        public readonly errors: readonly string[],
        stack: string,
    ) {
        super(
            `Invalid configuration for stack "${stack}" (${errors.length} ${errors.length === 1 ? "error" : "errors"}):\n` +
                errors.map((e) => `  - ${e}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** A stack's configuration as given: full key names (`airflow:<key>`) to values, typed as in a stack file. */
export interface RawConfig {
    readonly project: string;
    readonly stack: string;
    readonly config: Readonly<Record<string, unknown>>;
}

/**
 * Reads the stack's configuration from the Pulumi engine, then checks it with {@link parseConfig}.
 */
export function loadConfig(): AirflowConfig {
    return parseConfig({ project: pulumi.getProject(), stack: pulumi.getStack(), config: readRaw() });
}

/**
 * Checks a stack's configuration as a whole and returns it typed and frozen. Pure: it reads no
 * engine state, so scripts can give it a stack file's `config:` block.
 * Throws a {@link ConfigError} listing every invalid value, each with its key, the value given and
 * what is allowed.
 */
export function parseConfig(raw: RawConfig): AirflowConfig {
    const { project, stack } = raw;
    const target = awsTarget(raw.config);
    const values = validate(raw, target);
    const environment = values.environment;
    return deepFreeze({
        project,
        stack,
        region: target.region,
        layout: values.layout,
        airflowVersion: values.airflowVersion,
        airflowMajor: airflowMajor(values.airflowVersion),
        environment,
        production: values.production,
        tags: {
            ...values.tags,
            Project: project,
            Environment: environment,
            Production: String(values.production),
            ManagedBy: "pulumi",
        },
        network: networkConfig(values),
        storage: storageConfig(values),
        celery: celeryConfig(values),
        jobs: jobsConfig(values),
        mwaa: mwaaConfig(values),
        ml: mlConfig(values),
        observability: {
            notifications: { emails: values.alarmEmails, httpsEndpoints: values.alarmHttpsEndpoints },
            thresholds: {
                heartbeatMissingMinutes: values.alarmHeartbeatMissingMinutes,
                queuedWithoutWorkerMinutes: values.alarmQueuedWithoutWorkerMinutes,
                oldestQueuedTaskMinutes: values.alarmOldestQueuedTaskMinutes,
                importErrors: values.alarmImportErrors,
                failedDagRunsPerHour: values.alarmFailedDagRunsPerHour,
                dbCpuPercent: values.alarmDbCpuPercent,
                dbFreeStorageGb: values.alarmDbFreeStorageGb,
                dbConnections: values.alarmDbConnections,
                lb5xxPer5Minutes: values.alarmLb5xxPer5Minutes,
                unhealthyTargetMinutes: values.alarmUnhealthyTargetMinutes,
            },
        },
    });
}

/** The network slice of the validated values. */
function networkConfig(values: ConfigValues): NetworkConfig {
    return {
        cidrBlock: values.vpcCidr,
        azCount: values.azCount as 2 | 3,
        natStrategy: values.natStrategy,
        interfaceEndpoints: values.interfaceEndpoints,
        flowLogs: { enabled: values.flowLogs, retentionDays: values.flowLogsRetentionDays },
        webAllowedCidrs: values.webAllowedCidrs,
    };
}

/** The storage slice of the validated values. */
function storageConfig(values: ConfigValues): StorageConfig {
    return {
        protectData: values.protectData,
        artifacts: {
            kmsKeyArn: values.artifactsKmsKeyArn || undefined,
            taskLogExpirationDays: values.taskLogExpirationDays,
            noncurrentVersionExpirationDays: values.noncurrentVersionExpirationDays,
        },
        secretRecoveryWindowDays: values.secretRecoveryWindowDays,
        accessLogExpirationDays: values.accessLogExpirationDays,
        database: {
            engineVersion: values.dbEngineVersion,
            instanceClass: values.dbInstanceClass,
            allocatedStorageGb: values.dbAllocatedStorageGb,
            maxAllocatedStorageGb: values.dbMaxAllocatedStorageGb,
            multiAz: values.dbMultiAz,
            backupRetentionDays: values.dbBackupRetentionDays,
            deletionProtection: values.dbDeletionProtection,
            performanceInsights: values.dbPerformanceInsights,
        },
        broker: { type: values.broker, nodeType: values.brokerNodeType, nodes: values.brokerNodes },
        sharedFileSystem: { enabled: values.sharedFileSystem, backups: values.sharedFileSystemBackups },
    };
}

/** The Fargate jobs' slice of the validated values. */
function jobsConfig(values: ConfigValues): JobsConfig {
    return {
        image: values.jobImage,
        cpu: values.jobCpu,
        memory: values.jobMemory,
        spot: values.jobSpot,
        cpuArchitecture: values.cpuArchitecture,
    };
}

/** The SageMaker slice of the validated values. */
function mlConfig(values: ConfigValues): MlConfig {
    return {
        training: {
            instanceType: values.mlInstanceType,
            instanceCount: values.mlInstanceCount,
            volumeSizeGb: values.mlVolumeSizeGb,
            maxRuntimeSeconds: values.mlMaxRuntimeSeconds,
            spot: { enabled: values.mlSpotTraining, maxWaitSeconds: values.mlMaxWaitSeconds },
            networkIsolation: values.mlNetworkIsolation,
        },
        transformInstanceType: values.mlTransformInstanceType,
        imageUri: values.mlImageUri || undefined,
        vpcMode: values.mlVpcMode,
        checkpointExpirationDays: values.mlCheckpointExpirationDays,
        batchExpirationDays: values.mlBatchExpirationDays,
        logGroups: values.mlOwnsLogGroups ? { retentionDays: values.logRetentionDays } : undefined,
    };
}

/** The mwaa layout's slice of the validated values. */
function mwaaConfig(values: ConfigValues): MwaaConfig {
    return {
        environmentClass: values.mwaaEnvironmentClass,
        ...resolveCapacity(values),
        webserverAccessMode: values.mwaaWebserverAccessMode,
        weeklyMaintenanceWindowStart: values.mwaaMaintenanceWindowStart,
        logging: { level: values.mwaaLogLevel, modules: values.mwaaModuleLogLevels },
        airflowConfigurationOptions: values.mwaaConfigurationOptions,
    };
}

/** The celery layout's slice of the validated values. */
function celeryConfig(values: ConfigValues): CeleryConfig {
    return {
        flower: values.flower,
        image: values.image || undefined,
        metricsAgentImage: values.metricsAgentImage,
        ecrKeepImages: values.ecrKeepImages,
        logRetentionDays: values.logRetentionDays,
        webAccess: values.webAccess,
        certificateArn: values.certificateArn || undefined,
        domain: values.domainName
            ? { name: values.domainName, hostedZoneId: values.hostedZoneId || undefined }
            : undefined,
        publicPlainHttp: values.publicPlainHttp,
        dagSyncIntervalSeconds: values.dagSyncIntervalSeconds,
        ecsExec: values.ecsExec,
        apiServerCount: values.apiServerCount,
        schedulerCount: values.schedulerCount,
        sizes: Object.fromEntries(
            Object.keys(SIZED_SERVICES).map((s) => [
                s,
                {
                    cpu: values[`${s}Cpu` as keyof ConfigValues] as number,
                    memory: values[`${s}Memory` as keyof ConfigValues] as number,
                },
            ]),
        ) as Record<SizedService, { cpu: number; memory: number }>,
        workerPools: values.workerPools,
        cpuArchitecture: values.cpuArchitecture,
        spotServices: values.spotServices,
        offHours: values.offHoursStop
            ? { stop: values.offHoursStop, start: values.offHoursStart, timezone: values.offHoursTimezone }
            : undefined,
        containerInsights: values.containerInsights,
    };
}

/** Every key's declared default, as a stack that sets no key and is not production gets it. */
function keyDefaults(): Record<string, unknown> {
    const context = { stack: "", production: false, given: () => undefined };
    return Object.fromEntries(
        Object.entries(CONFIG_KEYS).map(([k, spec]) => [k, defaultOf(spec as KeySpec<unknown>, context)]),
    );
}

/** CeleryCluster's settings: the celery slice without the image (the component takes it built or given). */
export type CelerySettings = Omit<CeleryConfig, "image">;

/**
 * What a CeleryCluster does when a setting is not given: what a stack without the key gets. Derived
 * from the keys' declared defaults, so the loader and the component cannot disagree.
 */
export const CELERY_DEFAULTS: CelerySettings = (() => {
    const settings: Record<string, unknown> = { ...celeryConfig(keyDefaults() as unknown as ConfigValues) };
    delete settings.image;
    return deepFreeze(settings as unknown as CelerySettings);
})();

/** AirflowStorage's settings: the storage slice without the log bucket's expiration (AccessLogBucket's). */
export type StorageSettings = Omit<StorageConfig, "accessLogExpirationDays">;

/** The storage slice as AirflowStorage's settings (every field but the log bucket's expiration). */
export function storageSettings(storage: StorageConfig): StorageSettings {
    const { protectData, artifacts, secretRecoveryWindowDays, database, broker, sharedFileSystem } = storage;
    return { protectData, artifacts, secretRecoveryWindowDays, database, broker, sharedFileSystem };
}

/** What an AirflowStorage does when a setting is not given: what a stack without the key gets. */
export const STORAGE_DEFAULTS: StorageSettings = deepFreeze(
    storageSettings(storageConfig(keyDefaults() as unknown as ConfigValues)),
);

/** What an AccessLogBucket does when a setting is not given: what a stack without airflow:accessLogExpirationDays gets. */
export const ACCESS_LOG_DEFAULTS: { readonly expirationDays: number } = deepFreeze({
    expirationDays: storageConfig(keyDefaults() as unknown as ConfigValues).accessLogExpirationDays,
});

/** What an AirflowNetwork does when a setting is not given: what a stack without the key gets. */
export const NETWORK_DEFAULTS: NetworkConfig = deepFreeze(networkConfig(keyDefaults() as unknown as ConfigValues));

/** What a SageMakerTraining does when a setting is not given: what a stack without the key gets. */
export const ML_DEFAULTS: MlConfig = deepFreeze(mlConfig(keyDefaults() as unknown as ConfigValues));

/** What a FargateJobs does when a setting is not given: what a stack without the key gets. */
export const JOBS_DEFAULTS: JobsConfig = deepFreeze(jobsConfig(keyDefaults() as unknown as ConfigValues));

/**
 * What an MwaaEnvironment does when a setting is not given: what a stack without the key gets. The
 * counts here are those of the default class; the component takes the counts of the class it is given
 * (defaultCapacity).
 */
export const MWAA_DEFAULTS: MwaaConfig = deepFreeze(mwaaConfig(keyDefaults() as unknown as ConfigValues));

/** The engine's values of this project's keys: strings as given, everything else parsed from JSON. */
function readRaw(): Record<string, unknown> {
    const config = new pulumi.Config(NAMESPACE);
    const values: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(CONFIG_KEYS)) {
        const raw = config.get(name);
        if (raw === undefined) continue;
        values[`${NAMESPACE}:${name}`] = spec.type === "string" ? raw : parseJson(raw);
    }
    const prefix = `${NAMESPACE}:`;
    for (const [k, raw] of Object.entries(pulumi.runtime.allConfig())) {
        if (k.startsWith(prefix) && !(k.slice(prefix.length) in CONFIG_KEYS)) values[k] = raw;
    }
    const aws = new pulumi.Config("aws");
    for (const name of ["region", "allowedAccountIds", "defaultTags"]) {
        const raw = aws.get(name);
        if (raw !== undefined) values[`aws:${name}`] = raw;
    }
    return values;
}

/**
 * Where the stack deploys, from the AWS provider's own keys the checks need: `aws:region`, and
 * `aws:allowedAccountIds` and `aws:defaultTags` when the stack sets them.
 */
function awsTarget(config: RawConfig["config"]): AwsTarget {
    const region = config["aws:region"];
    const accounts = config["aws:allowedAccountIds"];
    const parsed = typeof accounts === "string" ? parseJson(accounts) : accounts;
    const defaults = config["aws:defaultTags"];
    const defaultTags = (typeof defaults === "string" ? parseJson(defaults) : defaults) as
        { tags?: Record<string, unknown> } | undefined;
    return {
        defaultTags:
            defaultTags && typeof defaultTags === "object" && defaultTags.tags && typeof defaultTags.tags === "object"
                ? Object.fromEntries(Object.entries(defaultTags.tags).map(([k, t]) => [k, String(t)]))
                : undefined,
        region: typeof region === "string" ? region : undefined,
        allowedAccountIds:
            parsed === undefined || parsed === null
                ? undefined
                : (Array.isArray(parsed) ? parsed : [parsed]).map(String),
    };
}

function parseJson(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw; // not JSON: the key's schema reports it with the value as given
    }
}

function validate(raw: RawConfig, target: AwsTarget): ConfigValues {
    const prefix = `${NAMESPACE}:`;
    const given = (name: string) => raw.config[`${prefix}${name}`];
    const unknownKeys = Object.keys(raw.config)
        .filter((k) => k.startsWith(prefix) && !(k.slice(prefix.length) in CONFIG_KEYS))
        .sort();
    const errors: string[] = unknownKeys.map(
        (k) => `${k} is not a configuration key of this project (known keys are listed in README.md and Pulumi.yaml)`,
    );
    const values: Record<string, unknown> = {};
    const invalid = new Set<string>();
    // Defaults may follow from airflow:production (KeySpec.productionDefault): an invalid value counts as
    // false here, and its own check reports it.
    const context = { stack: raw.stack, production: given("production") === true, given };
    for (const [name, spec] of Object.entries(CONFIG_KEYS)) {
        const value = given(name) !== undefined ? given(name) : defaultOf(spec as KeySpec<unknown>, context);
        const result = spec.schema.safeParse(value);
        if (result.success) {
            values[name] = result.data;
        } else {
            invalid.add(name);
            errors.push(`${NAMESPACE}:${name} must be ${spec.allowed}, got ${shown(value)}`);
        }
    }
    const v = values as ConfigValues;
    const rules: { reads: (keyof ConfigValues)[]; check: () => string[] }[] = [
        { reads: ["environment", "tags"], check: () => coreRules(v, target.defaultTags) },
        { reads: ["layout", "airflowVersion"], check: () => versionRules(v) },
        {
            reads: [
                "layout",
                "natStrategy",
                "interfaceEndpoints",
                "broker",
                "ecsExec",
                "image",
                "jobImage",
                "metricsAgentImage",
            ],
            check: () => networkRules(v, target.region),
        },
        {
            reads: [
                "layout",
                "dbInstanceClass",
                "dbEngineVersion",
                "brokerNodeType",
                "broker",
                "mlInstanceType",
                "mlTransformInstanceType",
            ],
            check: () => instanceTypeRules(v, target),
        },
        {
            reads: ["certificateArn", "artifactsKmsKeyArn", "mlImageUri"],
            check: () => arnRules(v, target),
        },
        {
            reads: ["broker", "flower", "dbAllocatedStorageGb", "dbMaxAllocatedStorageGb"],
            check: () => storageRules(v),
        },
        {
            reads: Object.keys(SIZED_SERVICES).flatMap((s) => [`${s}Cpu`, `${s}Memory`]) as (keyof ConfigValues)[],
            check: () => serviceSizeRules(v as unknown as Record<string, unknown>),
        },
        { reads: ["workerPools"], check: () => workerPoolRules(v) },
        { reads: ["jobCpu", "jobMemory"], check: () => jobRules(v) },
        {
            reads: ["production", "spotServices", "offHoursStop", "offHoursStart"],
            check: () => leverRules(v),
        },
        {
            reads: [
                "mwaaEnvironmentClass",
                "mwaaMinWorkers",
                "mwaaMaxWorkers",
                "mwaaSchedulers",
                "mwaaMinWebservers",
                "mwaaMaxWebservers",
            ],
            check: () => mwaaCapacityRules(v),
        },
        { reads: ["mwaaConfigurationOptions"], check: () => mwaaOptionRules(v) },
        { reads: ["mlSpotTraining", "mlMaxRuntimeSeconds", "mlMaxWaitSeconds"], check: () => mlRules(v) },
        {
            reads: [
                "production",
                ...(Object.entries(CONFIG_KEYS)
                    .filter(([, spec]) => (spec as KeySpec<unknown>).productionDefault)
                    .map(([k]) => k) as (keyof ConfigValues)[]),
            ],
            check: () => productionKeyRules(CONFIG_KEYS, v, given),
        },
        {
            reads: [
                "layout",
                "production",
                "domainName",
                "hostedZoneId",
                "certificateArn",
                "publicPlainHttp",
                "webAccess",
            ],
            check: () => httpsRules(v),
        },
    ];
    for (const rule of rules) {
        if (rule.reads.every((k) => !invalid.has(k))) errors.push(...rule.check());
    }
    if (errors.length > 0) throw new ConfigError(errors, raw.stack);
    return v;
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
    }
    return value;
}
