import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CELERY_DEFAULTS, JOBS_DEFAULTS, JobsConfig, STORAGE_DEFAULTS } from "../config";
import { FARGATE_CPUS, isFargateSize, memoryChoices } from "../config/fargate";
import { CPU_ARCHITECTURES, CpuArchitecture } from "../config/levers";
import { choiceText, LOG_RETENTION_DAYS } from "../config/spec";
import { publishVariable } from "../lib/airflow";
import { ENVIRONMENT_ALLOWED, ENVIRONMENT_PATTERN } from "../config/core";
import { isRecoveryWindow, RECOVERY_WINDOW_ALLOWED } from "../config/storage";
import { ecrRepositoryArn, parseEcrImageUri } from "../lib/ecr";
import { ecrPullStatements, policyDocument, Statement } from "../lib/iam";
import { ecsTaskTrust, trustPolicy } from "../lib/trust";
import { withName } from "../lib/tags";
import { executionRole as createExecutionRole, fargateCluster, writeLogStatement } from "./ecs";

/** The Airflow Variable DAGs read the job settings from. */
export const FARGATE_JOBS_VARIABLE = "fargate_jobs";
/** The container of the job task definition that DAGs override. */
export const JOB_CONTAINER = "job";

/**
 * The stack configuration's jobs slice as FargateJobs' arguments: `Pick` fails to compile when the
 * slice has a field the arguments lack, the spread in index.ts when a type differs.
 */
export type FargateJobsSettings = Pick<FargateJobsArgs, keyof JobsConfig>;

export interface FargateJobsArgs {
    /** Environment name (names, the variable's secret prefix). Required. */
    environment: string;
    /**
     * The ECS cluster to run jobs in (the Celery layout's). Without it the component creates one with
     * the FARGATE and FARGATE_SPOT capacity providers (the MWAA layout). Default: a new cluster.
     */
    cluster?: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
    /** Where jobs run: private subnets of this VPC, with a security group of their own. Required. */
    network: { vpcId: pulumi.Input<string>; privateSubnetIds: pulumi.Input<pulumi.Input<string>[]> };
    /** Job image. Default: "public.ecr.aws/docker/library/python:3.12-slim". */
    image?: string;
    /** Fargate CPU units and memory (MiB). Default: 256 and 512. */
    cpu?: number;
    memory?: number;
    /** Run jobs on FARGATE_SPOT. Default: true. */
    spot?: boolean;
    /** CPU architecture of the job task ("X86_64" or "ARM64"); the image must have it. Default: "X86_64". */
    cpuArchitecture?: CpuArchitecture;
    /** Container Insights on the cluster the component creates (without `cluster`). Default: true. */
    containerInsights?: boolean;
    /** Log retention in days. Default: 30. */
    logRetentionDays?: number;
    /** Days a deleted variable can be restored (0 or 7-30). Default: 7. */
    secretRecoveryWindowDays?: number;
    /** The role Airflow runs tasks with: it gets permission to run, watch and stop these jobs. Required. */
    airflowRoleName: pulumi.Input<string>;
    /**
     * The role deferred waits run as, when it is not `airflowRoleName` (the Celery layout's triggerer
     * task role): it may only describe the job tasks and read their logs. Default: none.
     */
    triggererRoleName?: pulumi.Input<string>;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * What the fargate_parallel_tasks DAG needs on either layout: a job task definition (image, size, log
 * group, roles), a security group with outbound access only, an ECS cluster where the layout has none,
 * the `fargate_jobs` Airflow Variable with everything EcsRunTaskOperator is called with, and a policy
 * on the Airflow role that allows running, describing and stopping exactly these jobs.
 */
export class FargateJobs extends pulumi.ComponentResource {
    public readonly clusterName: pulumi.Output<string>;
    public readonly clusterArn: pulumi.Output<string>;
    public readonly taskDefinitionArn: pulumi.Output<string>;
    public readonly taskDefinitionFamily: string;
    public readonly logGroupName: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** The secret holding the `fargate_jobs` variable. */
    public readonly variableSecretName: string;

