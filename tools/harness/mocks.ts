/* eslint-disable @typescript-eslint/no-explicit-any -- the engine's requests and mock arguments are untyped */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export const MOCK_ACCOUNT = "123456789012";
export const DEFAULT_MOCK_REGION = "us-east-1";

/**
 * The AWS accounts that host SageMaker's prebuilt images, by repository and region, as the AWS
 * provider's aws.sagemaker.getPrebuiltEcrImage resolves them (the provider's table, from
 * https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html).
 * Only the repositories the program uses are listed; any other fails the test.
 */
export const PREBUILT_ECR_ACCOUNTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    "sagemaker-xgboost": {
        "af-south-1": "510948584623",
        "ap-east-1": "651117190479",
        "ap-northeast-1": "354813040037",
        "ap-northeast-2": "366743142698",
        "ap-northeast-3": "867004704886",
        "ap-south-1": "720646828776",
        "ap-southeast-1": "121021644041",
        "ap-southeast-2": "783357654285",
        "ca-central-1": "341280168497",
        "cn-north-1": "450853457545",
        "cn-northwest-1": "451049120500",
        "eu-central-1": "492215442770",
        "eu-north-1": "662702820516",
        "eu-south-1": "978288397137",
        "eu-west-1": "141502667606",
        "eu-west-2": "764974769150",
        "eu-west-3": "659782779980",
        "me-south-1": "801668240914",
        "sa-east-1": "737474898029",
        "us-east-1": "683313688378",
        "us-east-2": "257758044811",
        "us-gov-west-1": "414596584902",
        "us-west-1": "746614075791",
        "us-west-2": "246618743249",
    },
};

/** What the program asked the engine for one resource, plus what the mock answered. */
export interface CapturedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** The id the mock gave a custom resource (what AWS would assign on create). */
    readonly id?: string;
    readonly custom: boolean;
    /** The inputs as the provider would receive them, secrets unwrapped. */
    readonly inputs: Record<string, any>;
    /** Paths (e.g. "password", "tags.Name") of the inputs the program marked secret. */
    readonly secretPaths: readonly string[];
    /**
     * The inputs in the engine's wire form: a value from a secret output is
     * `{ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value }` (the plan redacts those).
     */
    readonly rawInputs: Record<string, any>;
    /** The state the mock returned (inputs plus computed outputs such as id and arn). */
    readonly state: Record<string, any>;
    /** URN of the parent resource, if any. */
    readonly parentUrn?: string;
    readonly options: {
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly deleteBeforeReplace: boolean;
        readonly ignoreChanges: readonly string[];
        readonly customTimeouts?: { create?: string; update?: string; delete?: string };
        /** URNs of explicit and implicit dependencies. */
        readonly dependencies: readonly string[];
        /** URNs each input property depends on (e.g. a rule's `securityGroupId` on its group), by property. */
        readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    };
}

/**
 * Deterministic stand-ins for what AWS (and the other providers) would compute. Every output a
 * component reads must be here or in the resource's inputs; an invoke that is not listed fails the
 * test, so a new data source cannot slip in unmocked.
 */
export class AirflowMocks implements pulumi.runtime.Mocks {
    private pending = new Map<string, Omit<CapturedResource, "urn" | "parentUrn" | "options">>();
    private captured: CapturedResource[] = [];
    region = DEFAULT_MOCK_REGION;
    /** The invokes the program made, by token. */
    invokes: { token: string; inputs: any }[] = [];

    reset(region: string): void {
        this.pending.clear();
        this.captured = [];
        this.invokes = [];
        this.region = region;
    }

