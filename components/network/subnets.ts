// The subnets of each tier and their routes: public (internet gateway) and private (NAT, if any).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NatStrategy } from "../../config/network";
import { subnetPlan } from "../../lib/cidr";
import { withName } from "../../lib/tags";
import { natGatewayCount } from "./args";

type Tags = pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;

/** The internet gateway, one public and one private subnet per zone, and the public route table. */
export function createSubnets(
    name: string,
    vpc: aws.ec2.Vpc,
    plan: ReturnType<typeof subnetPlan>,
    azNames: pulumi.Output<string[]>,
    azCount: number,
    tags: Tags,
    component: pulumi.Resource,
): { igw: aws.ec2.InternetGateway; publicSubnets: aws.ec2.Subnet[]; privateSubnets: aws.ec2.Subnet[] } {
    const parent = { parent: component };
    const azIndexes = [...Array(azCount).keys()];
    const igw = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: vpc.id, tags: withName(tags, `${name}-igw`) },
        parent,
    );
    const subnet = (tier: "public" | "private", i: number, cidrBlock: string) =>
        new aws.ec2.Subnet(
            `${name}-${tier}-${i}`,
            {
                vpcId: vpc.id,
                cidrBlock,
                availabilityZone: azNames[i],
                mapPublicIpOnLaunch: false,
                tags: withName(tags, `${name}-${tier}-${i}`),
            },
            parent,
        );
    const publicSubnets = azIndexes.map((i) => subnet("public", i, plan.public[i]));
    const privateSubnets = azIndexes.map((i) => subnet("private", i, plan.private[i]));

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
        (s, i) =>
            new aws.ec2.RouteTableAssociation(
                `${name}-public-rta-${i}`,
                { subnetId: s.id, routeTableId: publicRouteTable.id },
                parent,
            ),
    );
    return { igw, publicSubnets, privateSubnets };
}

/** The NAT gateways of the strategy (in the first public subnets) and a route table per private subnet. */
export function createPrivateRoutes(
    name: string,
    vpc: aws.ec2.Vpc,
    subnets: { igw: aws.ec2.InternetGateway; publicSubnets: aws.ec2.Subnet[]; privateSubnets: aws.ec2.Subnet[] },
    natStrategy: NatStrategy,
    tags: Tags,
    component: pulumi.Resource,
): { natGateways: aws.ec2.NatGateway[]; privateRouteTables: aws.ec2.RouteTable[] } {
    const parent = { parent: component };
    const { igw, publicSubnets, privateSubnets } = subnets;
    const natCount = natGatewayCount(natStrategy, privateSubnets.length);
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
            { parent: component, dependsOn: [igw] },
        );
    });

    const privateRouteTables = privateSubnets.map((privateSubnet, i) => {
        const table = new aws.ec2.RouteTable(
            `${name}-private-rt-${i}`,
            { vpcId: vpc.id, tags: withName(tags, `${name}-private-rt-${i}`) },
            parent,
        );
        new aws.ec2.RouteTableAssociation(
            `${name}-private-rta-${i}`,
            { subnetId: privateSubnet.id, routeTableId: table.id },
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
    return { natGateways, privateRouteTables };
}
