// The Airflow platform: wires the components together from the validated stack configuration.
// Configuration is read and checked only in config/; components receive typed values.
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { AirflowNetwork } from "./components/network";
import { SageMakerTraining, sageMakerTrainingArgs } from "./components/sagemaker";
import { AirflowStorage } from "./components/storage";
import { Layout, loadConfig } from "./config";

const config = loadConfig();
const name = `airflow-${config.environment}`;

const network = new AirflowNetwork(name, {
    cidrBlock: config.network.cidr,
    azCount: config.network.azCount,
    natStrategy: config.network.natStrategy,
    interfaceEndpoints: config.network.interfaceEndpoints,
    flowLogs: config.network.flowLogs,
    webAllowedCidrs: config.network.webAllowedCidrs,
    tags: config.tags,
});

const storage = new AirflowStorage(name, {
    environment: config.environment,
    layout: config.layout,
    airflowMajor: config.airflowMajor,
    network: {
        privateSubnetIds: network.privateSubnetIdList,
        databaseSecurityGroupId: network.securityGroupIds.database,
        brokerSecurityGroupId: network.securityGroupIds.broker,
        fileSystemSecurityGroupId: network.securityGroupIds.fileSystem,
    },
    protectData: config.storage.protectData,
    artifacts: config.storage.artifacts,
    secretRecoveryWindowDays: config.storage.secretRecoveryWindowDays,
    database: config.storage.database,
    broker: config.storage.broker,
    flower: config.celery.flower && config.storage.broker.type === "redis",
    sharedFileSystem: config.storage.sharedFileSystem,
    deploy: {
        dagsDir: path.join(__dirname, "dags"),
        requirementsFile: path.join(__dirname, "dags", "requirements.txt"),
        pluginsDir: path.join(__dirname, "plugins"),
    },
    tags: config.tags,
});

/**
 * The IAM role Airflow's tasks run as in a layout, which SageMakerTraining grants the SageMaker
 * permissions to: the Celery worker task role (celery layout, issue 4) or the MWAA execution role
 * (mwaa layout, issue 5). Neither layout component exists yet, so there is no role to grant them to
 * and the ML training infrastructure is not created; the layout components fill this in.
 */
function airflowTaskRoleName(stackLayout: Layout): pulumi.Input<string> | undefined {
    switch (stackLayout) {
        case "celery":
            return undefined; // the Celery worker task role's name, from the Celery layout component
        case "mwaa":
            return undefined; // the MWAA execution role's name, from the MWAA layout component
    }
}

const airflowRoleName = airflowTaskRoleName(config.layout);
const ml =
    airflowRoleName === undefined
        ? undefined
        : new SageMakerTraining(
              name,
              sageMakerTrainingArgs(
                  config,
                  { vpcId: network.vpcId, privateSubnetIds: network.privateSubnetIdList },
                  airflowRoleName,
              ),
          );

export const layout = config.layout;
export const airflowVersion = config.airflowVersion;
export const environment = config.environment;
export const vpcId = network.vpcId;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const securityGroupIds = network.securityGroupIds;
export const artifactsBucket = storage.artifactsBucketName;
export const databaseEndpoint = storage.databaseEndpoint;
export const brokerEndpoint = storage.brokerEndpoint ?? storage.queues?.default?.url;
export const fileSystemId = storage.fileSystemId;
export const fileSystemAccessPointId = storage.accessPointId;
export const secretArns = storage.secretArns;
export const mlTrainingRoleArn = ml?.trainingRoleArn;
export const mlBucket = ml?.bucketName;
export const mlImageUri = ml?.imageUri;
export const mlVariableNames = ml?.variableNames;
export const mlVariableSecretNames = ml?.variableSecretNames;
