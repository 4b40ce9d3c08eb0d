/* eslint-disable @typescript-eslint/no-explicit-any -- the engine's requests and mock arguments are untyped */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../config";
import { AirflowMocks, CapturedResource, DEFAULT_MOCK_REGION } from "./mocks";

export const ROOT = path.resolve(__dirname, "..", "..");
export const PROJECT = "airflow";
export const STACKS = ["dev", "staging", "prod"] as const;
export type StackName = (typeof STACKS)[number];

let mocks: AirflowMocks | undefined;

/** Installs the mocks. Called once, by the root hook, before any test runs. */
export function installMocks(): AirflowMocks {
    if (!mocks) {
        mocks = new AirflowMocks();
        activate(mocks, "test");
    }
    return mocks;
}

/** Points the runtime at the mocks for a stack name, and records each resource's options. */
function activate(m: AirflowMocks, stack: string): void {
    void pulumi.runtime.setMocks(m, PROJECT, stack, false);
    const monitor: any = pulumi.runtime.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) =>
        register(req, (err: any, resp: any) => {
            if (!err && resp) m.completeRegistration(req.getType(), req.getName(), resp.getUrn(), req);
            callback(err, resp);
        });
}

/** Resolves an output's value (unknowns included) for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** The `config:` block of Pulumi.yaml: each declared key's default, by full key name. */
export function projectDefaults(): Record<string, unknown> {
    const project = parse(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const defaults: Record<string, unknown> = {};
    for (const [name, decl] of Object.entries<any>(project.config ?? {})) {
        const fullName = name.includes(":") ? name : `${PROJECT}:${name}`;
        if (decl && typeof decl === "object" && "default" in decl) defaults[fullName] = decl.default;
        else if (decl && typeof decl === "object" && "value" in decl) defaults[fullName] = decl.value;
        else if (decl === null || typeof decl !== "object") defaults[fullName] = decl;
    }
    return defaults;
}

/** The `config:` block of a committed stack file. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    return file?.config ?? {};
}

/**
 * Sets the runtime's configuration as the Pulumi CLI would for a stack: Pulumi.yaml's defaults,
 * then the stack file, then `overrides` (full key names; `undefined` removes a key).
 * Values reach the program as strings, structured ones JSON-encoded, exactly as the engine passes them.
 */
export function setStackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const merged: Record<string, unknown> = { ...projectDefaults(), ...stackFileConfig(stack), ...overrides };
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(merged)) {
        if (v === undefined) continue;
        strings[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(strings);
    return typedConfig(merged);
}

/**
 * The values as the program reads them: the CLI passes every value as a string and quotes top-level
 * scalars when it rewrites a stack file (`airflow:azCount: "2"`), so a non-string key's value is
 * JSON-parsed from its string, as config/ does. Tests compare resources against these, never against
 * the stack file's YAML scalars.
 */
export function typedConfig(values: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) {
        const [ns, name] = k.split(":");
        const spec = ns === PROJECT ? (CONFIG_KEYS as Record<string, { type: string }>)[name] : undefined;
        if (typeof v === "string" && spec && spec.type !== "string") {
            try {
                out[k] = JSON.parse(v);
                continue;
            } catch {
                // not JSON: left as given, for the loader to reject
            }
        }
        out[k] = v;
    }
    return out;
}

/** Switches the runtime to a stack name and configuration without running the program. */
export function useStack(stack: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const m = installMocks();
    const config = setStackConfig(stack, overrides);
    m.reset(typeof config["aws:region"] === "string" ? (config["aws:region"] as string) : DEFAULT_MOCK_REGION);
    activate(m, stack);
    return config;
}

/** Everything one run of the program registered, with lookups by type and name. */
export class ProgramRun {
    constructor(
        readonly stack: string,
        readonly config: Readonly<Record<string, unknown>>,
        readonly resources: readonly CapturedResource[],
        readonly outputs: Readonly<Record<string, unknown>>,
        /** Names of the stack outputs the program marked secret. */
        readonly secretOutputs: readonly string[] = [],
    ) {}

