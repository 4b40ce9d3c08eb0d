import * as pulumi from "@pulumi/pulumi";

/** A bare custom resource for testing the harness itself. */
export class Resource extends pulumi.CustomResource {
    constructor(name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super("test:index:Probe", name, props, opts);
    }
}

/** Alarm thresholds for the alarm tests: fixed here, so that a change of a default moves no test. */
export const SAMPLE_THRESHOLDS = {
    heartbeatMissingMinutes: 5,
    queuedWithoutWorkerMinutes: 10,
    oldestQueuedTaskMinutes: 30,
    importErrors: 0,
    failedDagRunsPerHour: 3,
    dbCpuPercent: 80,
    dbFreeStorageGb: 2,
    dbConnections: 80,
    lb5xxPer5Minutes: 10,
    unhealthyTargetMinutes: 5,
} as const;

/** Secrets Manager ARNs standing in for the storage component's secrets in container-definition tests. */
export const SAMPLE_SECRET_ARNS = {
    sqlAlchemyConn: "arn:conn",
    resultBackend: "arn:result",
    brokerUrl: "arn:broker",
    fernetKey: "arn:fernet",
    apiSecretKey: "arn:api",
    jwtSecret: "arn:jwt",
    adminPassword: "arn:admin",
    flowerBasicAuth: "arn:flower",
} as const;
