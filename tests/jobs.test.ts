import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { resolveFargateJobsArgs } from "../components/jobs";
import { ConfigError, loadConfig, parseConfig } from "../config";
import { ProgramRun, runStack, useStack } from "./harness/program";

const T = {
    task: "aws:ecs/taskDefinition:TaskDefinition",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    role: "aws:iam/role:Role",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    cluster: "aws:ecs/cluster:Cluster",
};

for (const stack of ["dev", "staging"] as const) {
    describe(`Fargate jobs of the ${stack} stack`, () => {
        const name = `airflow-${stack}`;
        let run: ProgramRun;
        before(async () => {
            run = await runStack(stack);
        });

        it("defines the job task: image, size, and its own log group", () => {
            const task = run.get(T.task, `${name}-job-task`);
            expect(task.inputs).to.include({ family: `${name}-job`, cpu: "256", memory: "512", networkMode: "awsvpc" });
            const [job] = JSON.parse(task.inputs.containerDefinitions);
            expect(job.name).to.equal("job");
            expect(job.image).to.equal("public.ecr.aws/docker/library/python:3.12-slim");
            expect(job.logConfiguration.options["awslogs-group"]).to.equal(`/airflow/${stack}/jobs`);
            expect(run.get(T.logGroup, `${name}-jobs-logs`).inputs.name).to.equal(`/airflow/${stack}/jobs`);
        });

        it("gives jobs a security group that accepts nothing and may send anywhere", () => {
            const sg = run.get(T.sg, `${name}-jobs-sg`);
            expect(run.ofType(T.ingress).filter((r) => r.inputs.securityGroupId === `${sg.name}-id`)).to.have.length(0);
            expect(run.get(T.egress, `${name}-jobs-out-all`).inputs).to.include({
                securityGroupId: `${sg.name}-id`,
                ipProtocol: "-1",
            });
        });

        it("publishes the fargate_jobs variable with everything EcsRunTaskOperator needs, using the Celery cluster", () => {
            const value = JSON.parse(
                run.get(T.secretVersion, `${name}-fargate-jobs-variable-value`).inputs.secretString,
            );
            expect(value).to.deep.equal({
                environment: stack,
                region: "us-east-1",
                cluster: run.get(T.cluster, `${name}-cluster`).state.name,
                task_definition: `${name}-job`,
                container_name: "job",
                subnet_ids: [`${name}-private-0-id`, `${name}-private-1-id`],
                security_group_ids: [`${name}-jobs-sg-id`],
                capacity_provider: "FARGATE_SPOT",
                log_group: `/airflow/${stack}/jobs`,
                log_stream_prefix: "job",
            });
            expect(run.outputs.fargateJobsVariable).to.equal(`airflow/${stack}/variables/fargate_jobs`);
            expect(run.has(T.cluster, `${name}-jobs-cluster`)).to.equal(false);
        });

        it("lets the Celery worker role run, watch and stop only these jobs and pass only their roles to ECS", () => {
            const policy = run.get(T.rolePolicy, `${name}-jobs-airflow-policy`);
            expect(policy.inputs.role).to.equal(run.get(T.role, `${name}-worker-task-role`).state.name);
            const st = Object.fromEntries(JSON.parse(policy.inputs.policy).Statement.map((s: any) => [s.Sid, s]));
            const clusterArn = run.get(T.cluster, `${name}-cluster`).state.arn;
            const clusterName = run.get(T.cluster, `${name}-cluster`).state.name;
            expect(st.RunJobs).to.deep.equal({
                Sid: "RunJobs",
                Effect: "Allow",
                Action: "ecs:RunTask",
                Resource: `arn:aws:ecs:us-east-1:123456789012:task-definition/${name}-job:*`,
                Condition: { ArnEquals: { "ecs:cluster": clusterArn } },
            });
            expect(st.WatchAndStopJobs.Resource).to.equal(`arn:aws:ecs:us-east-1:123456789012:task/${clusterName}/*`);
            expect(st.PassJobRoles.Resource).to.deep.equal([
                run.get(T.role, `${name}-jobs-execution-role`).state.arn,
                run.get(T.role, `${name}-jobs-task-role`).state.arn,
            ]);
            expect(st.PassJobRoles.Condition).to.deep.equal({
                StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
            });
            for (const s of Object.values(st) as any[]) {
                for (const action of [s.Action].flat()) expect(action).to.not.match(/(^\*$|:\*$)/);
            }
        });

        it("gives the job's execution role only its log stream, and the job no AWS permissions", () => {
            const st = JSON.parse(run.get(T.rolePolicy, `${name}-jobs-execution-policy`).inputs.policy).Statement;
            expect(st).to.deep.equal([
                {
                    Sid: "WriteLogs",
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: `${run.get(T.logGroup, `${name}-jobs-logs`).state.arn}:log-stream:*`,
                },
            ]);
            expect(
                run.ofType(T.rolePolicy).filter((p) => p.inputs.role === `${name}-jobs-task-role-id`),
            ).to.have.length(0);
        });
    });
}