    /** All resources of a type, e.g. "aws:ec2/subnet:Subnet". */
    ofType(type: string): CapturedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource with this type and name; fails listing what exists when there is none. */
    get(type: string, name: string): CapturedResource {
        const found = this.resources.find((r) => r.type === type && r.name === name);
        if (!found) {
            const names = this.ofType(type).map((r) => r.name);
            throw new Error(`no ${type} named ${name}; the ${type} resources are: ${names.join(", ") || "none"}`);
        }
        return found;
    }

    has(type: string, name: string): boolean {
        return this.resources.some((r) => r.type === type && r.name === name);
    }

    /** The resource whose URN this is. */
    byUrn(urn: string): CapturedResource | undefined {
        return this.resources.find((r) => r.urn === urn);
    }

    /** Direct children of a resource. */
    childrenOf(parent: CapturedResource): CapturedResource[] {
        return this.resources.filter((r) => r.parentUrn === parent.urn);
    }
}

/** Folders whose modules are not part of the program: the harness and its users keep their state across runs. */
const NOT_PROGRAM = ["node_modules", "tests", "tools", "policy", "scripts"].map(
    (dir) => path.join(ROOT, dir) + path.sep,
);

/** Files of the program (index.ts, components/, config/, lib/) that a run loads; cleared so that each run starts fresh. */
function clearProjectModules(): void {
    for (const file of Object.keys(require.cache)) {
        if (
            file.startsWith(ROOT) &&
            !NOT_PROGRAM.some((dir) => file.startsWith(dir)) &&
            !file.includes(`${path.sep}node_modules${path.sep}`)
        ) {
            delete require.cache[file];
        }
    }
}

/**
 * Runs the whole program (index.ts) for a committed stack file, with optional config overrides,
 * waits for every registration, and returns the resources and the resolved stack outputs.
 */
export async function runProgram(stack: string, overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    return runWith(stack, overrides, () => {
        clearProjectModules();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require(path.join(ROOT, "index"));
    });
}

/**
 * Runs `build` (which creates resources, e.g. one component) with a stack's configuration and
 * returns what it registered; `build`'s return value plays the part of the stack outputs.
 */
export async function runWith(
    stack: string,
    overrides: Record<string, unknown>,
    build: () => Record<string, unknown>,
): Promise<ProgramRun> {
    const m = installMocks();
    const config = useStack(stack, overrides);
    // The Pulumi SDK records a stack trace for every promise it creates, and ts-node source-maps each
    // one: that is three quarters of a run's time. The program's own errors keep their messages.
    // HARNESS_STACK_TRACES=1 keeps full traces while debugging.
    const limit = Error.stackTraceLimit;
    if (!process.env.HARNESS_STACK_TRACES) Error.stackTraceLimit = 0;
    try {
        const program = build();
        const outputs: Record<string, unknown> = {};
        const secretOutputs: string[] = [];
        for (const [name, value] of Object.entries(program)) {
            outputs[name] = await resolveDeep(value);
            if (pulumi.Output.isInstance(value) && (await (value as any).isSecret)) secretOutputs.push(name);
        }
        await (pulumi.runtime as any).waitForRPCs();
        return new ProgramRun(stack, config, [...m.resources], outputs, secretOutputs);
    } finally {
        Error.stackTraceLimit = limit;
    }
}

/**
 * Runs `create` (which creates resources, e.g. a small stack for a policy test) under the mocks for a
 * stack name and its committed configuration, waits for every registration, and returns what it registered.
 */
export async function runResources(
    stack: string,
    create: () => void,
    overrides: Record<string, unknown> = {},
): Promise<ProgramRun> {
    return runWith(stack, overrides, () => {
        create();
        return {};
    });
}

const cachedRuns = new Map<string, Promise<ProgramRun>>();

/**
 * The run of a committed stack file as it is, shared by every test that only reads it
 * (tests that need overrides call {@link runProgram}).
 */
export function runStack(stack: StackName): Promise<ProgramRun> {
    let run = cachedRuns.get(stack);
    if (!run) {
        run = runProgram(stack);
        cachedRuns.set(stack, run);
    }
    return run;
}

/** Resolves outputs nested in plain objects and arrays (e.g. an exported map of ids). */
async function resolveDeep(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) return resolveDeep(await promiseOf(value as pulumi.Output<unknown>));
    if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
    if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        const entries = await Promise.all(
            Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const),
        );
        return Object.fromEntries(entries);
    }
    return value;
}
