// The Airflow platform: wires the components together from the validated stack configuration.
// Configuration is read and checked only in config/; components receive typed values.
import * as path from "path";
import { CeleryCluster } from "./components/celery";
import { FargateJobs, FargateJobsSettings } from "./components/jobs";
import { MwaaEnvironment, MwaaSettings } from "./components/mwaa";
import { Observability } from "./components/observability";
import { AirflowNetwork, AirflowNetworkSettings, PORTS } from "./components/network";
import { SageMakerTraining, sageMakerTrainingArgs } from "./components/sagemaker";
import { AirflowStorage, AirflowStorageSettings } from "./components/storage";
import { AccessLogBucket } from "./components/logs";
import { loadConfig, storageSettings } from "./config";
import { imageTag } from "./lib/artifacts";

const config = loadConfig();
const name = `airflow-${config.environment}`;
const celeryLayout = config.layout === "celery";
const flower = celeryLayout && config.celery.flower;

// The load balancer (Celery layout only) listens on 80 and 443 for the allow-list. Flower's port
// takes the allow-list too, except "the whole internet", which is only ever allowed on 80 and 443,
// plus the VPC itself (VPN and bastion users).
const world = (cidr: string) => cidr === "0.0.0.0/0" || cidr === "::/0";
// An internal load balancer (no HTTPS and no airflow:publicPlainHttp) takes the VPC only.
const { webAllowedCidrs, ...networkSettings } = config.network;
const allowList = config.celery.webAccess === "internal" ? [networkSettings.cidrBlock] : webAllowedCidrs;
const network = new AirflowNetwork(name, {
    ...(networkSettings satisfies AirflowNetworkSettings),
    listeners: celeryLayout
        ? [
              { port: PORTS.http, cidrs: allowList },
              { port: PORTS.https, cidrs: allowList },
              ...(flower
                  ? [
                        {
                            port: PORTS.flower,
                            cidrs: [...new Set([...allowList.filter((c) => !world(c)), config.network.cidrBlock])],
                        },
                    ]
                  : []),
          ]
        : [],
    tags: config.tags,
});

// One log bucket per stack: S3 server access logs of the artifacts and ML buckets, and the load balancer's.
const accessLogs = new AccessLogBucket(name, {
    region: config.region ?? "",
    expirationDays: config.storage.accessLogExpirationDays,
    protectData: config.storage.protectData,
    tags: config.tags,
});

const storage = new AirflowStorage(name, {
    ...(storageSettings(config.storage) satisfies AirflowStorageSettings),
    accessLogBucket: accessLogs.bucketName,
    environment: config.environment,
    layout: config.layout,
    airflowMajor: config.airflowMajor,
    network: {
        privateSubnetIds: network.privateSubnetIdList,
        databaseSecurityGroupId: network.securityGroupIds.database,
        brokerSecurityGroupId: network.securityGroupIds.broker,
        fileSystemSecurityGroupId: network.securityGroupIds.fileSystem,
    },
    queues: config.celery.workerPools.map((p) => p.name),
    flower,
    logRetentionDays: config.celery.logRetentionDays,
    deploy: {
        dagsDir: path.join(__dirname, "dags"),
        requirementsFile: path.join(__dirname, "dags", "requirements.txt"),
        pluginsDir: path.join(__dirname, "plugins"),
    },
    tags: config.tags,
});

let celery: CeleryCluster | undefined;
if (celeryLayout) {
    if (!storage.secretArns) throw new Error("AirflowStorage created no secrets for the celery layout");
    const { image: givenImage, ...celerySettings } = config.celery;
    celery = new CeleryCluster(name, {
        ...celerySettings,
        flower,
        environment: config.environment,
        airflowVersion: config.airflowVersion,
        accessLogBucket: accessLogs.bucketName,
        network: {
            vpcId: network.vpcId,
            vpcCidr: network.vpcCidr,
            publicSubnetIds: network.publicSubnetIds,
            privateSubnetIds: network.privateSubnetIds,
            servicesSecurityGroupId: network.securityGroupIds.services,
            loadBalancerSecurityGroupId: network.securityGroupIds.loadBalancer,
        },
        storage: {
            artifactsBucketName: storage.artifactsBucketName,
            artifactsBucketArn: storage.artifactsBucketArn,
            artifactsKmsKeyArn: config.storage.artifacts.kmsKeyArn,
            secretArns: storage.secretArns,
            brokerType: config.storage.broker.type,
            queues: storage.queues,
            fileSystem: storage.fileSystem,
            databaseInstanceId: storage.databaseInstanceId,
        },
        image: givenImage
            ? { uri: givenImage }
            : {
                  build: {
                      context: __dirname,
                      dockerfile: path.join(__dirname, "images", "airflow", "Dockerfile"),
                      tag: imageTag(
                          config.airflowVersion,
                          ["images/airflow/Dockerfile", "dags/requirements.txt", ".dockerignore"].map((f) =>
                              path.join(__dirname, f),
                          ),
                      ),
                  },
              },
        protectData: config.storage.protectData,
        tags: config.tags,
    });
}