describe("Fargate jobs of the prod (MWAA) stack", () => {
    it("runs in a cluster of their own and are allowed to the MWAA execution role", async () => {
        const run = await runStack("prod");
        const cluster = run.get(T.cluster, "airflow-prod-jobs-cluster");
        const value = JSON.parse(
            run.get(T.secretVersion, "airflow-prod-fargate-jobs-variable-value").inputs.secretString,
        );
        expect(value.cluster).to.equal(cluster.state.name);
        expect(run.get(T.rolePolicy, "airflow-prod-jobs-airflow-policy").inputs.role).to.equal(
            run.get(T.role, "airflow-prod-execution-role").state.name,
        );
    });
});

describe("Fargate job configuration errors", () => {
    it("rejects a job memory Fargate does not offer with its CPU", () => {
        useStack("dev", { "airflow:jobCpu": 256, "airflow:jobMemory": 4096 });
        try {
            loadConfig();
            expect.fail("the config loaded");
        } catch (err) {
            expect((err as ConfigError).errors).to.deep.equal([
                "airflow:jobMemory must be a memory size Fargate allows with airflow:jobCpu 256 (512, 1024 or 2048), got 4096",
            ]);
        }
    });
});

describe("deferred waits of the DAGs", () => {
    it("let the Celery triggerer only describe the jobs and read their logs", async () => {
        const run = await runStack("staging");
        const triggerer = run.get(T.role, "airflow-staging-triggerer-task-role").state.name;
        const jobs = run.get(T.rolePolicy, "airflow-staging-jobs-triggerer-policy");
        expect(jobs.inputs.role).to.equal(triggerer);
        expect(JSON.parse(jobs.inputs.policy).Statement.map((s: any) => [s.Sid, s.Action])).to.deep.equal([
            ["WatchJobs", "ecs:DescribeTasks"],
            ["ReadJobLogs", ["logs:GetLogEvents", "logs:DescribeLogStreams", "logs:FilterLogEvents"]],
        ]);
        const ml = run.get(T.rolePolicy, "airflow-staging-triggerer-sagemaker");
        expect(ml.inputs.role).to.equal(triggerer);
        expect(JSON.parse(ml.inputs.policy).Statement.map((s: any) => [s.Sid, s.Action])).to.deep.equal([
            ["WatchJobs", ["sagemaker:DescribeTrainingJob", "sagemaker:DescribeTransformJob"]],
            ["ReadJobLogs", ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"]],
        ]);
    });

    it("need no policy of their own on MWAA, where the execution role runs the triggers too", async () => {
        const run = await runStack("prod");
        expect(run.has(T.rolePolicy, "airflow-prod-jobs-triggerer-policy")).to.equal(false);
        expect(run.has(T.rolePolicy, "airflow-prod-triggerer-sagemaker")).to.equal(false);
    });
});

describe("FargateJobs' defaults", () => {
    it("are what a stack that sets no jobs key gets", () => {
        const config = parseConfig({ project: "airflow", stack: "dev1", config: { "aws:region": "us-east-1" } });
        const resolved = resolveFargateJobsArgs(
            "airflow-dev1",
            {
                environment: "dev1",
                network: { vpcId: "vpc", privateSubnetIds: ["subnet-a"] },
                airflowRoleName: "airflow-role",
            },
            undefined as unknown as pulumi.Resource,
        );
        expect(resolved).to.deep.include({
            ...config.jobs,
            containerInsights: config.celery.containerInsights,
            logRetentionDays: config.celery.logRetentionDays,
            secretRecoveryWindowDays: config.storage.secretRecoveryWindowDays,
        });
    });
});
