// The Airflow platform: wires the components together from the validated stack configuration.
// Configuration is read and checked only in config/; components receive typed values.
import { AirflowNetwork } from "./components/network";
import { loadConfig } from "./config";

const config = loadConfig();

const network = new AirflowNetwork(`airflow-${config.environment}`, {
    cidrBlock: config.network.cidr,
    azCount: config.network.azCount,
    natStrategy: config.network.natStrategy,
    interfaceEndpoints: config.network.interfaceEndpoints,
    flowLogs: config.network.flowLogs,
    webAllowedCidrs: config.network.webAllowedCidrs,
    tags: config.tags,
});

export const layout = config.layout;
export const airflowVersion = config.airflowVersion;
export const environment = config.environment;
export const vpcId = network.vpcId;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const securityGroupIds = network.securityGroupIds;
