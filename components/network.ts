import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { INTERFACE_ENDPOINTS, InterfaceEndpoint, NAT_STRATEGIES, NatStrategy } from "../config/network";
import { choiceText, isCidr, isPrivateIpv4Cidr, LOG_RETENTION_DAYS } from "../config/spec";
import { subnetPlan } from "../lib/cidr";
import { assumeRolePolicy, policyDocument } from "../lib/iam";
import { withName } from "../lib/tags";

/** Ports the tiers talk on. */
export const PORTS = {
    http: 80,
    https: 443,
    /** Airflow UI and API (webserver on 2.x, api-server on 3.x), also the execution API on 3.x. */
    airflowWeb: 8080,
    flower: 5555,
    /** Worker log server, read by the UI. */
    workerLogs: 8793,
    /** Triggerer log server, read by the UI. */
    triggererLogs: 8794,
    postgres: 5432,
    redis: 6379,
    nfs: 2049,
} as const;

export interface AirflowNetworkArgs {
    /**
     * IPv4 CIDR block of the VPC, in a private range, prefix /16 to /21.
     * Private subnets get 1/8 of it each, public subnets 1/64 each. Default: "10.40.0.0/16".
     */
    cidrBlock?: string;
    /** Number of availability zones, 2 or 3. Default: 2. */
    azCount?: 2 | 3;
    /** NAT gateways: "single", "perAz" or "none". Default: "single". */
    natStrategy?: NatStrategy;
    /**
     * Interface endpoints to create in the private subnets (private DNS on), from
     * "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms".
     * The S3 gateway endpoint is always created. Default: none.
     */
    interfaceEndpoints?: readonly InterfaceEndpoint[];
    /** VPC flow logs to CloudWatch Logs. Default: off; retention 30 days when on. */
    flowLogs?: { enabled: boolean; retentionDays?: number };
    /**
     * The load balancer's listener ports and the CIDR blocks (IPv4 or IPv6) each accepts traffic
     * from: the only ingress from outside the VPC. Default: 80 and 443 from 0.0.0.0/0.
     */
    listeners?: readonly LoadBalancerListener[];
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface LoadBalancerListener {
    port: number;
    cidrs: readonly string[];
}

/** Security group ids of the tiers that other components attach to. */
export interface TierSecurityGroups {
    /** The internet-facing load balancer: its listener ports from the allow-list only. */
    loadBalancer: pulumi.Output<string>;
    /** Every Airflow component (ECS tasks). */
    services: pulumi.Output<string>;
    /** The metadata database: PostgreSQL from the services only. */
    database: pulumi.Output<string>;
    /** The Celery broker: Redis from the services only. */
    broker: pulumi.Output<string>;
    /** The shared file system: NFS from the services only. */
    fileSystem: pulumi.Output<string>;
    /** The VPC interface endpoints: HTTPS from inside the VPC. */
    endpoints: pulumi.Output<string>;
}

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
        const azIndexes = [...Array(resolved.azCount).keys()];

