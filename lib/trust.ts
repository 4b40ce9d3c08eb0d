/**
 * The trust policies of the service roles: which AWS service may assume each role, and on behalf of
 * what (confused-deputy protection). Every role is limited to this account (aws:SourceAccount) and,
 * where the service documents it, to this account's resources of that service in this region
 * (aws:SourceArn, with ArnLike). Where the exact ARN would name a resource that is created with the
 * role (a cycle: the resource needs the role first), the pattern stops at the resource type.
 * Pure functions, table-tested in tests/trust.test.ts; every role of every stack is checked there too.
 */
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "./iam";

/** Where the stack runs: the parts of every ARN. */
export interface ArnContext {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
}

/** Who may assume a role: services, this account, and (where documented) a source ARN pattern. */
export interface ServiceTrust {
    services: string[];
    account: pulumi.Input<string>;
    /** ArnLike pattern of the resources on whose behalf the services assume the role. */
    sourceArn?: pulumi.Input<string>;
}

/** The trust policy document of a {@link ServiceTrust}. */
export function trustPolicy(trust: ServiceTrust): pulumi.Output<string> {
    return policyDocument([
        {
            Effect: "Allow",
            Principal: { Service: trust.services.length === 1 ? trust.services[0] : trust.services },
            Action: "sts:AssumeRole",
            Condition: {
                StringEquals: { "aws:SourceAccount": trust.account },
                ...(trust.sourceArn !== undefined ? { ArnLike: { "aws:SourceArn": trust.sourceArn } } : {}),
            },
        },
    ]);
}

/**
 * ECS task roles: tasks of this account in this region. "Amazon ECS task IAM role" recommends
 * aws:SourceAccount or aws:SourceArn in the trust policy, with the pattern arn:aws:ecs:<region>:<account>:*
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). A task's ARN is
 * unknown before it runs, hence the pattern.
 */
export function ecsTaskTrust(ctx: ArnContext): ServiceTrust {
    return {
        services: ["ecs-tasks.amazonaws.com"],
        account: ctx.account,
        sourceArn: pulumi.interpolate`arn:${ctx.partition}:ecs:${ctx.region}:${ctx.account}:*`,
    };
}

/**
 * ECS task execution roles: this account only. "Amazon ECS task execution IAM role"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html) documents
 * no aws:SourceArn for the role the ECS and Fargate agents assume to pull images, read secrets and
 * write logs, so none is set: a condition on a key the service does not send would keep every task
 * from starting. It is the one exemption of tests/trust.test.ts (TRUST_EXEMPTIONS).
 */
export function ecsExecutionTrust(ctx: Pick<ArnContext, "account">): ServiceTrust {
    return { services: ["ecs-tasks.amazonaws.com"], account: ctx.account };
}

/**
 * The SageMaker execution role of training jobs, the models they produce and batch transform jobs:
 * this account's SageMaker resources in this region. "Cross-service confused deputy prevention"
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html) documents
 * training-job/* and transform-job/* for jobs, and for models (inference) exactly
 * arn:aws:sagemaker:<region>:<account>:*, which is the one pattern that covers all three uses.
 */
export function sagemakerTrust(ctx: ArnContext): ServiceTrust {
    return {
        services: ["sagemaker.amazonaws.com"],
        account: ctx.account,
        sourceArn: pulumi.interpolate`arn:${ctx.partition}:sagemaker:${ctx.region}:${ctx.account}:*`,
    };
}

/**
 * The MWAA execution role: the one environment it serves. "Cross-service confused deputy prevention"
 * (https://docs.aws.amazon.com/mwaa/latest/userguide/cross-service-confused-deputy-prevention.html):
 * aws:SourceArn must be the environment's ARN. Its name is chosen by the program, so the ARN is known
 * before the environment exists (no cycle). Principals from "Amazon MWAA execution role"
 * (https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html).
 */
export function mwaaTrust(ctx: ArnContext, environmentName: pulumi.Input<string>): ServiceTrust {
    return {
        services: ["airflow.amazonaws.com", "airflow-env.amazonaws.com"],
        account: ctx.account,
        sourceArn: pulumi.interpolate`arn:${ctx.partition}:airflow:${ctx.region}:${ctx.account}:environment/${environmentName}`,
    };
}

/**
 * The VPC flow logs role: this account's flow logs in this region. "IAM role for publishing flow logs
 * to CloudWatch Logs" (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html): the
 * source ARN is the flow log's, with a wildcard for its id when unknown; the flow log is created with
 * this role, so its id cannot be named.
 */
export function flowLogsTrust(ctx: ArnContext): ServiceTrust {
    return {
        services: ["vpc-flow-logs.amazonaws.com"],
        account: ctx.account,
        sourceArn: pulumi.interpolate`arn:${ctx.partition}:ec2:${ctx.region}:${ctx.account}:vpc-flow-log/*`,
    };
}