    constructor(name: string, args: FargateJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:jobs:FargateJobs", name, {}, opts);
        const resolved = resolveFargateJobsArgs(name, args, this);
        const tags = args.tags;
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        const partition = aws.getPartitionOutput({}, parent).partition;
        // The layout's cluster, or one of the jobs' own.
        const own = args.cluster ? undefined : fargateCluster(`${name}-jobs`, tags, this, resolved);
        // Own cluster: the name from the association, so the Variable (RunTask on FARGATE_SPOT) waits for it.
        const clusterName = own ? own.capacityProviders.clusterName : pulumi.output(args.cluster!.name);
        const clusterArn = pulumi.output(own ? own.cluster.arn : args.cluster!.arn);

        const securityGroup = this.outboundOnlyGroup(name, args.network.vpcId, tags);

        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-jobs-logs`,
            {
                name: `/airflow/${resolved.environment}/jobs`,
                retentionInDays: resolved.logRetentionDays,
                tags: withName(tags, `${name}-jobs-logs`),
            },
            parent,
        );

        const { executionRole, taskRole } = this.roles(
            name,
            resolved,
            { account, partition, region, logGroupArn: logGroup.arn },
            tags,
        );

        this.taskDefinitionFamily = `${name}-job`;
        const taskDefinition = new aws.ecs.TaskDefinition(
            `${name}-job-task`,
            {
                family: this.taskDefinitionFamily,
                requiresCompatibilities: ["FARGATE"],
                networkMode: "awsvpc",
                cpu: String(resolved.cpu),
                memory: String(resolved.memory),
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: resolved.cpuArchitecture },
                executionRoleArn: executionRole.arn,
                taskRoleArn: taskRole.arn,
                containerDefinitions: pulumi
                    .all([logGroup.name, region])
                    .apply(([group, r]) => JSON.stringify(jobContainers(resolved.image, group, r))),
                tags: withName(tags, `${name}-job-task`),
            },
            parent,
        );

        const variable = publishVariable(
            `${name}-fargate-jobs-variable`,
            FARGATE_JOBS_VARIABLE,
            {
                environment: resolved.environment,
                region,
                cluster: clusterName,
                task_definition: this.taskDefinitionFamily,
                container_name: JOB_CONTAINER,
                subnet_ids: args.network.privateSubnetIds,
                security_group_ids: [securityGroup.id],
                capacity_provider: resolved.spot ? "FARGATE_SPOT" : "FARGATE",
                log_group: logGroup.name,
                log_stream_prefix: JOB_CONTAINER,
            },
            {
                environment: resolved.environment,
                secretRecoveryWindowDays: resolved.secretRecoveryWindowDays,
                description: `Fargate job settings for Airflow ${resolved.environment} DAGs (Airflow Variable ${FARGATE_JOBS_VARIABLE})`,
                tags,
            },
            this,
        );
        this.variableSecretName = variable.secretName;

        const jobArns: JobArns = {
            taskDefinitions: pulumi.interpolate`arn:${partition}:ecs:${region}:${account}:task-definition/${this.taskDefinitionFamily}:*`,
            tasks: pulumi.interpolate`arn:${partition}:ecs:${region}:${account}:task/${clusterName}/*`,
            cluster: clusterArn,
            roles: [executionRole.arn, taskRole.arn],
            logGroup: logGroup.arn,
        };
        new aws.iam.RolePolicy(
            `${name}-jobs-airflow-policy`,
            {
                role: args.airflowRoleName,
                policy: policyDocument(airflowJobStatements(jobArns)),
            },
            parent,
        );

        if (args.triggererRoleName) {
            // The trigger of a deferred RunTask wait describes the task until it stops and reads its logs.
            new aws.iam.RolePolicy(
                `${name}-jobs-triggerer-policy`,
                {
                    role: args.triggererRoleName,
                    policy: policyDocument(triggererJobStatements(jobArns)),
                },
                parent,
            );
        }

        this.clusterName = clusterName;
        this.clusterArn = clusterArn;
        this.taskDefinitionArn = taskDefinition.arn;
        this.logGroupName = logGroup.name;
        this.securityGroupId = securityGroup.id;
        this.registerOutputs({
            clusterName: this.clusterName,
            taskDefinitionArn: this.taskDefinitionArn,
            logGroupName: this.logGroupName,
            securityGroupId: this.securityGroupId,
            variableSecretName: this.variableSecretName,
        });
    }

    /** The execution role (logs, and pulling the image from ECR when it is there) and the job's own task role. */
    private roles(
        name: string,
        resolved: ResolvedFargateJobsArgs,
        ctx: {
            account: pulumi.Output<string>;
            partition: pulumi.Output<string>;
            region: pulumi.Output<string>;
            logGroupArn: pulumi.Output<string>;
        },
        tags: FargateJobsArgs["tags"],
    ): { executionRole: aws.iam.Role; taskRole: aws.iam.Role } {
        const { account, partition, region } = ctx;
        const parent = { parent: this };
        const repository = parseEcrImageUri(resolved.image);
        const executionRole = createExecutionRole(
            `${name}-jobs`,
            {
                description: `Starts Airflow ${resolved.environment} Fargate jobs`,
                account,
                statements: [
                    writeLogStatement(ctx.logGroupArn),
                    ...(repository
                        ? ecrPullStatements(
                              partition.apply((p) => ecrRepositoryArn(repository, p)),
                              "PullJobImage",
                          )
                        : []),
                ],
                tags,
            },
            this,
        );
        // The job itself gets no AWS permissions; give its task role some if your jobs need them.
        const taskRole = new aws.iam.Role(
            `${name}-jobs-task-role`,
            {
                description: `Airflow ${resolved.environment} Fargate jobs`,
                assumeRolePolicy: trustPolicy(ecsTaskTrust({ partition, region, account })),
                tags: withName(tags, `${name}-jobs-task-role`),
            },
            parent,
        );
        return { executionRole, taskRole };
    }

    /** The jobs' security group: outbound only. */
    private outboundOnlyGroup(
        name: string,
        vpcId: pulumi.Input<string>,
        tags: FargateJobsArgs["tags"],
    ): aws.ec2.SecurityGroup {
        const parent = { parent: this };
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-jobs-sg`,
            {
                vpcId: vpcId,
                description: "Airflow Fargate jobs: outbound only",
                tags: withName(tags, `${name}-jobs-sg`),
            },
            parent,
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-jobs-out-all`,
            {
                securityGroupId: securityGroup.id,
                ipProtocol: "-1",
                cidrIpv4: "0.0.0.0/0",
                description: "Outbound from Fargate jobs",
                tags: withName(tags, `${name}-jobs-out-all`),
            },
            parent,
        );
        return securityGroup;
    }
}

/** The one job container DAGs override: the image and its logs; the command is the DAG's. */
export function jobContainers(image: string, logGroup: string, region: string): aws.ecs.ContainerDefinition[] {
    return [
        {
            name: JOB_CONTAINER,
            image,
            essential: true,
            command: ["python", "-c", "print('override this command')"],
            logConfiguration: {
                logDriver: "awslogs",
                options: {
                    "awslogs-group": logGroup,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": JOB_CONTAINER,
                },
            },
        },
    ];
}

/** What the jobs' statements name. */
export interface JobArns {
    /** Every revision of the job task definition family. */
    taskDefinitions: pulumi.Input<string>;
    /** The tasks of the cluster. */
    tasks: pulumi.Input<string>;
    cluster: pulumi.Input<string>;
    /** The execution and task roles RunTask passes. */
    roles: pulumi.Input<string>[];
    logGroup: pulumi.Input<string>;
}

function readJobLogs(arns: JobArns): Statement {
    return {
        Sid: "ReadJobLogs",
        Effect: "Allow",
        Action: ["logs:GetLogEvents", "logs:DescribeLogStreams", "logs:FilterLogEvents"],
        Resource: [arns.logGroup, pulumi.interpolate`${arns.logGroup}:log-stream:*`],
    };
}

/** Airflow's role: run the job family in the cluster only, watch and stop its tasks, pass its two roles to ECS. */
export function airflowJobStatements(arns: JobArns): Statement[] {
    return [
        {
            Sid: "RunJobs",
            Effect: "Allow",
            Action: "ecs:RunTask",
            Resource: arns.taskDefinitions,
            Condition: { ArnEquals: { "ecs:cluster": arns.cluster } },
        },
        {
            Sid: "WatchAndStopJobs",
            Effect: "Allow",
            Action: ["ecs:DescribeTasks", "ecs:StopTask"],
            Resource: arns.tasks,
        },
        {
            Sid: "ReadJobDefinition",
            Effect: "Allow",
            Action: "ecs:DescribeTaskDefinition",
            Resource: "*", // DescribeTaskDefinition supports no resource-level permissions
        },
        {
            Sid: "PassJobRoles",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: arns.roles,
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
        readJobLogs(arns),
    ];
}

/** The triggerer's role: the trigger of a deferred RunTask wait describes the task until it stops and reads its logs. */
export function triggererJobStatements(arns: JobArns): Statement[] {
    return [
        { Sid: "WatchJobs", Effect: "Allow", Action: "ecs:DescribeTasks", Resource: arns.tasks },
        readJobLogs(arns),
    ];
}

/** FargateJobs' arguments with every default applied. */
export interface ResolvedFargateJobsArgs {
    environment: string;
    image: string;
    cpu: number;
    memory: number;
    spot: boolean;
    cpuArchitecture: CpuArchitecture;
    containerInsights: boolean;
    logRetentionDays: number;
    secretRecoveryWindowDays: number;
}

/** Applies the defaults (the config keys', JOBS_DEFAULTS) and checks the arguments, throwing a ResourceError naming the first bad field. */
export function resolveFargateJobsArgs(
    name: string,
    args: FargateJobsArgs,
    resource: pulumi.Resource,
): ResolvedFargateJobsArgs {
    const resolved: ResolvedFargateJobsArgs = {
        environment: args.environment,
        image: args.image ?? JOBS_DEFAULTS.image,
        cpu: args.cpu ?? JOBS_DEFAULTS.cpu,
        memory: args.memory ?? JOBS_DEFAULTS.memory,
        spot: args.spot ?? JOBS_DEFAULTS.spot,
        cpuArchitecture: args.cpuArchitecture ?? JOBS_DEFAULTS.cpuArchitecture,
        containerInsights: args.containerInsights ?? CELERY_DEFAULTS.containerInsights,
        logRetentionDays: args.logRetentionDays ?? CELERY_DEFAULTS.logRetentionDays,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? STORAGE_DEFAULTS.secretRecoveryWindowDays,
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `FargateJobs ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    if (!ENVIRONMENT_PATTERN.test(resolved.environment ?? ""))
        fail("environment", ENVIRONMENT_ALLOWED, resolved.environment);
    if (!CPU_ARCHITECTURES.includes(resolved.cpuArchitecture))
        fail("cpuArchitecture", choiceText(CPU_ARCHITECTURES), resolved.cpuArchitecture);
    if (!FARGATE_CPUS.includes(resolved.cpu)) fail("cpu", choiceText(FARGATE_CPUS), resolved.cpu);
    if (!isFargateSize(resolved.cpu, resolved.memory))
        fail("memory", `${memoryChoices(resolved.cpu)} with cpu ${resolved.cpu}`, resolved.memory);
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(resolved.logRetentionDays))
        fail("logRetentionDays", choiceText(LOG_RETENTION_DAYS), resolved.logRetentionDays);
    if (!isRecoveryWindow(resolved.secretRecoveryWindowDays))
        fail("secretRecoveryWindowDays", RECOVERY_WINDOW_ALLOWED, resolved.secretRecoveryWindowDays);
    return resolved;
}
