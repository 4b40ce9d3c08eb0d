import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENT_PATTERN } from "../config/core";
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
} from "../config/mwaa";
import { choiceText, isCidr, LOG_RETENTION_DAYS } from "../config/spec";
import { DEFAULT_AIRFLOW_VERSION, SUPPORTED_AIRFLOW_VERSIONS } from "../config/versions";
import { secretPrefixes, sharedAirflowOptions } from "../lib/airflow";
import { assumeRolePolicy, policyDocument, Statement } from "../lib/iam";
import { withName } from "../lib/tags";
import { PORTS } from "./network";
import { ARTIFACT_KEYS } from "./storage";

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
    /** Apache Airflow version, one of the versions in config/versions.ts. Default: DEFAULT_AIRFLOW_VERSION. */
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
 * The prod layout: an Amazon MWAA environment fed from the same artifacts bucket, requirements file,
 * Airflow version and Secrets Manager backend as the Celery layout, so that a DAG tested on staging
 * behaves the same on prod. Creates the environment's self-referencing security group, its execution
 * role (trusted by MWAA only, with a policy scoped to this environment, bucket, log groups, queues and
 * secrets) and the environment itself, pinned to the uploaded requirements and plugins versions.
 */
export class MwaaEnvironment extends pulumi.ComponentResource {
    /** The MWAA environment's name (also in its log groups, `airflow-<name>-<Module>`). */
    public readonly environmentName: pulumi.Output<string>;
    public readonly environmentArn: pulumi.Output<string>;
    /** The Airflow UI: `https://<webserverUrl>`. */
    public readonly webserverUrl: pulumi.Output<string>;
    /**
     * The execution role: what DAGs run as. Other components (e.g. SageMakerTraining) attach their own
     * policies to it by name.
     */
    public readonly executionRoleName: pulumi.Output<string>;
    public readonly executionRoleArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** The two subnets the environment runs in, once their availability zones are checked. */
    public readonly subnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: MwaaEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:mwaa:MwaaEnvironment", name, {}, opts);
        const resolved = validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;
        const envName = name;

        const partition = aws.getPartitionOutput({}, parent).partition;
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        // Two subnets in two availability zones, or an error now rather than a failed create 30 minutes
        // later. The check reads the zones only, which are known at preview even before the subnets exist.
        const zones = pulumi.output(args.network.availabilityZones).apply((all) => {
            const [first, second] = all;
            if (!first || !second || first === second) {
                throw new pulumi.ResourceError(
                    `MwaaEnvironment ${name}: network.availabilityZones must put the first two subnets in two different availability zones (MWAA runs in exactly two), got ${JSON.stringify(all.slice(0, 2))}`,
                    this,
                );
            }
            return [first, second];
        });
        this.subnetIds = pulumi
            .all([zones, ...args.network.privateSubnetIds.slice(0, 2)])
            .apply(([, ...ids]) => ids as string[]);

