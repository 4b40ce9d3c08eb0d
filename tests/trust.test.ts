// Confused-deputy protection in the trust policies of the service roles (issue 15, item 4): the trust
// functions of lib/trust.ts as tables, and every role of every stack (and of both layout switches).
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import {
    ArnContext,
    ecsExecutionTrust,
    ecsTaskTrust,
    flowLogsTrust,
    mwaaTrust,
    sagemakerTrust,
    trustPolicy,
} from "../lib/trust";
import { ProgramRun, promiseOf, runProgram, runStack } from "./harness/program";

const ctx: ArnContext = { partition: "aws", region: "eu-west-1", account: "111122223333" };

async function document(trust: ReturnType<typeof ecsTaskTrust>): Promise<any> {
    return JSON.parse(await promiseOf(trustPolicy(trust)));
}

describe("trust policies", () => {
    const table: [string, () => ReturnType<typeof ecsTaskTrust>, string | string[], string | undefined][] = [
        ["ECS task roles", () => ecsTaskTrust(ctx), "ecs-tasks.amazonaws.com", "arn:aws:ecs:eu-west-1:111122223333:*"],
        [
            "ECS task execution roles (exempt from aws:SourceArn)",
            () => ecsExecutionTrust(ctx),
            "ecs-tasks.amazonaws.com",
            undefined,
        ],
        [
            "the SageMaker execution role",
            () => sagemakerTrust(ctx),
            "sagemaker.amazonaws.com",
            "arn:aws:sagemaker:eu-west-1:111122223333:*",
        ],
        [
            "the MWAA execution role",
            () => mwaaTrust(ctx, "airflow-prod"),
            ["airflow.amazonaws.com", "airflow-env.amazonaws.com"],
            "arn:aws:airflow:eu-west-1:111122223333:environment/airflow-prod",
        ],
        [
            "the VPC flow logs role",
            () => flowLogsTrust({ ...ctx, partition: "aws-cn", region: "cn-north-1" }),
            "vpc-flow-logs.amazonaws.com",
            "arn:aws-cn:ec2:cn-north-1:111122223333:vpc-flow-log/*",
        ],
    ];
    for (const [what, trust, principal, sourceArn] of table) {
        it(`lets only ${JSON.stringify(principal)} assume ${what}, for this account${sourceArn ? ` and ${sourceArn}` : ""}`, async () => {
            expect((await document(trust())).Statement).to.deep.equal([
                {
                    Effect: "Allow",
                    Principal: { Service: principal },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: { "aws:SourceAccount": "111122223333" },
                        ...(sourceArn ? { ArnLike: { "aws:SourceArn": sourceArn } } : {}),
                    },
                },
            ]);
        });
    }

    it("builds the source ARNs from outputs without resolving them first", async () => {
        const trust = ecsTaskTrust({
            partition: pulumi.output("aws"),
            region: pulumi.output("us-east-1"),
            account: pulumi.output("123456789012"),
        });
        expect(await promiseOf(pulumi.output(trust.sourceArn!))).to.equal("arn:aws:ecs:us-east-1:123456789012:*");
    });
});

/**
 * The roles that may go without aws:SourceArn, each with its reason: ECS documents aws:SourceArn
 * for task roles but not for task execution roles (lib/trust.ts, ecsExecutionTrust).
 */
export const TRUST_EXEMPTIONS: { what: string; applies: (run: ProgramRun, roleArn: string) => boolean; why: string }[] =
    [
        {
            what: "ECS task execution roles",
            applies: (run, roleArn) =>
                run.ofType("aws:ecs/taskDefinition:TaskDefinition").some((t) => t.inputs.executionRoleArn === roleArn),
            why: 'the "Amazon ECS task execution IAM role" page documents no aws:SourceArn for the agents\' role',
        },
    ];

/** What is missing from each role's trust policy: aws:SourceAccount always, aws:SourceArn unless exempt. */
export function trustProblems(run: ProgramRun): string[] {
    const problems: string[] = [];
    for (const role of run.ofType("aws:iam/role:Role")) {
        const policy = JSON.parse(role.inputs.assumeRolePolicy);
        const exempt = TRUST_EXEMPTIONS.find((e) => e.applies(run, role.state.arn));
        for (const [i, s] of (policy.Statement as any[]).entries()) {
            const where = `${role.name} statement ${i}`;
            if (s.Effect !== "Allow" || !s.Principal?.Service) {
                problems.push(`${where}: not a service trust (${JSON.stringify(s.Principal)})`);
                continue;
            }
            const account = s.Condition?.StringEquals?.["aws:SourceAccount"];
            if (typeof account !== "string" || !/^\d{12}$/.test(account))
                problems.push(`${where}: no aws:SourceAccount condition`);
            const arn = s.Condition?.ArnLike?.["aws:SourceArn"] ?? s.Condition?.ArnEquals?.["aws:SourceArn"];
            if (exempt) {
                if (arn !== undefined)
                    problems.push(`${where}: exempt as one of the ${exempt.what}, but has aws:SourceArn`);
            } else if (typeof arn !== "string" || !arn.includes(`:${account}:`)) {
                problems.push(`${where}: no aws:SourceArn condition naming this account's resources`);
            }
        }
    }
    return problems;
}

describe("every role of every stack", () => {
    const runs: [string, () => Promise<ProgramRun>][] = [
        ["dev", () => runStack("dev")],
        ["staging", () => runStack("staging")],
        ["prod", () => runStack("prod")],
        ["prod switched to the Celery layout", () => runProgram("prod", { "airflow:layout": "celery" })],
        ["dev switched to MWAA", () => runProgram("dev", { "airflow:layout": "mwaa" })],
        [
            "dev with the sqs broker and flow logs",
            () => runProgram("dev", { "airflow:broker": "sqs", "airflow:flower": false, "airflow:flowLogs": true }),
        ],
    ];
    for (const [label, run] of runs) {
        it(`trusts a service only for this account, and for its resources unless exempt, in ${label}`, async () => {
            const r = await run();
            expect(r.ofType("aws:iam/role:Role").length).to.be.greaterThan(1);
            expect(trustProblems(r)).to.deep.equal([]);
        });
    }

    it("finds a role trusted without a source condition (the check above can fail)", async () => {
        const r = await runStack("dev");
        const bare = JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
            ],
        });
        const task = r.ofType("aws:iam/role:Role").find((x) => /task-role$/.test(x.name))!;
        const weakened = new ProgramRun(
            r.stack,
            r.config,
            r.resources.map((res) =>
                res === task ? { ...res, inputs: { ...res.inputs, assumeRolePolicy: bare } } : res,
            ),
            r.outputs,
        );
        expect(trustProblems(weakened)).to.deep.equal([
            `${task.name} statement 0: no aws:SourceAccount condition`,
            `${task.name} statement 0: no aws:SourceArn condition naming this account's resources`,
        ]);
    });
});
