// The Airflow platform: wires the components together from the validated stack configuration.
// Configuration is read and checked only in config/; components receive typed values.
import * as path from "path";
import { AirflowNetwork } from "./components/network";
import { AirflowStorage } from "./components/storage";
import { loadConfig } from "./config";

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