        // MWAA's containers talk to each other on any port: all traffic from the group itself, all out.
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-sg`,
            {
                vpcId: args.network.vpcId,
                description: "Amazon MWAA environment: all traffic between its own members",
                tags: withName(tags, `${name}-sg`),
            },
            parent,
        );
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-sg-in-self`,
            {
                securityGroupId: securityGroup.id,
                ipProtocol: "-1",
                referencedSecurityGroupId: securityGroup.id,
                description: "All traffic between the environment's own containers and endpoints",
                tags: withName(tags, `${name}-sg-in-self`),
            },
            parent,
        );
        resolved.webserverIngressCidrs.forEach(
            (cidr, i) =>
                new aws.vpc.SecurityGroupIngressRule(
                    `${name}-sg-in-https-${i}`,
                    {
                        securityGroupId: securityGroup.id,
                        ipProtocol: "tcp",
                        fromPort: PORTS.https,
                        toPort: PORTS.https,
                        ...(cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
                        description: `Airflow UI (web server VPC endpoint) from ${cidr}`,
                        tags: withName(tags, `${name}-sg-in-https-${i}`),
                    },
                    parent,
                ),
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-sg-out-all`,
            {
                securityGroupId: securityGroup.id,
                ipProtocol: "-1",
                cidrIpv4: "0.0.0.0/0",
                description: "Outbound to AWS services and whatever the DAGs call",
                tags: withName(tags, `${name}-sg-out-all`),
            },
            parent,
        );

        const role = new aws.iam.Role(
            `${name}-execution-role`,
            {
                description: `Execution role of the MWAA environment ${envName}`,
                assumeRolePolicy: assumeRolePolicy(["airflow.amazonaws.com", "airflow-env.amazonaws.com"], account),
                tags: withName(tags, `${name}-execution-role`),
            },
            parent,
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-execution-policy`,
            {
                role: role.id,
                policy: policyDocument(
                    executionRoleStatements({
                        partition,
                        region,
                        account,
                        envName,
                        environment: resolved.environment,
                        bucketArn: args.source.bucketArn,
                        bucketKmsKeyArn: args.source.kmsKeyArn,
                    }),
                ),
            },
            parent,
        );

        // MWAA's module log groups, created here with a retention (MWAA creates missing ones without).
        const logGroups = MWAA_LOG_MODULES.map(
            (module) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-logs-${module.toLowerCase()}`,
                    {
                        name: mwaaLogGroupName(envName, module),
                        retentionInDays: resolved.logRetentionDays,
                        tags: withName(tags, `${name}-logs-${module.toLowerCase()}`),
                    },
                    parent,
                ),
        );

        const source = args.source;
        const environment = new aws.mwaa.Environment(
            `${name}-environment`,
            {
                name: envName,
                airflowVersion: resolved.airflowVersion,
                environmentClass: resolved.environmentClass,
                minWorkers: resolved.capacity.minWorkers,
                maxWorkers: resolved.capacity.maxWorkers,
                schedulers: resolved.capacity.schedulers,
                minWebservers: resolved.capacity.minWebservers,
                maxWebservers: resolved.capacity.maxWebservers,
                webserverAccessMode: resolved.webserverAccessMode,
                weeklyMaintenanceWindowStart: resolved.weeklyMaintenanceWindowStart,
                executionRoleArn: role.arn,
                sourceBucketArn: source.bucketArn,
                dagS3Path: MWAA_S3_PATHS.dags,
                ...(source.requirementsVersion !== undefined
                    ? {
                          requirementsS3Path: MWAA_S3_PATHS.requirements,
                          requirementsS3ObjectVersion: source.requirementsVersion,
                      }
                    : {}),
                ...(source.pluginsVersion !== undefined
                    ? { pluginsS3Path: MWAA_S3_PATHS.plugins, pluginsS3ObjectVersion: source.pluginsVersion }
                    : {}),
                networkConfiguration: { subnetIds: this.subnetIds, securityGroupIds: [securityGroup.id] },
                loggingConfiguration: loggingConfiguration(resolved.logLevels),
                airflowConfigurationOptions: {
                    ...resolved.airflowConfigurationOptions,
                    ...sharedAirflowOptions(resolved.environment),
                },
                tags: withName(tags, `${name}-environment`),
            },
            {
                parent: this,
                protect: args.protectData ?? false,
                // MWAA checks the role's permissions and the bucket's objects when it creates or updates.
                dependsOn: [
                    policy,
                    ...logGroups,
                    ...(source.versioning ? [source.versioning] : []),
                    ...(source.uploads ?? []),
                ],
                customTimeouts: MWAA_TIMEOUTS,
            },
        );

        this.environmentName = environment.name;
        this.environmentArn = environment.arn;
        this.webserverUrl = pulumi.interpolate`https://${environment.webserverUrl}`;
        this.executionRoleName = role.name;
        this.executionRoleArn = role.arn;
        this.securityGroupId = securityGroup.id;

        this.registerOutputs({
            environmentName: this.environmentName,
            environmentArn: this.environmentArn,
            webserverUrl: this.webserverUrl,
            executionRoleName: this.executionRoleName,
            executionRoleArn: this.executionRoleArn,
            securityGroupId: this.securityGroupId,
            subnetIds: this.subnetIds,
        });
    }
}

/** The five log modules, each enabled at its level. */
function loggingConfiguration(
    levels: Record<MwaaLogModule, MwaaLogLevel>,
): aws.types.input.mwaa.EnvironmentLoggingConfiguration {
    const module = (m: MwaaLogModule) => ({ enabled: true, logLevel: levels[m] });
    return {
        dagProcessingLogs: module("DagProcessing"),
        schedulerLogs: module("Scheduler"),
        taskLogs: module("Task"),
        webserverLogs: module("Webserver"),
        workerLogs: module("Worker"),
    };
}

/**
 * The execution role's permissions: what the MWAA User Guide lists for an environment using an AWS
 * owned key ("Amazon MWAA execution role", https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html),
 * each scoped as narrowly as the action allows, plus reading this environment's connections and variables.
 */
