// Table tests of MwaaEnvironment's and AirflowNetwork's pure functions (issue 14).
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { environmentInputs, executionRoleStatements, loggingConfiguration } from "../components/mwaa";
import { validateArgs } from "../components/mwaa/args";
import { natGatewayCount, PORTS, tierRules } from "../components/network";
import { validateArgs as validateNetworkArgs } from "../components/network/args";
import { parseConfig } from "../config";

const resolvedOf = (value: unknown) =>
    new Promise((resolve) => pulumi.output(value as pulumi.Input<string>).apply((v) => resolve(v)));

describe("MwaaEnvironment's pure functions", () => {
    const scope = {
        partition: "aws",
        region: "eu-west-1",
        account: "123456789012",
        envName: "airflow-prod",
        environment: "prod",
        bucketArn: "arn:aws:s3:::bucket",
    };

    it("executionRoleStatements grants the MWAA guide's actions, a bucket key's decrypt only when given", () => {
        const table: [string | undefined, string[]][] = [
            [
                undefined,
                [
                    "PublishEnvironmentMetrics",
                    "ReadArtifactsBucket",
                    "CheckAccountPublicAccessBlock",
                    "WriteEnvironmentLogs",
                    "ListLogGroups",
                    "PutMetrics",
                    "UseCeleryQueues",
                    "EncryptCeleryMessages",
                    "ReadAirflowConnectionsAndVariables",
                ],
            ],
            ["arn:aws:kms:eu-west-1:123456789012:key/k", ["DecryptArtifactsBucket"]],
        ];
        for (const [bucketKmsKeyArn, extra] of table) {
            const sids = executionRoleStatements({ ...scope, bucketKmsKeyArn }).map((s) => s.Sid);
            expect(sids.slice(bucketKmsKeyArn ? -1 : 0)).to.deep.equal(extra);
        }
    });

    it("executionRoleStatements scopes logs to the environment's log groups and secrets to its prefixes", async () => {
        const bySid = Object.fromEntries(executionRoleStatements(scope).map((s) => [s.Sid, s]));
        expect(await resolvedOf(bySid.WriteEnvironmentLogs.Resource)).to.equal(
            "arn:aws:logs:eu-west-1:123456789012:log-group:airflow-airflow-prod-*",
        );
        expect(await resolvedOf(bySid.ReadAirflowConnectionsAndVariables.Resource)).to.deep.equal([
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/prod/connections/*",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/prod/variables/*",
        ]);
    });

    it("loggingConfiguration enables every module at its own level", () => {
        const config = loggingConfiguration({
            DagProcessing: "INFO",
            Scheduler: "WARNING",
            Task: "DEBUG",
            Webserver: "ERROR",
            Worker: "CRITICAL",
        });
        expect(config).to.deep.equal({
            dagProcessingLogs: { enabled: true, logLevel: "INFO" },
            schedulerLogs: { enabled: true, logLevel: "WARNING" },
            taskLogs: { enabled: true, logLevel: "DEBUG" },
            webserverLogs: { enabled: true, logLevel: "ERROR" },
            workerLogs: { enabled: true, logLevel: "CRITICAL" },
        });
    });

    it("environmentInputs pins requirements and plugins only when their version is given", () => {
        const resolved = {
            environment: "prod",
            airflowVersion: "3.0.6",
            environmentClass: "mw1.small" as const,
            capacity: { minWorkers: 1, maxWorkers: 2, schedulers: 2, minWebservers: 2, maxWebservers: 2 },
            webserverAccessMode: "PRIVATE_ONLY" as const,
            weeklyMaintenanceWindowStart: "SUN:03:00",
            logLevels: {
                DagProcessing: "INFO",
                Scheduler: "INFO",
                Task: "INFO",
                Webserver: "INFO",
                Worker: "INFO",
            } as const,
            airflowConfigurationOptions: { "core.parallelism": "8" },
            webserverIngressCidrs: [],
            logRetentionDays: 30,
        };
        const table: [Record<string, string>, string[]][] = [
            [{}, []],
            [{ requirementsVersion: "r1" }, ["requirementsS3Path", "requirementsS3ObjectVersion"]],
            [{ pluginsVersion: "p1" }, ["pluginsS3Path", "pluginsS3ObjectVersion"]],
        ];
        for (const [versions, keys] of table) {
            const inputs = environmentInputs("airflow-prod", resolved, { bucketArn: "arn:aws:s3:::b", ...versions });
            const pinned = Object.keys(inputs).filter((k) => /^(requirements|plugins)/.test(k));
            expect(pinned, JSON.stringify(versions)).to.deep.equal(keys);
            expect(inputs.dagS3Path).to.equal("dags");
            expect((inputs.airflowConfigurationOptions as Record<string, string>)["core.parallelism"]).to.equal("8");
        }
    });
});

describe("AirflowNetwork's pure functions", () => {
    it("natGatewayCount: one, one per zone, or none", () => {
        const table: [Parameters<typeof natGatewayCount>[0], number, number][] = [
            ["single", 3, 1],
            ["perAz", 2, 2],
            ["perAz", 3, 3],
            ["none", 3, 0],
        ];
        for (const [strategy, zones, count] of table) expect(natGatewayCount(strategy, zones)).to.equal(count);
    });

    it("tierRules: ingress from outside the VPC only on the listeners, from the allow-list", () => {
        const rules = tierRules({
            cidrBlock: "10.40.0.0/16",
            listeners: [{ port: PORTS.https, cidrs: ["203.0.113.0/24", "2001:db8::/32"] }],
        });
        const fromCidrs = rules.flatMap((r) =>
            r.kind === "ingress" && "cidr" in r.from ? [[r.rule, r.from.cidr]] : [],
        );
        expect(fromCidrs).to.deep.equal([
            ["lb-in-443-0", "203.0.113.0/24"],
            ["lb-in-443-1", "2001:db8::/32"],
            ["endpoints-in-https", "10.40.0.0/16"],
        ]);
        const anywhere = rules.filter((r) => r.kind === "egress" && "anywhere" in r.to).map((r) => r.tier);
        expect(anywhere).to.deep.equal(["services"]);
    });
});

describe("MwaaEnvironment's defaults", () => {
    it("are what a stack that sets no mwaa key gets", () => {
        const config = parseConfig({ project: "airflow", stack: "prod1", config: { "aws:region": "us-east-1" } });
        const resolved = validateArgs(
            "airflow-prod1",
            {
                environment: "prod1",
                network: { vpcId: "vpc", privateSubnetIds: ["subnet-a", "subnet-b"], availabilityZones: [] },
                source: { bucketArn: "arn:aws:s3:::bucket" },
            },
            undefined as unknown as pulumi.Resource,
        );
        const { environmentClass, webserverAccessMode, weeklyMaintenanceWindowStart, logging } = config.mwaa;
        const { minWorkers, maxWorkers, schedulers, minWebservers, maxWebservers } = config.mwaa;
        expect(resolved).to.deep.include({
            airflowVersion: config.airflowVersion,
            environmentClass,
            capacity: { minWorkers, maxWorkers, schedulers, minWebservers, maxWebservers },
            webserverAccessMode,
            weeklyMaintenanceWindowStart,
            airflowConfigurationOptions: config.mwaa.airflowConfigurationOptions,
            logRetentionDays: config.celery.logRetentionDays,
        });
        expect(new Set(Object.values(resolved.logLevels))).to.deep.equal(new Set([logging.level]));
    });
});

describe("AirflowNetwork's defaults", () => {
    it("are what a stack that sets no network key gets", () => {
        const config = parseConfig({ project: "airflow", stack: "dev1", config: { "aws:region": "us-east-1" } });
        const resolved = validateNetworkArgs("airflow-dev1", {}, undefined as unknown as pulumi.Resource);
        const { cidrBlock, azCount, natStrategy, interfaceEndpoints, flowLogs } = config.network;
        expect(resolved).to.deep.include({ cidrBlock, azCount, natStrategy, interfaceEndpoints, flowLogs });
    });
});