    get resources(): readonly CapturedResource[] {
        return this.captured;
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const id = args.custom ? `${args.name}-id` : undefined;
        // Custom resources and remote (multi-language) components such as awsx's get computed outputs;
        // this program's own components compute theirs in TypeScript.
        const remote = args.type.startsWith("awsx:");
        const state =
            args.custom || remote ? { ...args.inputs, ...this.computed(args.type, args.name, args.inputs) } : {};
        const key = `${args.type}::${args.name}`;
        if (this.pending.has(key) || this.captured.some((r) => r.type === args.type && r.name === args.name)) {
            throw new Error(`two resources of type ${args.type} are named ${args.name}`);
        }
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths);
        this.pending.set(key, {
            type: args.type,
            name: args.name,
            ...(id !== undefined ? { id } : {}),
            custom: !!args.custom,
            inputs,
            secretPaths,
            rawInputs: args.inputs,
            state,
        });
        return { id, state };
    }

    /** Called by the monitor wrapper once the engine has answered, with the request's options. */
    completeRegistration(type: string, name: string, urn: string, req: any): void {
        const key = `${type}::${name}`;
        const entry = this.pending.get(key);
        if (!entry) return;
        this.pending.delete(key);
        const timeouts = req.getCustomtimeouts?.();
        this.captured.push({
            ...entry,
            urn,
            parentUrn: req.getParent() || undefined,
            options: {
                protect: !!req.getProtect(),
                retainOnDelete: !!req.getRetainondelete?.(),
                deleteBeforeReplace: !!req.getDeletebeforereplace(),
                ignoreChanges: req.getIgnorechangesList(),
                customTimeouts: timeouts
                    ? {
                          create: timeouts.getCreate() || undefined,
                          update: timeouts.getUpdate() || undefined,
                          delete: timeouts.getDelete() || undefined,
                      }
                    : undefined,
                dependencies: req.getDependenciesList(),
                propertyDependencies: propertyDependencies(req),
            },
        });
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.invokes.push({ token: args.token, inputs: args.inputs });
        const region = this.region;
        switch (args.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return {
                    id: region,
                    names: ["a", "b", "c"].map((z) => `${region}${z}`),
                    zoneIds: [1, 2, 3].map((n) => `use1-az${n}`),
                    state: "available",
                };
            case "aws:index/getRegion:getRegion":
                return {
                    id: region,
                    region,
                    name: region,
                    description: region,
                    endpoint: `ec2.${region}.amazonaws.com`,
                };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    id: MOCK_ACCOUNT,
                    accountId: MOCK_ACCOUNT,
                    arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/ci`,
                    userId: "AIDAMOCK",
                };
            case "aws:route53/getZone:getZone": {
                // A public hosted zone of the asked name, as Route 53 would list it.
                const zoneName = String(args.inputs.name ?? "").replace(/\.$/, "");
                if (!zoneName) throw new Error("aws.route53.getZone was called without a zone name");
                const zoneId = `Z${createHash("sha256").update(zoneName).digest("hex").slice(0, 20).toUpperCase()}`;
                return {
                    id: zoneId,
                    zoneId,
                    name: `${zoneName}.`,
                    privateZone: false,
                    arn: `arn:aws:route53:::hostedzone/${zoneId}`,
                };
            }
            case "aws:index/getPartition:getPartition":
                return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
            case "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage": {
                const repositoryName = String(args.inputs.repositoryName);
                const imageRegion = String(args.inputs.region ?? region);
                const registryId = PREBUILT_ECR_ACCOUNTS[repositoryName]?.[imageRegion];
                if (!registryId) {
                    throw new Error(
                        `The mocks know no prebuilt SageMaker image ${repositoryName} in ${imageRegion}: ` +
                            `add its registry account to PREBUILT_ECR_ACCOUNTS in tests/harness/mocks.ts.`,
                    );
                }
                // As the provider does: the tag defaults to "1", the DNS suffix to the region's.
                const imageTag = String(args.inputs.imageTag ?? "1");
                const dnsSuffix = String(
                    args.inputs.dnsSuffix ?? (imageRegion.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"),
                );
                return {
                    id: registryId,
                    registryId,
                    registryPath: `${registryId}.dkr.ecr.${imageRegion}.${dnsSuffix}/${repositoryName}:${imageTag}`,
                    repositoryName,
                    imageTag,
                    region: imageRegion,
                    dnsSuffix,
                };
            }
            default:
                throw new Error(
                    `The program invoked ${args.token}, which the test mocks do not answer. ` +
                        `Add a realistic answer to tools/harness/mocks.ts if the program really needs it.`,
                );
        }
    }

    /**
     * Outputs a provider would compute for a new resource of this type (also what the stand-in
     * provider plugins in tools/cli/providers answer the real engine with).
     */
    computed(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
        const region = this.region;
        const [pkg, mod] = type.split(":");
        const service = (mod ?? "").split("/")[0];
        const out: Record<string, any> = {
            arn: `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${name}`,
        };
        if (pkg === "aws") {
            out.tagsAll = inputs.tags ?? {};
            // Pulumi auto-names resources "<logical name>-<7 random characters>".
            out.name = inputs.name ?? `${name}-${suffix(name)}`;
        }
        switch (type) {
            case "aws:ec2/vpc:Vpc":
                out.defaultSecurityGroupId = `${name}-default-sg-id`;
                out.mainRouteTableId = `${name}-main-rt-id`;
                break;
            case "aws:iam/role:Role":
                out.arn = `arn:aws:iam::${MOCK_ACCOUNT}:role/${inputs.name ?? name}`;
                out.name = inputs.name ?? name;
                break;
            case "aws:cloudwatch/logGroup:LogGroup":
                out.name = inputs.name ?? name;
                out.arn = `arn:aws:logs:${region}:${MOCK_ACCOUNT}:log-group:${out.name}`;
                break;
            case "aws:s3/bucket:Bucket":
                out.bucket = inputs.bucket ?? `${name}-${suffix(name)}`;
                out.arn = `arn:aws:s3:::${out.bucket}`;
                out.bucketRegionalDomainName = `${out.bucket}.s3.${region}.amazonaws.com`;
                break;
            case "aws:s3/bucketObjectv2:BucketObjectv2":
                out.versionId = `v-${suffix(JSON.stringify(inputs))}`;
                out.etag = suffix(JSON.stringify(inputs));
                break;
            case "aws:rds/instance:Instance":
                out.identifier = inputs.identifier ?? `${name}-${suffix(name)}`;
                out.address = `${name}.c${suffix(name)}.${region}.rds.amazonaws.com`;
                out.port = inputs.port ?? 5432;
                out.endpoint = `${out.address}:${out.port}`;
                out.arn = `arn:aws:rds:${region}:${MOCK_ACCOUNT}:db:${name}`;
                break;
            case "aws:elasticache/replicationGroup:ReplicationGroup":
                // Pulumi auto-names the group's id, as it does a name, when the program gives none.
                out.replicationGroupId = inputs.replicationGroupId ?? `${name}-${suffix(name)}`;
                out.primaryEndpointAddress = `master.${name}.${suffix(name)}.use1.cache.amazonaws.com`;
                out.readerEndpointAddress = `replica.${name}.${suffix(name)}.use1.cache.amazonaws.com`;
                break;
            case "aws:sqs/queue:Queue":
                out.name = inputs.name ?? `${name}-${suffix(name)}`;
                out.url = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${out.name}`;
                out.arn = `arn:aws:sqs:${region}:${MOCK_ACCOUNT}:${out.name}`;
                break;
            case "aws:secretsmanager/secret:Secret":
                out.arn = `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT}:secret:${out.name}-${suffix(name).slice(0, 6)}`;
                break;
            case "aws:efs/fileSystem:FileSystem":
                out.arn = `arn:aws:elasticfilesystem:${region}:${MOCK_ACCOUNT}:file-system/fs-${suffix(name)}`;
                out.dnsName = `fs-${suffix(name)}.efs.${region}.amazonaws.com`;
                break;
            case "aws:efs/accessPoint:AccessPoint":
                out.arn = `arn:aws:elasticfilesystem:${region}:${MOCK_ACCOUNT}:access-point/fsap-${suffix(name)}`;
                break;
            case "aws:mwaa/environment:Environment": {
                // MWAA names the environment as asked; the web server gets a generated host name.
                const id = createHash("sha256").update(name).digest("hex");
                const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`;
                out.name = inputs.name ?? name;
                out.arn = `arn:aws:airflow:${region}:${MOCK_ACCOUNT}:environment/${out.name}`;
                out.webserverUrl = `${uuid}.c2.${region}.airflow.amazonaws.com`;
                out.webserverVpcEndpointService = `com.amazonaws.vpce.${region}.vpce-svc-${id.slice(0, 17)}`;
                out.databaseVpcEndpointService = `com.amazonaws.vpce.${region}.vpce-svc-${id.slice(17, 34)}`;
                out.serviceRoleArn = `arn:aws:iam::${MOCK_ACCOUNT}:role/aws-service-role/airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA`;
                out.status = "AVAILABLE";
                out.createdAt = "2025-01-01T00:00:00Z";
                break;
            }
            case "aws:ecr/repository:Repository":
                out.repositoryUrl = `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${out.name}`;
                break;
            case "aws:lb/loadBalancer:LoadBalancer":
                // ELB names its load balancer's DNS record [internal-]<name>-<id>.<region>.elb.amazonaws.com.
                out.dnsName = `${inputs.internal ? "internal-" : ""}${out.name}-${parseInt(suffix(name), 16)}.${region}.elb.amazonaws.com`;
                out.arnSuffix = `app/${out.name}/${suffix(name)}`;
                // The ALB hosted zone of us-east-1 (Elastic Load Balancing endpoints, AWS General Reference).
                out.zoneId = "Z35SXDOTRQ7X7K";
                break;
            case "aws:ecs/cluster:Cluster":
                // ECS names a cluster arn:aws:ecs:<region>:<account>:cluster/<name> (its services: service/<cluster>/<name>).
                out.arn = `arn:aws:ecs:${region}:${MOCK_ACCOUNT}:cluster/${out.name}`;
                break;
            case "aws:lb/targetGroup:TargetGroup":
                // A target group's ARN ends in targetgroup/<name>/<id>; CloudWatch's TargetGroup dimension is that suffix.
                out.name = inputs.name ?? `${inputs.namePrefix ?? name}${suffix(name)}`;
                out.arn = `arn:aws:elasticloadbalancing:${region}:${MOCK_ACCOUNT}:targetgroup/${out.name}/${suffix(name)}`;
                out.arnSuffix = `targetgroup/${out.name}/${suffix(name)}`;
                break;
            case "aws:route53/record:Record":
                out.fqdn = String(inputs.name).replace(/\.$/, "");
                break;
            case "aws:acm/certificate:Certificate":
                out.arn = `arn:aws:acm:${region}:${MOCK_ACCOUNT}:certificate/${suffix(name)}`;
                out.domainValidationOptions = [
                    {
                        domainName: inputs.domainName,
                        resourceRecordName: `_${suffix(name)}.${inputs.domainName}.`,
                        resourceRecordType: "CNAME",
                        resourceRecordValue: `_${suffix(inputs.domainName)}.acm-validations.aws.`,
                    },
                ];
                break;
            case "aws:acm/certificateValidation:CertificateValidation":
                out.id = inputs.certificateArn;
                break;
            case "aws:ec2/eip:Eip":
                out.publicIp = "203.0.113.10";
                out.allocationId = `${name}-alloc`;
                break;
            default:
                break;
        }
        if (pkg === "random") Object.assign(out, randomOutputs(type, name, inputs));
        if (pkg === "awsx") Object.assign(out, this.awsxOutputs(type, name, inputs));
        return out;
    }

    /**
     * awsx components are remote components: under the mocks only the component itself is
     * registered, none of its children, so the outputs a real deployment would give come from here.
     */
    private awsxOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
        const region = this.region;
        switch (type) {
            case "awsx:ecr:Image": {
                const repo = String(inputs.repositoryUrl ?? `${MOCK_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}`);
                const digest = createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
                return { imageUri: `${repo}@sha256:${digest}` };
            }
            case "awsx:ec2:Vpc": {
                const azs = inputs.numberOfAvailabilityZones ?? 2;
                const ids = (kind: string) => [...Array(azs).keys()].map((i) => `${name}-${kind}-${i + 1}`);
                return {
                    vpcId: `${name}-vpc-id`,
                    publicSubnetIds: ids("public"),
                    privateSubnetIds: ids("private"),
                    isolatedSubnetIds: [],
                    natGateways: [],
                    internetGateway: { id: `${name}-igw-id` },
                };
            }
            default:
                throw new Error(`The program created ${type}, whose outputs the test mocks do not model.`);
        }
    }
}

/** The register request's per-property dependencies as plain URN lists. */
function propertyDependencies(req: any): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const map = req.getPropertydependenciesMap?.();
    map?.forEach((deps: any, property: string) => {
        const urns: string[] = deps.getUrnsList();
        if (urns.length > 0) out[property] = [...urns];
    });
    return out;
}

/** A stable stand-in for the random suffix AWS or Pulumi would add. */
function suffix(seed: string): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, 7);
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces the runtime's secret wrappers by their values, recording where they were. */
export function unwrapSecrets(value: any, path: string, secretPaths: string[]): any {
    if (value && typeof value === "object" && value[SECRET_SIG_KEY] === SECRET_SIG) {
        secretPaths.push(path);
        return unwrapSecrets(value.value, path, []);
    }
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
    if (value && typeof value === "object" && value.constructor === Object) {
        return Object.fromEntries(
            Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths)]),
        );
    }
    return value;
}

/** Deterministic values for @pulumi/random resources, shaped like the real ones. */
function randomOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    const bytes = (n: number) => {
        const chunks: Buffer[] = [];
        for (let i = 0; chunks.length * 32 < n; i++) chunks.push(createHash("sha256").update(`${name}:${i}`).digest());
        return Buffer.concat(chunks).subarray(0, n);
    };
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString": {
            const length = inputs.length ?? 16;
            const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
            const result = [...bytes(length)].map((b) => alphabet[b % alphabet.length]).join("");
            return { result, bcryptHash: `$2a$10$${result}` };
        }
        case "random:index/randomBytes:RandomBytes": {
            const b = bytes(inputs.length ?? 32);
            return { base64: b.toString("base64"), hex: b.toString("hex") };
        }
        case "random:index/randomId:RandomId": {
            const b = bytes(inputs.byteLength ?? 8);
            return {
                hex: b.toString("hex"),
                b64Url: b.toString("base64url"),
                b64Std: b.toString("base64"),
                dec: BigInt(`0x${b.toString("hex")}`).toString(),
            };
        }
        default:
            return {};
    }
}
