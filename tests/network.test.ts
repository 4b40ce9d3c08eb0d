import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AirflowNetwork } from "../components/network";
import { ProgramRun, runProgram, runStack, STACKS, useStack } from "./harness/program";

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    nat: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    route: "aws:ec2/route:Route",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    flowLog: "aws:ec2/flowLog:FlowLog",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    defaultSg: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
};

/** What each stack file promises about its network. */
const expected = {
    dev: { azs: 2, nats: 1, endpoints: [] as string[], flowLogs: false },
    staging: { azs: 2, nats: 2, endpoints: [] as string[], flowLogs: true },
    prod: {
        azs: 2,
        nats: 2,
        endpoints: ["ecr.api", "ecr.dkr", "logs", "monitoring", "sqs", "kms", "secretsmanager", "sts"],
        flowLogs: true,
    },
};

/** The security group a rule belongs to, by the mock id "<name>-id". */
function groupName(run: ProgramRun, id: string): string {
    const group = run.ofType(T.sg).find((g) => g.state.id === id || `${g.name}-id` === id);
    if (!group) throw new Error(`no security group with id ${id}`);
    return group.name.replace(/^airflow-[a-z]+-/, "").replace(/-sg$/, "");
}

/** Resources of a layout's own component, e.g. the MWAA environment's security group (tested with it). */
/** A resource of another component of this program (MWAA's or the Fargate jobs' security group). */
function ownedByLayout(run: ProgramRun, r: { parentUrn?: string }): boolean {
    const parentType = run.byUrn(r.parentUrn ?? "")?.type ?? "";
    return parentType.startsWith("airflow:") && parentType !== "airflow:network:AirflowNetwork";
}

/** Every ingress rule of the network's tiers as "tier <- source:port". */
function ingressTable(run: ProgramRun): string[] {
    return run
        .ofType(T.ingress)
        .filter((r) => !ownedByLayout(run, r))
        .map((r) => {
            const source = r.inputs.referencedSecurityGroupId
                ? groupName(run, r.inputs.referencedSecurityGroupId)
                : (r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6);
            return `${groupName(run, r.inputs.securityGroupId)} <- ${source}:${r.inputs.fromPort}`;
        })
        .sort();
}

