/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports -- the generated protobuf modules are untyped CommonJS */
// Starts the policy pack the way `pulumi preview --policy-pack policy` does, and plays the engine's
// part of the analyzer protocol (gRPC), so that tests can check the pack as the Pulumi CLI runs it
// without the CLI. What the CLI does, per its pulumi-analyzer-policy script: in the pack's folder,
// resolve @pulumi/pulumi/cmd/run-policy-pack with Node's module resolution, and run it with `node`,
// the engine's address and the pack's folder as arguments; the pack prints the port it serves on.
// The engine then calls Analyze for each resource (resource policies) and AnalyzeStack once (stack
// policies).
import * as grpc from "@grpc/grpc-js";
import { ChildProcess, spawn } from "child_process";
import type { Socket } from "net";
import * as path from "path";
import type { CapturedResourceLike } from "../../policy/offline";
import { ROOT } from "./program";

const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzergrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "disabled", "remediate"] as const;

export interface Diagnostic {
    readonly policy: string;
    readonly message: string;
    readonly urn: string;
    readonly enforcementLevel: (typeof ENFORCEMENT_LEVELS)[number];
}

export interface AnalyzerInfo {
    readonly name: string;
    readonly version: string;
    readonly policies: { name: string; enforcementLevel: string }[];
}

export class PolicyPackProcess {
    private constructor(
        private readonly child: ChildProcess,
        private readonly client: any,
    ) {}

    /**
     * Starts the pack in `dir` (default: policy/) as the Pulumi CLI would, and connects to it.
     * Rejects with the pack's standard error if it exits before serving.
     */
    static start(dir = path.join(ROOT, "policy")): Promise<PolicyPackProcess> {
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [dir] });
        const child = spawn(process.execPath, [runner, "127.0.0.1:0", dir], {
            cwd: dir,
            stdio: ["ignore", "pipe", "pipe"],
        });
        // Never keeps the test run alive: killed when it exits, whether or not a test used the pack.
        child.unref();
        (child.stdout as Socket | null)?.unref();
        (child.stderr as Socket | null)?.unref();
        process.once("exit", () => child.kill());
        return new Promise((resolve, reject) => {
            let stderr = "";
            child.stderr?.on("data", (d) => (stderr += String(d)));
            child.once("exit", (code) =>
                reject(new Error(`the policy pack exited (${code}) before serving:\n${stderr}`)),
            );
            child.stdout?.once("data", (d) => {
                const port = Number(String(d).trim().split("\n")[0]);
                const client = new analyzergrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
                resolve(new PolicyPackProcess(child, client));
            });
        });
    }

    private call<T>(method: string, request: unknown): Promise<T> {
        return new Promise((resolve, reject) =>
            this.client[method](request, (err: Error | null, response: T) => (err ? reject(err) : resolve(response))),
        );
    }

    /** What the pack tells the engine about itself (GetAnalyzerInfo). */
    async info(): Promise<AnalyzerInfo> {
        const info: any = await this.call("getAnalyzerInfo", new Empty());
        return {
            name: info.getName(),
            version: info.getVersion(),
            policies: info.getPoliciesList().map((p: any) => ({
                name: p.getName(),
                enforcementLevel: ENFORCEMENT_LEVELS[p.getEnforcementlevel()],
            })),
        };
    }

    /** Every diagnostic the pack reports for these resources: Analyze for each, then AnalyzeStack. */
    async analyze(resources: readonly CapturedResourceLike[]): Promise<Diagnostic[]> {
        const diagnostics: Diagnostic[] = [];
        // The pack sends "<policy description>\n<message>"; the engine shows it under the resource the
        // diagnostic names, or under the resource being analyzed.
        const collect = (response: any, analyzed?: string) => {
            for (const d of response.getDiagnosticsList()) {
                const raw: string = d.getMessage();
                const description: string = d.getDescription();
                diagnostics.push({
                    policy: d.getPolicyname(),
                    message: raw.startsWith(`${description}\n`) ? raw.slice(description.length + 1) : raw,
                    urn: d.getUrn() || analyzed || "",
                    enforcementLevel: ENFORCEMENT_LEVELS[d.getEnforcementlevel()],
                });
            }
        };
        for (const r of resources) {
            const request = new analyzerpb.AnalyzeRequest()
                .setType(r.type)
                .setUrn(r.urn)
                .setName(r.name)
                .setProperties(properties(r))
                .setOptions(options(r));
            collect(await this.call("analyze", request), r.urn);
        }
        const stack = new analyzerpb.AnalyzeStackRequest().setResourcesList(resources.map(analyzerResource));
        collect(await this.call("analyzeStack", stack));
        return diagnostics;
    }

    stop(): void {
        this.client.close();
        this.child.kill();
    }
}

/** Inputs as a protobuf Struct (plain JSON: the mock runtime's values hold no secrets or unknowns). */
function properties(r: CapturedResourceLike): unknown {
    return Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs)));
}

function options(r: CapturedResourceLike): unknown {
    return new analyzerpb.AnalyzerResourceOptions()
        .setProtect(r.options.protect)
        .setIgnorechangesList([...r.options.ignoreChanges])
        .setParent(r.parentUrn ?? "");
}

function analyzerResource(r: CapturedResourceLike): unknown {
    const resource = new analyzerpb.AnalyzerResource()
        .setType(r.type)
        .setUrn(r.urn)
        .setName(r.name)
        .setProperties(properties(r))
        .setOptions(options(r))
        .setParent(r.parentUrn ?? "")
        .setDependenciesList([...r.options.dependencies]);
    const map = resource.getPropertydependenciesMap();
    for (const [property, urns] of Object.entries(r.options.propertyDependencies ?? {})) {
        map.set(property, new analyzerpb.AnalyzerPropertyDependencies().setUrnsList([...urns]));
    }
    return resource;
}