function executionRoleStatements(p: {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    envName: string;
    environment: string;
    bucketArn: pulumi.Input<string>;
    bucketKmsKeyArn?: pulumi.Input<string>;
}): Statement[] {
    const { partition, region, account, envName } = p;
    const prefixes = secretPrefixes(p.environment);
    const statements: Statement[] = [
        {
            Sid: "PublishEnvironmentMetrics",
            Effect: "Allow",
            Action: "airflow:PublishMetrics",
            Resource: pulumi.interpolate`arn:${partition}:airflow:${region}:${account}:environment/${envName}`,
        },
        {
            Sid: "ReadArtifactsBucket",
            Effect: "Allow",
            // The MWAA guide grants s3:GetObject*, s3:GetBucket* and s3:List*; these are the actions those
            // wildcards cover that MWAA uses (objects and their versions, the bucket's location,
            // versioning, public access block and encryption, listings), named one by one.
            Action: [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            Resource: [p.bucketArn, pulumi.interpolate`${p.bucketArn}/*`],
        },
        {
            // MWAA refuses a bucket that could be public; this account-level read takes no resource ARN.
            Sid: "CheckAccountPublicAccessBlock",
            Effect: "Allow",
            Action: "s3:GetAccountPublicAccessBlock",
            Resource: "*",
        },
        {
            Sid: "WriteEnvironmentLogs",
            Effect: "Allow",
            Action: [
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            Resource: pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:airflow-${envName}-*`,
        },
        {
            // Listed in every sample policy of "Amazon MWAA execution role"
            // (https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html): MWAA looks its
            // log groups up before it writes. DescribeLogGroups takes no resource ARN (the Service
            // Authorization Reference lists no resource type for it), so "*".
            Sid: "ListLogGroups",
            Effect: "Allow",
            Action: "logs:DescribeLogGroups",
            Resource: "*",
        },
        {
            // PutMetricData takes no resource ARN.
            Sid: "PutMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
        },
        {
            // MWAA's Celery queues live in an account of MWAA's, hence any account.
            Sid: "UseCeleryQueues",
            Effect: "Allow",
            Action: [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            Resource: pulumi.interpolate`arn:${partition}:sqs:${region}:*:airflow-celery-*`,
        },
        {
            // The Celery queues are encrypted with an AWS owned key, in an AWS account whose id is not
            // published, so the key's ARN cannot be written down. What can be: the partition, the
            // region and the resource type (keys, not aliases); use through SQS in this region only;
            // and, as the MWAA guide's NotResource "arn:aws:kms:*:<this account>:key/*" says, no key of
            // this account. A Resource with conditions is used rather than that NotResource (any key
            // of any other account, in any region), which is wider and harder to audit.
            Sid: "EncryptCeleryMessages",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
            Resource: pulumi.interpolate`arn:${partition}:kms:${region}:*:key/*`,
            Condition: {
                StringEquals: { "kms:ViaService": pulumi.interpolate`sqs.${region}.amazonaws.com` },
                StringNotEquals: { "aws:ResourceAccount": account },
            },
        },
        {
            // The Secrets Manager backend (lib/airflow.ts): this environment's connections and variables only.
            Sid: "ReadAirflowConnectionsAndVariables",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: [
                pulumi.interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${prefixes.connections}/*`,
                pulumi.interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${prefixes.variables}/*`,
            ],
        },
    ];
    if (p.bucketKmsKeyArn !== undefined) {
        statements.push({
            Sid: "DecryptArtifactsBucket",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: p.bucketKmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${region}.amazonaws.com` } },
        });
    }
    return statements;
}

interface ResolvedArgs {
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

function validateArgs(name: string, args: MwaaEnvironmentArgs, resource: pulumi.Resource): ResolvedArgs {
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
        fail("environment", "2 to 16 lowercase letters, digits or hyphens", args.environment);
    }
    const airflowVersion = args.airflowVersion ?? DEFAULT_AIRFLOW_VERSION;
    if (!(SUPPORTED_AIRFLOW_VERSIONS as readonly string[]).includes(airflowVersion)) {
        fail("airflowVersion", choiceText(SUPPORTED_AIRFLOW_VERSIONS), airflowVersion);
    }
    const environmentClass = args.environmentClass ?? "mw1.small";
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
    const webserverAccessMode = args.webserverAccessMode ?? "PRIVATE_ONLY";
    if (!MWAA_WEBSERVER_ACCESS_MODES.includes(webserverAccessMode)) {
        fail("webserverAccessMode", choiceText(MWAA_WEBSERVER_ACCESS_MODES), webserverAccessMode);
    }
    const weeklyMaintenanceWindowStart = args.weeklyMaintenanceWindowStart ?? "SUN:03:00";
    if (!MAINTENANCE_WINDOW_PATTERN.test(weeklyMaintenanceWindowStart)) {
        fail(
            "weeklyMaintenanceWindowStart",
            'DAY:HH:MM in UTC (MON to SUN, minutes 00 or 30), e.g. "SUN:03:00"',
            weeklyMaintenanceWindowStart,
        );
    }
    const level = args.logging?.level ?? "INFO";
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
    const logRetentionDays = args.logRetentionDays ?? 30;
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
