import * as pulumi from "@pulumi/pulumi";
import {
    Broker,
    CELERY_DEFAULTS,
    CelerySettings,
    SUPPORTED_AIRFLOW_VERSIONS,
    WEB_ACCESS,
    workerPoolViolations,
} from "../../config";
import { fargateSizeViolations } from "../../config/fargate";
import { CPU_ARCHITECTURES } from "../../config/levers";
import { choiceText, LOG_RETENTION_DAYS } from "../../config/spec";
import { airflowMajor } from "../../config/versions";
import { AirflowSecretArns } from "../storage";

/** An SQS queue of the sqs broker. */
export interface CeleryQueue {
    url: pulumi.Input<string>;
    arn: pulumi.Input<string>;
}

/**
 * CeleryCluster's arguments. The settings (flower, sizes, workerPools, ...) are the celery slice of
 * the stack configuration (`CelerySettings`); each one left out takes the default of its
 * `airflow:<key>` (`CELERY_DEFAULTS`), so the component and a stack without the key agree.
 */
export interface CeleryClusterArgs extends Partial<Omit<CelerySettings, "sizes">> {
    /** CPU and memory of each service; those left out take their airflow:<service>Cpu/Memory defaults. */
    sizes?: Partial<CelerySettings["sizes"]>;
    /** Environment name (resource names, secret prefixes, metric dimension). Required. */
    environment: string;
    /** The stack's log bucket: the load balancer's access logs go there (prefix alb). Default: none. */
    accessLogBucket?: pulumi.Input<string>;
    /** Airflow version, one of SUPPORTED_AIRFLOW_VERSIONS; the major decides the components. Required. */
    airflowVersion: string;
    /** Where the services run. Required. */
    network: {
        vpcId: pulumi.Input<string>;
        vpcCidr: pulumi.Input<string>;
        publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
        privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
        servicesSecurityGroupId: pulumi.Input<string>;
        loadBalancerSecurityGroupId: pulumi.Input<string>;
    };
    /** What AirflowStorage created. Required. */
    storage: {
        artifactsBucketName: pulumi.Input<string>;
        artifactsBucketArn: pulumi.Input<string>;
        /** The bucket's KMS key, if SSE-KMS: the task roles get encrypt/decrypt through S3. */
        artifactsKmsKeyArn?: pulumi.Input<string>;
        secretArns: AirflowSecretArns;
        /** Decides the broker settings and permissions. */
        brokerType: Broker;
        /**
         * The metadata database's RDS instance identifier: when given, an RDS snapshot named after
         * `airflowVersion` is taken before the control service migrates (snapshot.ts). Default: none,
         * no snapshot.
         */
        databaseInstanceId?: pulumi.Input<string>;
        /** SQS queues by Celery queue name (sqs broker). */
        queues?: Record<string, CeleryQueue>;
        /** The shared file system; mounted at /opt/airflow/shared when given. */
        fileSystem?: {
            id: pulumi.Input<string>;
            arn: pulumi.Input<string>;
            accessPointId: pulumi.Input<string>;
            accessPointArn: pulumi.Input<string>;
        };
    };
    /**
     * The Airflow image. With `uri`, that image runs; otherwise `build` is built with awsx and
     * pushed to the cluster's ECR repository. Required (one of the two).
     */
    image: { uri: string } | { build: { context: string; dockerfile: string; tag: string } };
    /** Protect the load balancer from deletion and keep images on destroy. Default: false. */
    protectData?: boolean;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** The arguments with every default applied and every rule checked. */
export interface ResolvedCeleryArgs extends CelerySettings {
    environment: string;
    airflowVersion: string;
    airflowMajor: 2 | 3;
    brokerType: Broker;
    protectData: boolean;
}

/** Applies the defaults and checks the arguments, throwing a ResourceError naming the first bad field. */
export function resolveCeleryArgs(
    name: string,
    args: CeleryClusterArgs,
    resource: pulumi.Resource,
): ResolvedCeleryArgs {
    const resolved: ResolvedCeleryArgs = {
        ...CELERY_DEFAULTS,
        ...Object.fromEntries(Object.entries(args).filter(([k, v]) => k in CELERY_DEFAULTS && v !== undefined)),
        sizes: { ...CELERY_DEFAULTS.sizes, ...(args.sizes ?? {}) },
        environment: args.environment,
        airflowVersion: args.airflowVersion,
        airflowMajor: airflowMajor(args.airflowVersion),
        brokerType: args.storage.brokerType,
        protectData: args.protectData ?? false,
    };
    const problem = celeryArgViolations(resolved, args)[0];
    if (problem) throw new pulumi.ResourceError(`CeleryCluster ${name}: ${problem.field} ${problem.message}`, resource);
    return resolved;
}

/** One broken rule: the field and the rest of the sentence (`must be ..., got ...`). */
export interface ArgViolation {
    field: string;
    message: string;
}

/** Every rule the arguments break, in field order. */
export function celeryArgViolations(
    resolved: ResolvedCeleryArgs,
    args: Pick<CeleryClusterArgs, "storage">,
): ArgViolation[] {
    const out: ArgViolation[] = [];
    const fail = (field: string, allowed: string, got: unknown) =>
        out.push({ field, message: `must be ${allowed}, got ${JSON.stringify(got)}` });
    if (!(SUPPORTED_AIRFLOW_VERSIONS as readonly string[]).includes(resolved.airflowVersion))
        fail("airflowVersion", choiceText(SUPPORTED_AIRFLOW_VERSIONS), resolved.airflowVersion);
    if (!CPU_ARCHITECTURES.includes(resolved.cpuArchitecture))
        fail("cpuArchitecture", choiceText(CPU_ARCHITECTURES), resolved.cpuArchitecture);
    if (!WEB_ACCESS.includes(resolved.webAccess)) fail("webAccess", choiceText(WEB_ACCESS), resolved.webAccess);
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(resolved.logRetentionDays))
        fail("logRetentionDays", choiceText(LOG_RETENTION_DAYS), resolved.logRetentionDays);
    if (resolved.flower && resolved.brokerType === "sqs")
        fail("flower", "false with the sqs broker (Celery cannot inspect SQS)", resolved.flower);
    if (resolved.flower && !args.storage.secretArns.flowerBasicAuth)
        fail("storage.secretArns.flowerBasicAuth", "set when flower is on", undefined);
    if (resolved.airflowMajor === 3 && !args.storage.secretArns.jwtSecret)
        fail("storage.secretArns.jwtSecret", "set for Airflow 3", undefined);
    if (resolved.brokerType === "sqs") {
        const missing = resolved.workerPools.map((p) => p.name).filter((q) => !args.storage.queues?.[q]);
        if (missing.length > 0)
            fail(
                "storage.queues",
                `an SQS queue for every worker pool (missing ${missing.join(", ")})`,
                Object.keys(args.storage.queues ?? {}),
            );
    }
    for (const [service, size] of Object.entries(resolved.sizes)) {
        for (const v of fargateSizeViolations(size.cpu, size.memory))
            fail(`sizes.${service}.${v.field}`, v.allowed, v.field === "cpu" ? size.cpu : size.memory);
    }
    for (const v of workerPoolViolations(resolved.workerPools))
        out.push({ field: `workerPools${v.path}`, message: v.message });
    return out;
}
