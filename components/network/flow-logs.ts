// VPC flow logs to CloudWatch Logs, written by a role trusted by the flow-logs service only.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../../lib/iam";
import { flowLogsTrust, trustPolicy } from "../../lib/trust";
import { withName } from "../../lib/tags";

/** The log group, the role flow logs write with, its policy and the flow log of every packet of the VPC. */
export function createFlowLogs(
    name: string,
    vpc: aws.ec2.Vpc,
    retentionDays: number,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    component: pulumi.Resource,
): void {
    const parent = { parent: component };
    const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-flow-logs`,
        { retentionInDays: retentionDays, tags: withName(tags, `${name}-flow-logs`) },
        parent,
    );
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const region = aws.getRegionOutput({}, parent).region;
    const role = new aws.iam.Role(
        `${name}-flow-logs-role`,
        {
            assumeRolePolicy: trustPolicy(flowLogsTrust({ partition, region, account })),
            tags: withName(tags, `${name}-flow-logs-role`),
        },
        parent,
    );
    new aws.iam.RolePolicy(
        `${name}-flow-logs-policy`,
        {
            role: role.id,
            policy: policyDocument([
                {
                    Sid: "WriteFlowLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:log-stream:*`],
                },
            ]),
        },
        parent,
    );
    new aws.ec2.FlowLog(
        `${name}-flow-log`,
        {
            vpcId: vpc.id,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: logGroup.arn,
            iamRoleArn: role.arn,
            maxAggregationInterval: 60,
            tags: withName(tags, `${name}-flow-log`),
        },
        parent,
    );
}
