/* eslint-disable @typescript-eslint/no-explicit-any -- the engine's requests and mock arguments are untyped */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export const MOCK_ACCOUNT = "123456789012";
export const DEFAULT_MOCK_REGION = "us-east-1";

/** What the program asked the engine for one resource, plus what the mock answered. */
export interface CapturedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** The id the mock gave a custom resource (what AWS would assign on create). */
    readonly id?: string;
    readonly custom: boolean;
    /**
     * The inputs as the provider would receive them. A value from a secret output stays in the engine's
     * wire form, `{ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value }`.
     */
    readonly inputs: Record<string, any>;
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
        this.pending.set(key, {
            type: args.type,
            name: args.name,
            ...(id !== undefined ? { id } : {}),
            custom: !!args.custom,
            inputs: args.inputs,
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
            case "aws:index/getPartition:getPartition":
                return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
            default:
                throw new Error(
                    `The program invoked ${args.token}, which the test mocks do not answer. ` +
                        `Add a realistic answer to tools/harness/mocks.ts if the program really needs it.`,
                );
        }
    }

    /** Outputs a provider would compute for a new resource of this type. */
    private computed(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
        const region = this.region;
        const [pkg, mod] = type.split(":");
        const service = (mod ?? "").split("/")[0];
        const out: Record<string, any> = {
            arn: `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${name}`,
        };
        if (pkg === "aws") out.tagsAll = inputs.tags ?? {};
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