        const igw = new aws.ec2.InternetGateway(
            `${name}-igw`,
            { vpcId: vpc.id, tags: withName(tags, `${name}-igw`) },
            parent,
        );
        const publicSubnets = azIndexes.map(
            (i) =>
                new aws.ec2.Subnet(
                    `${name}-public-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock: plan.public[i],
                        availabilityZone: azNames[i],
                        mapPublicIpOnLaunch: false,
                        tags: withName(tags, `${name}-public-${i}`),
                    },
                    parent,
                ),
        );
        const privateSubnets = azIndexes.map(
            (i) =>
                new aws.ec2.Subnet(
                    `${name}-private-${i}`,
                    {
                        vpcId: vpc.id,
                        cidrBlock: plan.private[i],
                        availabilityZone: azNames[i],
                        mapPublicIpOnLaunch: false,
                        tags: withName(tags, `${name}-private-${i}`),
                    },
                    parent,
                ),
        );

        const publicRouteTable = new aws.ec2.RouteTable(
            `${name}-public-rt`,
            { vpcId: vpc.id, tags: withName(tags, `${name}-public-rt`) },
            parent,
        );
        new aws.ec2.Route(
            `${name}-public-default-route`,
            { routeTableId: publicRouteTable.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
            parent,
        );
        publicSubnets.forEach(
            (subnet, i) =>
                new aws.ec2.RouteTableAssociation(
                    `${name}-public-rta-${i}`,
                    { subnetId: subnet.id, routeTableId: publicRouteTable.id },
                    parent,
                ),
        );

        const natCount = { single: 1, perAz: resolved.azCount, none: 0 }[resolved.natStrategy];
        const natGateways = [...Array(natCount).keys()].map((i) => {
            const eip = new aws.ec2.Eip(
                `${name}-nat-eip-${i}`,
                { domain: "vpc", tags: withName(tags, `${name}-nat-eip-${i}`) },
                parent,
            );
            return new aws.ec2.NatGateway(
                `${name}-nat-${i}`,
                {
                    allocationId: eip.id,
                    subnetId: publicSubnets[i].id,
                    connectivityType: "public",
                    tags: withName(tags, `${name}-nat-${i}`),
                },
                { parent: this, dependsOn: [igw] },
            );
        });

        const privateRouteTables = azIndexes.map((i) => {
            const table = new aws.ec2.RouteTable(
                `${name}-private-rt-${i}`,
                { vpcId: vpc.id, tags: withName(tags, `${name}-private-rt-${i}`) },
                parent,
            );
            new aws.ec2.RouteTableAssociation(
                `${name}-private-rta-${i}`,
                { subnetId: privateSubnets[i].id, routeTableId: table.id },
                parent,
            );
            if (natGateways.length > 0) {
                new aws.ec2.Route(
                    `${name}-private-default-route-${i}`,
                    {
                        routeTableId: table.id,
                        destinationCidrBlock: "0.0.0.0/0",
                        natGatewayId: natGateways[Math.min(i, natGateways.length - 1)].id,
                    },
                    parent,
                );
            }
            return table;
        });

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

        // Security groups, one per tier; their rules are separate resources below.
        const group = (role: string, description: string) =>
            new aws.ec2.SecurityGroup(
                `${name}-${role}-sg`,
                { vpcId: vpc.id, description, tags: withName(tags, `${name}-${role}-sg`) },
                parent,
            );
        const lb = group("lb", "Airflow load balancer: listener ports from the allow-list");
        const services = group("services", "Airflow components on ECS");
        const database = group("database", "Airflow metadata database");
        const broker = group("broker", "Airflow Celery broker");
        const fileSystem = group("filesystem", "Airflow shared file system");
        const endpoints = group("endpoints", "VPC interface endpoints: HTTPS from the VPC");

        const ingress = (
            rule: string,
            to: aws.ec2.SecurityGroup,
            port: number,
            from: { sg: aws.ec2.SecurityGroup } | { cidr: string },
            description: string,
        ) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-${rule}`,
                {
                    securityGroupId: to.id,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    description,
                    ...("sg" in from
                        ? { referencedSecurityGroupId: from.sg.id }
                        : from.cidr.includes(":")
                          ? { cidrIpv6: from.cidr }
                          : { cidrIpv4: from.cidr }),
                    tags: withName(tags, `${name}-${rule}`),
                },
                parent,
            );
        const egress = (
            rule: string,
            from: aws.ec2.SecurityGroup,
            to: { sg: aws.ec2.SecurityGroup; port: number } | { anywhere: true },
            description: string,
        ) =>
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-${rule}`,
                {
                    securityGroupId: from.id,
                    description,
                    ...("sg" in to
                        ? { ipProtocol: "tcp", fromPort: to.port, toPort: to.port, referencedSecurityGroupId: to.sg.id }
                        : { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }),
                    tags: withName(tags, `${name}-${rule}`),
                },
                parent,
            );

        resolved.listeners.forEach(({ port, cidrs }) =>
            cidrs.forEach((cidr, i) =>
                ingress(`lb-in-${port}-${i}`, lb, port, { cidr }, `Listener ${port} from allow-listed ${cidr}`),
            ),
        );
        egress("lb-out-web", lb, { sg: services, port: PORTS.airflowWeb }, "To the Airflow UI/API");
        egress("lb-out-flower", lb, { sg: services, port: PORTS.flower }, "To Flower");

        ingress(
            "services-in-web-from-lb",
            services,
            PORTS.airflowWeb,
            { sg: lb },
            "Airflow UI/API from the load balancer",
        );
        ingress("services-in-flower-from-lb", services, PORTS.flower, { sg: lb }, "Flower from the load balancer");
        ingress(
            "services-in-web-from-self",
            services,
            PORTS.airflowWeb,
            { sg: services },
            "Airflow API between components",
        );
        ingress(
            "services-in-worker-logs",
            services,
            PORTS.workerLogs,
            { sg: services },
            "Worker log server, read by the UI",
        );
        ingress(
            "services-in-triggerer-logs",
            services,
            PORTS.triggererLogs,
            { sg: services },
            "Triggerer log server, read by the UI",
        );
        // Tasks call AWS APIs and whatever the DAGs talk to: outbound is open, inbound is not.
        egress("services-out-all", services, { anywhere: true }, "Outbound from Airflow components");

        ingress(
            "database-in-postgres",
            database,
            PORTS.postgres,
            { sg: services },
            "PostgreSQL from Airflow components",
        );
        ingress("broker-in-redis", broker, PORTS.redis, { sg: services }, "Redis from Airflow components");
        ingress("filesystem-in-nfs", fileSystem, PORTS.nfs, { sg: services }, "NFS from Airflow components");
        ingress(
            "endpoints-in-https",
            endpoints,
            PORTS.https,
            { cidr: resolved.cidrBlock },
            "HTTPS from inside the VPC",
        );

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
                        securityGroupIds: [endpoints.id],
                        tags: withName(tags, endpointName),
                    },
                    parent,
                ),
            ] as const;
        });

        if (resolved.flowLogs.enabled) {
            this.createFlowLogs(name, vpc, resolved.flowLogs.retentionDays, tags);
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
            loadBalancer: lb.id,
            services: services.id,
            database: database.id,
            broker: broker.id,
            fileSystem: fileSystem.id,
            endpoints: endpoints.id,
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

    private createFlowLogs(
        name: string,
        vpc: aws.ec2.Vpc,
        retentionDays: number,
        tags: AirflowNetworkArgs["tags"],
    ): void {
        const parent = { parent: this };
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-flow-logs`,
            { retentionInDays: retentionDays, tags: withName(tags, `${name}-flow-logs`) },
            parent,
        );
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const role = new aws.iam.Role(
            `${name}-flow-logs-role`,
            {
                assumeRolePolicy: assumeRolePolicy(["vpc-flow-logs.amazonaws.com"], account),
                tags: withName(tags, `${name}-flow-logs-role`),
            },
            parent,
        );
        new aws.iam.RolePolicy(
            `${name}-flow-logs-policy`,
            {
                role: role.id,
                policy: policyDocument([
                    {
                        Sid: "WriteFlowLogs",
                        Effect: "Allow",
                        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:log-stream:*`],
                    },
                ]),
            },
            parent,
        );
        new aws.ec2.FlowLog(
            `${name}-flow-log`,
            {
                vpcId: vpc.id,
                trafficType: "ALL",
                logDestinationType: "cloud-watch-logs",
                logDestination: logGroup.arn,
                iamRoleArn: role.arn,
                maxAggregationInterval: 60,
                tags: withName(tags, `${name}-flow-log`),
            },
            parent,
        );
    }
}

interface ResolvedArgs {
    cidrBlock: string;
    azCount: 2 | 3;
    natStrategy: NatStrategy;
    interfaceEndpoints: readonly InterfaceEndpoint[];
    flowLogs: { enabled: boolean; retentionDays: number };
    listeners: readonly LoadBalancerListener[];
}

function validateArgs(name: string, args: AirflowNetworkArgs, resource: pulumi.Resource): ResolvedArgs {
    const resolved: ResolvedArgs = {
        cidrBlock: args.cidrBlock ?? "10.40.0.0/16",
        azCount: args.azCount ?? 2,
        natStrategy: args.natStrategy ?? "single",
        interfaceEndpoints: args.interfaceEndpoints ?? [],
        flowLogs: { enabled: args.flowLogs?.enabled ?? false, retentionDays: args.flowLogs?.retentionDays ?? 30 },
        listeners: args.listeners ?? [
            { port: PORTS.http, cidrs: ["0.0.0.0/0"] },
            { port: PORTS.https, cidrs: ["0.0.0.0/0"] },
        ],
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `AirflowNetwork ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    const prefix = Number(resolved.cidrBlock.split("/")[1]);
    if (!isPrivateIpv4Cidr(resolved.cidrBlock) || prefix < 16 || prefix > 21) {
        fail("cidrBlock", "a private IPv4 network with a prefix from /16 to /21", resolved.cidrBlock);
    }
    if (resolved.azCount !== 2 && resolved.azCount !== 3) fail("azCount", "2 or 3", resolved.azCount);
    if (!NAT_STRATEGIES.includes(resolved.natStrategy))
        fail("natStrategy", choiceText(NAT_STRATEGIES), resolved.natStrategy);
    const badEndpoint = resolved.interfaceEndpoints.find((e) => !INTERFACE_ENDPOINTS.includes(e));
    if (badEndpoint !== undefined) {
        fail("interfaceEndpoints", `a list of ${choiceText(INTERFACE_ENDPOINTS)}`, badEndpoint);
    }
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(resolved.flowLogs.retentionDays)) {
        fail("flowLogs.retentionDays", choiceText(LOG_RETENTION_DAYS), resolved.flowLogs.retentionDays);
    }
    for (const listener of resolved.listeners) {
        if (!Number.isInteger(listener.port) || listener.port < 1 || listener.port > 65535) {
            fail("listeners[].port", "a TCP port from 1 to 65535", listener.port);
        }
        if (!listener.cidrs.every((c) => isCidr(c))) {
            fail(
                `listeners[port ${listener.port}].cidrs`,
                "a list of CIDR blocks written with their network address",
                listener.cidrs,
            );
        }
    }
    return resolved;
}
