// The Airflow platform: wires the components together from the validated stack configuration.
// Configuration is read and checked only in config/; components receive typed values.
import * as path from "path";
import { MwaaEnvironment } from "./components/mwaa";
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

// The prod layout: Amazon MWAA, fed from the same bucket, requirements, version and secrets backend.
let mwaa: MwaaEnvironment | undefined;
if (config.layout === "mwaa") {
    mwaa = new MwaaEnvironment(name, {
        environment: config.environment,
        airflowVersion: config.airflowVersion,
        environmentClass: config.mwaa.environmentClass,
        minWorkers: config.mwaa.minWorkers,
        maxWorkers: config.mwaa.maxWorkers,
        schedulers: config.mwaa.schedulers,
        minWebservers: config.mwaa.minWebservers,
        maxWebservers: config.mwaa.maxWebservers,
        webserverAccessMode: config.mwaa.webserverAccessMode,
        weeklyMaintenanceWindowStart: config.mwaa.weeklyMaintenanceWindowStart,
        logging: { level: config.mwaa.logLevel, modules: config.mwaa.moduleLogLevels },
        airflowConfigurationOptions: config.mwaa.configurationOptions,
        network: {
            vpcId: network.vpcId,
            privateSubnetIds: network.privateSubnetIdList,
            availabilityZones: network.availabilityZones,
            // The private web server is reached from inside the VPC (VPN, bastion, SSM port forwarding).
            webserverIngressCidrs: config.mwaa.webserverAccessMode === "PRIVATE_ONLY" ? [config.network.cidr] : [],
        },
        source: {
            bucketArn: storage.artifactsBucketArn,
            requirementsVersion: storage.artifacts.requirementsVersion,
            pluginsVersion: storage.artifacts.pluginsVersion,
            uploads: storage.artifacts.objects,
            kmsKeyArn: config.storage.artifacts.kmsKeyArn,
        },
        protect: config.storage.protectData,
        tags: config.tags,
    });
}

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
export const mwaaWebserverUrl = mwaa?.webserverUrl;
export const mwaaEnvironmentArn = mwaa?.environmentArn;
export const mwaaEnvironmentName = mwaa?.environmentName;
export const mwaaExecutionRoleArn = mwaa?.executionRoleArn;
