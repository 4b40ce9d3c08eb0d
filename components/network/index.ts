import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetPlan } from "../../lib/cidr";
import { withName } from "../../lib/tags";
import { AirflowNetworkArgs, TierSecurityGroups, validateArgs } from "./args";
import { createFlowLogs } from "./flow-logs";
import { createTierSecurityGroups } from "./security-groups";
import { createPrivateRoutes, createSubnets } from "./subnets";

export type { AirflowNetworkSettings } from "./args";
export { AirflowNetworkArgs, LoadBalancerListener, natGatewayCount, PORTS, TierSecurityGroups } from "./args";
export { TIER_GROUPS, tierRules } from "./security-groups";

/**
 * The network every Airflow layout runs in: a VPC over 2-3 availability zones with public subnets
 * (load balancer, NAT) and private subnets (everything else), NAT gateways per the chosen strategy,
 * an S3 gateway endpoint, optional interface endpoints, optional flow logs, and one security group
 * per tier whose ingress rules only ever name another tier (the load balancer's listeners excepted).
 */
export class AirflowNetwork extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly vpcCidr: pulumi.Output<string>;
    public readonly availabilityZones: pulumi.Output<string[]>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    /** The private subnet ids one by one (their number is known before deployment: one per AZ). */
    public readonly privateSubnetIdList: pulumi.Output<string>[];
    public readonly privateRouteTableIds: pulumi.Output<string[]>;
    public readonly natGatewayIds: pulumi.Output<string[]>;
    public readonly securityGroupIds: TierSecurityGroups;
    /** Interface endpoint ids by service name. */
    public readonly interfaceEndpointIds: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: AirflowNetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:network:AirflowNetwork", name, {}, opts);
        const resolved = validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;

        const vpc = new aws.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: resolved.cidrBlock,
                enableDnsHostnames: true, // interface endpoints' private DNS needs both
                enableDnsSupport: true,
                tags: withName(tags, `${name}-vpc`),
            },
            parent,
        );
        // The VPC's default security group allows all traffic between its members: take every rule away.
        new aws.ec2.DefaultSecurityGroup(
            `${name}-default-sg`,
            { vpcId: vpc.id, tags: withName(tags, `${name}-default-sg`) },
            parent,
        );

        const azNames = aws.getAvailabilityZonesOutput({ state: "available" }, parent).names.apply((names) => {
            if (names.length < resolved.azCount) {
                throw new pulumi.ResourceError(
                    `azCount is ${resolved.azCount} but the region has only ${names.length} available zones`,
                    this,
                );
            }
            return names.slice(0, resolved.azCount);
        });
        const plan = subnetPlan(resolved.cidrBlock, resolved.azCount);
        const subnets = createSubnets(name, vpc, plan, azNames, resolved.azCount, tags, this);
        const { publicSubnets, privateSubnets } = subnets;
        const { natGateways, privateRouteTables } = createPrivateRoutes(
            name,
            vpc,
            subnets,
            resolved.natStrategy,
            tags,
            this,
        );

        const region = aws.getRegionOutput({}, parent).region;
        new aws.ec2.VpcEndpoint(
            `${name}-s3-endpoint`,
            {
                vpcId: vpc.id,
                serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
                vpcEndpointType: "Gateway",
                routeTableIds: privateRouteTables.map((t) => t.id),
                tags: withName(tags, `${name}-s3-endpoint`),
            },
            parent,
        );

        const groups = createTierSecurityGroups(name, vpc.id, resolved, tags, this);

        const interfaceEndpoints = resolved.interfaceEndpoints.map((service) => {
            const endpointName = `${name}-${service.replace(/\./g, "-")}-endpoint`;
            return [
                service,
                new aws.ec2.VpcEndpoint(
                    endpointName,
                    {
                        vpcId: vpc.id,
                        serviceName: pulumi.interpolate`com.amazonaws.${region}.${service}`,
                        vpcEndpointType: "Interface",
                        privateDnsEnabled: true,
                        subnetIds: privateSubnets.map((s) => s.id),
                        securityGroupIds: [groups.endpoints.id],
                        tags: withName(tags, endpointName),
                    },
                    parent,
                ),
            ] as const;
        });

        if (resolved.flowLogs.enabled) {
            createFlowLogs(name, vpc, resolved.flowLogs.retentionDays, tags, this);
        }

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.availabilityZones = azNames;
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.privateSubnetIdList = privateSubnets.map((s) => s.id);
        this.privateRouteTableIds = pulumi.all(privateRouteTables.map((t) => t.id));
        this.natGatewayIds = pulumi.all(natGateways.map((n) => n.id));
        this.securityGroupIds = {
            loadBalancer: groups.loadBalancer.id,
            services: groups.services.id,
            database: groups.database.id,
            broker: groups.broker.id,
            fileSystem: groups.fileSystem.id,
            endpoints: groups.endpoints.id,
        };
        this.interfaceEndpointIds = pulumi
            .all(interfaceEndpoints.map(([service, endpoint]) => endpoint.id.apply((id) => [service, id] as const)))
            .apply((pairs) => Object.fromEntries(pairs));

        this.registerOutputs({
            vpcId: this.vpcId,
            vpcCidr: this.vpcCidr,
            availabilityZones: this.availabilityZones,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
            privateRouteTableIds: this.privateRouteTableIds,
            natGatewayIds: this.natGatewayIds,
            securityGroupIds: this.securityGroupIds,
            interfaceEndpointIds: this.interfaceEndpointIds,
        });
    }
}