// The prod layout: Amazon MWAA, fed from the same bucket, requirements, version and secrets backend.
let mwaa: MwaaEnvironment | undefined;
if (config.layout === "mwaa") {
    mwaa = new MwaaEnvironment(name, {
        ...(config.mwaa satisfies MwaaSettings),
        environment: config.environment,
        airflowVersion: config.airflowVersion,
        logRetentionDays: config.celery.logRetentionDays,
        network: {
            vpcId: network.vpcId,
            privateSubnetIds: network.privateSubnetIdList,
            availabilityZones: network.availabilityZones,
            // The private web server is reached from inside the VPC (VPN, bastion, SSM port forwarding).
            webserverIngressCidrs: config.mwaa.webserverAccessMode === "PRIVATE_ONLY" ? [config.network.cidrBlock] : [],
        },
        source: {
            bucketArn: storage.artifactsBucketArn,
            requirementsVersion: storage.artifacts.requirementsVersion,
            pluginsVersion: storage.artifacts.pluginsVersion,
            uploads: storage.artifacts.objects,
            versioning: storage.artifactsBucketVersioning,
            kmsKeyArn: config.storage.artifacts.kmsKeyArn,
        },
        protectData: config.storage.protectData,
        tags: config.tags,
    });
}

// The role DAG tasks run with: the Celery workers' task role, or the MWAA execution role.
const airflowRoleName = celery?.workerTaskRole.name ?? mwaa?.executionRoleName;
// Deferred waits run in the triggerer: on Celery it has a role of its own (MWAA runs everything as one).
const triggererRoleName = celery?.triggererTaskRole.name;

// The job task definition the fargate_parallel_tasks DAG runs, the same on both layouts.
const jobs = airflowRoleName
    ? new FargateJobs(name, {
          environment: config.environment,
          cluster: celery ? { name: celery.clusterName, arn: celery.clusterArn } : undefined,
          network: { vpcId: network.vpcId, privateSubnetIds: network.privateSubnetIds },
          ...(config.jobs satisfies FargateJobsSettings),
          containerInsights: config.celery.containerInsights,
          logRetentionDays: config.celery.logRetentionDays,
          secretRecoveryWindowDays: config.storage.secretRecoveryWindowDays,
          airflowRoleName,
          triggererRoleName,
          tags: config.tags,
      })
    : undefined;

// SageMaker training infrastructure, driven by the DAGs with the same role on either layout.
const ml = airflowRoleName
    ? new SageMakerTraining(name, {
          ...sageMakerTrainingArgs(
              config,
              { vpcId: network.vpcId, privateSubnetIds: network.privateSubnetIdList },
              airflowRoleName,
              triggererRoleName,
          ),
          accessLogBucket: accessLogs.bucketName,
      })
    : undefined;

// One dashboard and one set of alarms, the same on both layouts, notifying one topic.
const observability = new Observability(name, {
    layout: config.layout,
    environment: config.environment,
    environmentName: name,
    celery: celery
        ? {
              clusterName: celery.clusterName,
              clusterArn: celery.clusterArn,
              serviceNames: celery.serviceNames,
              workerPools: config.celery.workerPools.map((p) => p.name),
              containerInsights: config.celery.containerInsights,
              databaseInstanceId: storage.databaseInstanceId!,
              broker:
                  config.storage.broker.type === "redis"
                      ? { type: "redis", replicationGroupId: storage.brokerReplicationGroupId! }
                      : {
                            type: "sqs",
                            queueNames: Object.fromEntries(
                                Object.entries(storage.queues ?? {}).map(([q, v]) => [
                                    q,
                                    v.arn.apply((arn) => arn.split(":").pop()!),
                                ]),
                            ),
                        },
              loadBalancer: celery.loadBalancer,
          }
        : undefined,
    mwaa: mwaa ? { environmentArn: mwaa.environmentArn } : undefined,
    thresholds: config.observability.thresholds,
    notifications: config.observability.notifications,
    logRetentionDays: config.celery.logRetentionDays,
    tags: config.tags,
});

// The stack outputs. Those of the layout the stack does not run (and other absent values) are left
// out rather than exported as undefined, which the engine warns about on every preview and up.
const outputs: Record<string, unknown> = {
    layout: config.layout,
    airflowVersion: config.airflowVersion,
    environment: config.environment,
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    securityGroupIds: network.securityGroupIds,
    artifactsBucket: storage.artifactsBucketName,
    databaseEndpoint: storage.databaseEndpoint,
    brokerEndpoint: storage.brokerEndpoint ?? storage.queues?.default?.url,
    fileSystemId: storage.fileSystemId,
    fileSystemAccessPointId: storage.accessPointId,
    secretArns: storage.secretArns,
    airflowUrl: celery?.airflowUrl,
    flowerUrl: celery?.flowerUrl,
    ecsClusterName: celery?.clusterName,
    airflowImage: celery?.imageUri,
    fargateJobsVariable: jobs?.variableSecretName,
    fargateJobsTaskDefinition: jobs?.taskDefinitionArn,
    mwaaWebserverUrl: mwaa?.webserverUrl,
    mwaaEnvironmentArn: mwaa?.environmentArn,
    mwaaEnvironmentName: mwaa?.environmentName,
    mwaaExecutionRoleArn: mwaa?.executionRoleArn,
    mlTrainingRoleArn: ml?.trainingRoleArn,
    mlBucket: ml?.bucketName,
    mlImageUri: ml?.imageUri,
    mlVariableNames: ml?.variableNames,
    mlVariableSecretNames: ml?.variableSecretNames,
    alarmTopicArn: observability.topicArn,
    dashboardName: observability.dashboardName,
};
export = Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