for (const stack of STACKS) {
    describe(`network of the ${stack} stack`, () => {
        let run: ProgramRun;
        const want = expected[stack];
        const name = `airflow-${stack}`;
        before(async () => {
            run = await runStack(stack);
        });

        it("is one AirflowNetwork component that parents every network resource", () => {
            const component = run.get("airflow:network:AirflowNetwork", name);
            const children = run.childrenOf(component);
            expect(children.length).to.be.greaterThan(20);
            // Every VPC-level resource belongs to the network, except the groups other components own.
            const networkTypes = /^aws:(ec2|vpc)\//;
            for (const r of run.resources.filter((r) => networkTypes.test(r.type) && !ownedByLayout(run, r))) {
                expect(r.parentUrn, `${r.type} ${r.name}`).to.equal(component.urn);
                expect(r.name.startsWith(`${name}-`), r.name).to.equal(true);
            }
        });

        it(`spans ${want.azs} availability zones with a public and a private subnet in each`, () => {
            const vpc = run.get(T.vpc, `${name}-vpc`);
            expect(vpc.inputs).to.include({
                cidrBlock: "10.40.0.0/16",
                enableDnsHostnames: true,
                enableDnsSupport: true,
            });
            const subnets = run.ofType(T.subnet);
            expect(subnets).to.have.length(want.azs * 2);
            for (let i = 0; i < want.azs; i++) {
                const pub = run.get(T.subnet, `${name}-public-${i}`);
                const priv = run.get(T.subnet, `${name}-private-${i}`);
                expect(pub.inputs.availabilityZone).to.equal(`us-east-1${"abc"[i]}`);
                expect(priv.inputs.availabilityZone).to.equal(`us-east-1${"abc"[i]}`);
                expect(pub.inputs.mapPublicIpOnLaunch).to.equal(false);
                expect(priv.inputs.mapPublicIpOnLaunch).to.equal(false);
            }
            expect(run.outputs.privateSubnetIds).to.have.length(want.azs);
            expect(run.outputs.publicSubnetIds).to.have.length(want.azs);
        });

        it(`has ${want.nats} NAT gateway(s), each private subnet routing through one in its own AZ when there are several`, () => {
            expect(run.ofType(T.nat)).to.have.length(want.nats);
            expect(run.ofType(T.eip)).to.have.length(want.nats);
            for (let i = 0; i < want.azs; i++) {
                const route = run.get(T.route, `${name}-private-default-route-${i}`);
                expect(route.inputs.routeTableId).to.equal(`${name}-private-rt-${i}-id`);
                expect(route.inputs.natGatewayId).to.equal(`${name}-nat-${want.nats === 1 ? 0 : i}-id`);
                expect(route.inputs.destinationCidrBlock).to.equal("0.0.0.0/0");
            }
            for (const nat of run.ofType(T.nat)) {
                expect(nat.inputs.subnetId).to.match(new RegExp(`^${name}-public-\\d-id$`));
            }
        });

        it("always has an S3 gateway endpoint on the private route tables", () => {
            const s3 = run.get(T.endpoint, `${name}-s3-endpoint`);
            expect(s3.inputs.vpcEndpointType).to.equal("Gateway");
            expect(s3.inputs.serviceName).to.equal("com.amazonaws.us-east-1.s3");
            expect(s3.inputs.routeTableIds).to.deep.equal(
                [...Array(want.azs).keys()].map((i) => `${name}-private-rt-${i}-id`),
            );
        });

        it(`has exactly the interface endpoints the stack file lists (${want.endpoints.length})`, () => {
            const interfaces = run.ofType(T.endpoint).filter((e) => e.inputs.vpcEndpointType === "Interface");
            expect(interfaces.map((e) => e.inputs.serviceName).sort()).to.deep.equal(
                want.endpoints.map((s) => `com.amazonaws.us-east-1.${s}`).sort(),
            );
            for (const e of interfaces) {
                expect(e.inputs.privateDnsEnabled).to.equal(true);
                expect(e.inputs.securityGroupIds).to.deep.equal([`${name}-endpoints-sg-id`]);
                expect(e.inputs.subnetIds).to.deep.equal(
                    [...Array(want.azs).keys()].map((i) => `${name}-private-${i}-id`),
                );
            }
        });

        it("opens each tier only to the tier that calls it, and only the load balancer listeners to the allow-list", () => {
            // MWAA (prod) has no load balancer; on Celery without HTTPS (no domain or certificate),
            // the load balancer is internal and every listener takes the VPC only, never 0.0.0.0/0.
            const listeners =
                stack === "prod" ? [] : ["lb <- 10.40.0.0/16:80", "lb <- 10.40.0.0/16:443", "lb <- 10.40.0.0/16:5555"];
            expect(ingressTable(run)).to.deep.equal(
                [
                    ...listeners,
                    "services <- lb:8080",
                    "services <- lb:5555",
                    "services <- services:8080",
                    "services <- services:8793",
                    "services <- services:8794",
                    "database <- services:5432",
                    "broker <- services:6379",
                    "filesystem <- services:2049",
                    "endpoints <- 10.40.0.0/16:443",
                ].sort(),
            );
        });

        it("never opens anything but the load balancer's ports 80 and 443 to 0.0.0.0/0 or ::/0", () => {
            const open = run
                .ofType(T.ingress)
                .filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0");
            for (const r of open) {
                expect(groupName(run, r.inputs.securityGroupId), r.name).to.equal("lb");
                expect([80, 443]).to.include(r.inputs.fromPort);
                expect(r.inputs.toPort).to.equal(r.inputs.fromPort);
            }
            // Security groups carry no inline rules that would escape this check.
            for (const g of run.ofType(T.sg)) {
                expect(g.inputs.ingress ?? [], g.name).to.deep.equal([]);
            }
        });

        it("lets the load balancer send only to the Airflow UI and Flower ports of the services", () => {
            const out = run.ofType(T.egress).filter((r) => groupName(run, r.inputs.securityGroupId) === "lb");
            expect(
                out.map((r) => `${groupName(run, r.inputs.referencedSecurityGroupId)}:${r.inputs.fromPort}`).sort(),
            ).to.deep.equal(["services:5555", "services:8080"]);
        });

        it("strips every rule from the VPC's default security group", () => {
            const d = run.get(T.defaultSg, `${name}-default-sg`);
            expect(d.inputs.ingress ?? []).to.deep.equal([]);
            expect(d.inputs.egress ?? []).to.deep.equal([]);
        });

        it(
            want.flowLogs ? "sends all VPC traffic to flow logs with the configured retention" : "has no flow logs",
            () => {
                const logs = run.ofType(T.flowLog);
                if (!want.flowLogs) {
                    expect(logs).to.have.length(0);
                    return;
                }
                expect(logs).to.have.length(1);
                expect(logs[0].inputs).to.include({
                    trafficType: "ALL",
                    logDestinationType: "cloud-watch-logs",
                    vpcId: `${name}-vpc-id`,
                });
                const group = run.get(T.logGroup, `${name}-flow-logs`);
                expect(group.inputs.retentionInDays).to.equal(run.config["airflow:flowLogsRetentionDays"]);
                const trust = JSON.parse(run.get(T.role, `${name}-flow-logs-role`).inputs.assumeRolePolicy);
                expect(trust.Statement).to.deep.equal([
                    {
                        Effect: "Allow",
                        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: {
                            StringEquals: { "aws:SourceAccount": "123456789012" },
                            ArnLike: { "aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*" },
                        },
                    },
                ]);
                const policy = JSON.parse(run.get(T.rolePolicy, `${name}-flow-logs-policy`).inputs.policy);
                expect(policy.Statement).to.have.length(1);
                expect(policy.Statement[0].Action).to.deep.equal([
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ]);
                expect(policy.Statement[0].Resource).to.deep.equal([
                    group.state.arn,
                    `${group.state.arn}:log-stream:*`,
                ]);
            },
        );
    });
}

describe("network configuration variants", () => {
    it("creates no NAT gateway and no default route with natStrategy none, every metrics sidecar on the ECR copy it names", async () => {
        const run = await runProgram("dev", {
            "airflow:natStrategy": "none",
            "airflow:interfaceEndpoints": [
                "ecr.api",
                "ecr.dkr",
                "logs",
                "secretsmanager",
                "monitoring",
                "ecs",
                "sagemaker.api",
            ],
            "airflow:jobImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs:1",
            "airflow:metricsAgentImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/aws-otel-collector:v0.40.0",
        });
        expect(run.ofType(T.nat)).to.have.length(0);
        expect(run.ofType(T.route).map((r) => r.name)).to.deep.equal(["airflow-dev-public-default-route"]);
        const agentImages = run
            .ofType("aws:ecs/taskDefinition:TaskDefinition")
            .flatMap((t) => JSON.parse(t.inputs.containerDefinitions) as { name: string; image: string }[])
            .filter((c) => c.name === "metrics-agent")
            .map((c) => c.image);
        expect(agentImages.length, "metrics sidecars").to.be.greaterThan(0);
        expect([...new Set(agentImages)]).to.deep.equal([
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/aws-otel-collector:v0.40.0",
        ]);
    });

    it("spans three zones and opens the listeners (Flower's too) to each allow-listed block only", async () => {
        const run = await runProgram("dev", {
            "airflow:azCount": 3,
            "airflow:natStrategy": "perAz",
            "airflow:webAllowedCidrs": ["203.0.113.0/24", "2001:db8::/32"],
            "airflow:domainName": "airflow.example.com",
            "airflow:hostedZoneId": "Z0123456789ABCDEFGHIJ",
        });
        expect(run.ofType(T.subnet)).to.have.length(6);
        expect(run.ofType(T.nat)).to.have.length(3);
        expect(ingressTable(run).filter((r) => r.startsWith("lb"))).to.deep.equal([
            "lb <- 10.40.0.0/16:5555",
            "lb <- 2001:db8::/32:443",
            "lb <- 2001:db8::/32:5555",
            "lb <- 2001:db8::/32:80",
            "lb <- 203.0.113.0/24:443",
            "lb <- 203.0.113.0/24:5555",
            "lb <- 203.0.113.0/24:80",
        ]);
        const v6 = run.ofType(T.ingress).filter((r) => r.inputs.cidrIpv6 === "2001:db8::/32");
        expect(v6).to.have.length(3);
    });
});

describe("AirflowNetwork arguments", () => {
    before(() => useStack("dev"));
    const cases: [string, ConstructorParameters<typeof AirflowNetwork>[1], string][] = [
        ["azCount", { azCount: 4 as 2 }, "AirflowNetwork bad: azCount must be 2 or 3, got 4"],
        [
            "natStrategy",
            { natStrategy: "shared" as "single" },
            'AirflowNetwork bad: natStrategy must be one of "single", "perAz", "none", got "shared"',
        ],
        [
            "cidrBlock",
            { cidrBlock: "10.0.0.0/8" },
            'AirflowNetwork bad: cidrBlock must be a private IPv4 network with a prefix from /16 to /21, got "10.0.0.0/8"',
        ],
        [
            "flowLogs.retentionDays",
            { flowLogs: { enabled: true, retentionDays: 2 } },
            "AirflowNetwork bad: flowLogs.retentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 2",
        ],
    ];
    for (const [field, args, message] of cases) {
        it(`throws a ResourceError naming ${field} and its allowed values`, () => {
            expect(() => new AirflowNetwork("bad", args)).to.throw(pulumi.ResourceError, message);
        });
    }
});
