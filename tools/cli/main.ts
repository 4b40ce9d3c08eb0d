/* eslint-disable @typescript-eslint/no-explicit-any -- the CLI's JSON (state exports, outputs) is untyped */
// npm run test:cli [stack...]: the real Pulumi CLI and engine run every committed stack, as users run
// them, with stand-in provider plugins (tools/cli/providers) and no AWS account. Each stack gets a
// throwaway copy of the repository (the CLI rewrites stack files), a file:// backend, a passphrase and
// an isolated PULUMI_HOME holding the stand-ins. In order: preview with the policy pack, up, a second
// preview that must find no changes, the state export (no generated secret in clear), the stack
// outputs (documented, none undefined), a layout switch with `pulumi config set` (previewed and
// brought up), destroy (refused while resources are protected). One line per stack and step, with
// the time taken; on failure, the CLI's own message.
//
// Every preview runs our policy pack (policy/, mandatory), as the pull-request workflow does; every up
// runs it and the advisory @pulumi/awsguard one (policy-awsguard/, with policy/awsguard.ts's waivers),
// on values all known; a finding of either fails.
// Options: --jobs=N stacks at once (default 3); --set key=value / --drop key change the copy's stack
// file first (how the check is shown to fail); --only=<step,...> runs only the steps of those ids (a
// step's name up to " (", e.g. init,config,"preview --policy-pack policy"); --no-self-test skips the
// runs that prove a broken stack file fails (SELF_TESTS).
import { execFileSync, spawn } from "child_process";
import {
    copyFileSync,
    cpSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    symlinkSync,
    writeFileSync,
} from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { Build, ensureBuild } from "./build";
import { installStandIns, ROOT } from "./plugins";

const PASSPHRASE = "airflow-on-aws-cli-test";
const STACKS = ["dev", "staging", "prod"];
/** Never copied when the checkout is not a git work tree (then everything else is). */
const COPY_SKIP = new Set(["node_modules", ".git", ".tools", ".venv", ".local", ".pytest_cache", ".ruff_cache"]);

/** Outputs each layout must show (README "Stack outputs"); any other shown output must be documented there. */
export const REQUIRED_OUTPUTS = {
    both: [
        "layout",
        "airflowVersion",
        "environment",
        "vpcId",
        "publicSubnetIds",
        "privateSubnetIds",
        "securityGroupIds",
        "artifactsBucket",
        "fargateJobsVariable",
        "fargateJobsTaskDefinition",
        "mlTrainingRoleArn",
        "mlBucket",
        "mlImageUri",
        "mlVariableNames",
        "mlVariableSecretNames",
    ],
    celery: ["databaseEndpoint", "brokerEndpoint", "secretArns", "airflowUrl", "ecsClusterName", "airflowImage"],
    mwaa: ["mwaaWebserverUrl", "mwaaEnvironmentArn", "mwaaEnvironmentName", "mwaaExecutionRoleArn"],
} as const;

interface Options {
    stacks: string[];
    jobs: number;
    set: [string, string][];
    drop: string[];
    only?: Set<string>;
    selfTest: boolean;
    /** Prints nothing (a self-test reports one line of its own). */
    quiet?: boolean;
    /**
     * Runs previews and ups without the policy packs. Only the self-tests do: each must be refused
     * by config validation (the CLI's or the program's) before a pack could analyse anything, and a
     * pack costs a process start (awsguard's about 2.5 s of CPU) on each run.
     */
    noPacks?: boolean;
}

function parseArgs(argv: string[]): Options {
    const o: Options = { stacks: [], jobs: 3, set: [], drop: [], selfTest: true };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i]);
        if (a.startsWith("--jobs")) o.jobs = Number(value());
        else if (a.startsWith("--set")) {
            const kv = value();
            o.set.push([kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]);
        } else if (a.startsWith("--drop")) o.drop.push(value());
        else if (a.startsWith("--only")) o.only = new Set(value().split(","));
        else if (a === "--no-self-test") o.selfTest = false;
        else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
        else o.stacks.push(a);
    }
    if (o.stacks.length === 0) o.stacks = [...STACKS];
    for (const s of o.stacks)
        if (!STACKS.includes(s)) throw new Error(`no committed stack ${s} (have ${STACKS.join(", ")})`);
    return o;
}

interface Result {
    code: number;
    out: string;
}

class StepFailed extends Error {}

/** One stack's run: its copy of the repository, its backend, its CLI environment. */
class StackRun {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
    readonly lines: string[] = [];
    /** The ids of the steps this run came to, run or not (--only must name ones that exist). */
    readonly seen = new Set<string>();

    /** Why the run failed: the failing step's message (what the self-tests look for). */
    failure = "";

    constructor(
        readonly stack: string,
        bin: string,
        home: string,
        build: Build,
        readonly options: Options,
        /** How the run is named in its lines: the stack, or the self-test it is. */
        readonly label = stack,
    ) {
        this.dir = mkdtempSync(path.join(tmpdir(), `airflow-cli-${stack}-`));
        for (const file of repositoryFiles(ROOT)) {
            mkdirSync(path.dirname(path.join(this.dir, file)), { recursive: true });
            cpSync(path.join(ROOT, file), path.join(this.dir, file), { recursive: true });
        }
        symlinkSync(path.join(ROOT, "node_modules"), path.join(this.dir, "node_modules"));
        // The shared build's JavaScript beside each TypeScript file (so __dirname is the same), and
        // the program's and the packs' entry points pointed at it: Node prefers x.js to x.ts when
        // both are there, and nothing is transpiled or type-checked again under the CLI.
        for (const f of build.files) {
            const js = f.replace(/\.ts$/, ".js");
            copyFileSync(path.join(build.dir, js), path.join(this.dir, js));
        }
        for (const dir of [".", "policy", "policy-awsguard"]) {
            const manifest = path.join(this.dir, dir, "package.json");
            const json = JSON.parse(readFileSync(manifest, "utf8"));
            json.main = String(json.main).replace(/\.ts$/, ".js");
            writeFileSync(manifest, JSON.stringify(json, null, 2));
        }
        // The copy's Pulumi.yaml says so (runtime option typescript: false), and the program runs
        // without ts-node: ts-node's source-map support otherwise maps every frame of the stack trace
        // @pulumi/pulumi takes for each promise, a third of the program's CPU. The config block is
        // untouched.
        const project = parseDocument(readFileSync(path.join(this.dir, "Pulumi.yaml"), "utf8"));
        project.setIn(["runtime", "options", "typescript"], false);
        writeFileSync(path.join(this.dir, "Pulumi.yaml"), project.toString());
        mkdirSync(path.join(this.dir, ".state"));
        const stackFile = readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
        this.env = {
            ...process.env,
            PATH: [bin, path.join(ROOT, "node_modules", ".bin"), process.env.PATH].join(path.delimiter),
            PULUMI_HOME: home,
            PULUMI_BACKEND_URL: `file://${path.join(this.dir, ".state")}`,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            // Node keeps the bytecode of every module it compiles (@pulumi/aws, @pulumi/pulumi, ...)
            // and reuses it in the next of the many Node processes each step starts.
            NODE_COMPILE_CACHE: path.join(ROOT, ".tools", "node-compile-cache"),
            // @pulumi/pulumi takes a stack trace of every promise it makes (runtime/debuggable.ts, kept
            // for leak reports) and source-map-support, which its cmd/run installs, rewrites every
            // frame: a third of the program's CPU. With no frames captured, an error still shows its
            // message, and resources keep their source positions (the SDK lifts the limit for those).
            // A NODE_OPTIONS of the caller's comes after, so --stack-trace-limit=10 brings traces back.
            NODE_OPTIONS: ["--stack-trace-limit=0", process.env.NODE_OPTIONS].filter(Boolean).join(" "),
            // The engine saves the state once, at the end of each update, instead of after every
            // resource operation (Pulumi's documented switch for large stacks): with the file://
            // backend every checkpoint rewrote and re-encrypted the whole state, which cost more CPU
            // than the program. Every check here reads the final state, which is the same.
            PULUMI_SKIP_CHECKPOINTS: "true",
            STANDIN_AWS_REGION: String(parse(stackFile)?.config?.["aws:region"] ?? "us-east-1"),
            NO_COLOR: "1",
        };
        this.mutateStackFile(stackFile);
    }

    private mutateStackFile(text: string): void {
        if (this.options.set.length === 0 && this.options.drop.length === 0) return;
        const doc = parseDocument(text);
        for (const key of this.options.drop) doc.deleteIn(["config", key]);
        for (const [key, value] of this.options.set) doc.setIn(["config", key], parse(value));
        writeFileSync(path.join(this.dir, `Pulumi.${this.stack}.yaml`), doc.toString());
    }

    pulumi(args: string[]): Promise<Result> {
        return new Promise((resolve) => {
            const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: this.dir, env: this.env });
            let out = "";
            child.stdout.on("data", (d) => (out += String(d)));
            child.stderr.on("data", (d) => (out += String(d)));
            child.on("close", (code) => resolve({ code: code ?? 1, out }));
        });
    }

    /** Runs a pulumi command that must succeed; returns its output. */
    async ok(args: string[]): Promise<string> {
        const r = await this.pulumi(args);
        if (r.code !== 0) throw new StepFailed(`pulumi ${args.join(" ")} exited ${r.code}:\n${cliMessage(r.out)}`);
        return r.out;
    }

    async step(name: string, body: () => Promise<string | void>): Promise<void> {
        // A step's id is its name up to " (": "init", "config", "preview --policy-pack policy", ...
        const id = name.split(" (")[0];
        this.seen.add(id);
        if (this.options.only && !this.options.only.has(id)) return;
        const started = Date.now();
        try {
            const note = await body();
            this.print(`ok    ${name} (${secs(started)})${note ? `: ${note}` : ""}`);
        } catch (err) {
            this.print(`FAIL  ${name} (${secs(started)})`);
            const message = err instanceof Error ? err.message : String(err);
            this.failure = message;
            if (!this.options.quiet) console.log(message.replace(/^/gm, `      ${this.label.padEnd(8)}| `));
            throw new StepFailed(message);
        }
    }

    print(line: string): void {
        if (!this.options.quiet) console.log(`cli ${this.label.padEnd(8)} ${line}`);
    }

    cleanup(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * What a stack's copy holds: the repository's files, tracked or new, and nothing git ignores (the
 * upgrade drill's .venv-3.0.6 alone is 576 MB, and copying it six times a run was a quarter of the
 * run's time). Outside a git work tree, every top-level entry but COPY_SKIP's.
 */
export function repositoryFiles(root: string): string[] {
    try {
        const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
            cwd: root,
            stdio: ["ignore", "pipe", "ignore"],
            maxBuffer: 64 * 1024 * 1024,
        });
        // A tracked file deleted in the work tree is listed too; only what exists is copied.
        return out
            .toString()
            .split("\0")
            .filter((f) => f && existsSync(path.join(root, f)));
    } catch {
        return readdirSync(root).filter((entry) => !COPY_SKIP.has(entry));
    }
}

function secs(started: number): string {
    return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/** The id of each stack's first step that runs the program (self-tests stop there). */
const FIRST_PREVIEW = "preview --policy-pack policy";

/**
 * The packs of each operation. A preview runs ours, as `.github/workflows/pull-request.yml` runs it
 * on every pull request. An up runs ours and awsguard (advisory, our waivers): there every value is
 * known, so no policy of either is deferred, and awsguard sees everything a preview would show it.
 * awsguard's start (its own @pulumi/aws 4 and the AWS SDK v2) is about 2.5 s of CPU a run.
 */
export const PACKS = {
    preview: ["--policy-pack", "policy"],
    up: ["--policy-pack", "policy", "--policy-pack", "policy-awsguard"],
} as const;
/** The pack names each operation's output must report (PolicyPack names, as the CLI prints them). */
const PACK_NAMES = { preview: ["airflow-aws"], up: ["airflow-aws", "pulumi-awsguard"] } as const;

/** One policy result the CLI prints under "Policies:": `- [level]  policy  (type: name)` and its message. */
export interface PolicyResult {
    level: string;
    policy: string;
    resource: string;
    message: string;
}

/**
 * The results the CLI printed under "Policies:". A result whose message says the policy "can't run ...
 * during preview" is deferred: the value it reads is unknown until the resource exists, and the same
 * policy runs on the known value in the up.
 */
export function policyResults(out: string): { findings: PolicyResult[]; deferred: PolicyResult[] } {
    const lines = out.split("\n");
    const results: PolicyResult[] = [];
    lines.forEach((line, i) => {
        const m = line.match(/^\s*- \[(\w+)\]\s+(\S+)\s+\((.*)\)\s*$/);
        if (m) results.push({ level: m[1], policy: m[2], resource: m[3], message: (lines[i + 1] ?? "").trim() });
    });
    const deferred = results.filter((r) => /^can't run policy .* during preview/.test(r.message));
    return { findings: results.filter((r) => !deferred.includes(r)), deferred };
}

/**
 * What the step says about the packs: throws on any finding (advisory ones too: awsguard's rules are
 * waived in policy/awsguard.ts or must pass), and requires each pack to report itself passed.
 */
export function policyOutcome(out: string, operation: "preview" | "up"): string {
    const { findings, deferred } = policyResults(out);
    if (findings.length) {
        const listed = findings.map((f) => `[${f.level}] ${f.policy} (${f.resource}): ${f.message}`);
        throw new Error(`${findings.length} policy finding(s):\n${listed.join("\n")}`);
    }
    if (operation === "up" && deferred.length) {
        throw new Error(`${deferred.length} policies could not run in the up: ${deferred[0].message}`);
    }
    for (const pack of PACK_NAMES[operation]) {
        if (!new RegExp(`${pack}@\\S+ \\(local: policy`).test(out)) throw new Error(`the ${pack} pack did not run`);
    }
    const passed = operation === "up" ? "both policy packs passed" : "the policy pack passed";
    return deferred.length
        ? `${passed} (${deferred.length} checks wait for values known at the up, where they run)`
        : passed;
}

/** The CLI's own diagnostics: the error and warning lines and what follows them, else the tail. */
export function cliMessage(out: string): string {
    const lines = out.split("\n");
    const start = lines.findIndex((l) => /^\s*(error|Diagnostics):/.test(l) || /^\s+error:/.test(l));
    const picked = start >= 0 ? lines.slice(start) : lines.slice(-30);
    return picked.slice(0, 60).join("\n").trim();
}

/** A key's declaration in Pulumi.yaml's config block. */
export interface Declaration {
    type: "string" | "integer" | "boolean" | "array" | "object";
    items?: { type: string };
}

/** One key as `pulumi config --json` shows it. */
export interface ShownValue {
    value?: string;
    objectValue?: unknown;
    secret?: boolean;
}

function itemIs(type: string, item: unknown): boolean {
    if (type === "string") return typeof item === "string";
    if (type === "integer") return Number.isInteger(item);
    if (type === "boolean") return typeof item === "boolean";
    if (type === "object") return !!item && typeof item === "object" && !Array.isArray(item);
    return false;
}

/** Whether a value `pulumi config` shows has the type Pulumi.yaml declares for it. */
export function shownAsDeclared(d: Declaration, v: ShownValue): boolean {
    const object = "objectValue" in v;
    switch (d.type) {
        case "string":
            return !object && typeof v.value === "string";
        case "integer":
            return !object && /^-?\d+$/.test(v.value ?? "");
        case "boolean":
            return !object && (v.value === "true" || v.value === "false");
        case "array":
            return Array.isArray(v.objectValue) && v.objectValue.every((i) => itemIs(d.items?.type ?? "string", i));
        case "object":
            return itemIs("object", v.objectValue);
    }
}

/**
 * Every key Pulumi.yaml declares must be shown by `pulumi config --json` (from the stack file or the
 * declared default) with the declared type; one line per key that is not, naming it.
 */
export function configProblems(
    project: string,
    declared: Record<string, Declaration>,
    shown: Record<string, ShownValue>,
): string[] {
    const problems: string[] = [];
    for (const [key, d] of Object.entries(declared)) {
        const full = key.includes(":") ? key : `${project}:${key}`;
        const v = shown[full];
        const type = d.type === "array" ? `array of ${d.items?.type ?? "?"}` : d.type;
        if (!v) problems.push(`${full} is declared in Pulumi.yaml (${type}), but pulumi config does not show it`);
        else if (!shownAsDeclared(d, v))
            problems.push(
                `${full} is declared ${type} in Pulumi.yaml, but pulumi config shows ${JSON.stringify(v.objectValue ?? v.value)}`,
            );
    }
    return problems;
}

function documentedOutputs(): Set<string> {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Stack outputs"));
    const table = section.slice(0, section.indexOf("\n## "));
    return new Set([...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]));
}

/** The outputs the random provider's SDK marks secret, by resource type (RandomId is a name suffix, not a secret). */
const SECRET_OUTPUTS: Record<string, readonly string[]> = {
    "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
    "random:index/randomBytes:RandomBytes": ["base64", "hex"],
};

/** Every value a generated secret has in state (from an export with --show-secrets). */
function generatedSecrets(state: any): string[] {
    const values: string[] = [];
    for (const r of state.deployment?.resources ?? []) {
        for (const key of SECRET_OUTPUTS[String(r.type)] ?? []) {
            const v = r.outputs?.[key];
            const plain = v && typeof v === "object" && "plaintext" in v ? JSON.parse(v.plaintext) : v;
            if (typeof plain === "string" && plain.length >= 8) values.push(plain);
        }
    }
    return values;
}

function layoutOf(stack: string): string {
    const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    return String(file?.config?.["airflow:layout"] ?? "celery");
}

async function runStack(run: StackRun): Promise<boolean> {
    const s = run.stack;
    const layout = layoutOf(s);
    const packs = (operation: "preview" | "up") => (run.options.noPacks ? [] : PACKS[operation]);
    try {
        await run.step("init", async () => {
            await run.ok(["stack", "init", s]);
        });
        await run.step("config (every declared key shown with its type)", async () => {
            const out = await run.ok(["config", "--stack", s, "--json"]);
            const shown = JSON.parse(out.slice(out.indexOf("{")));
            const project = parse(readFileSync(path.join(run.dir, "Pulumi.yaml"), "utf8"));
            const declared: Record<string, Declaration> = project.config ?? {};
            const problems = configProblems(String(project.name), declared, shown);
            if (problems.length) throw new Error(problems.join("\n"));
            const types: Record<string, number> = {};
            for (const d of Object.values(declared)) {
                const t = d.type === "array" ? `array of ${d.items?.type}` : d.type;
                types[t] = (types[t] ?? 0) + 1;
            }
            const counts = Object.entries(types).map(([t, n]) => `${n} ${t}`);
            return `${Object.keys(shown).length} keys; the ${Object.keys(declared).length} declared ones with their types (${counts.join(", ")})`;
        });
        await run.step(FIRST_PREVIEW, async () => {
            const out = await run.ok(["preview", "--stack", s, ...packs("preview")]);
            const m = out.match(/(\d+) to create/);
            return `${m ? m[1] : "?"} to create; ${policyOutcome(out, "preview")}`;
        });
        const up = async (label: string) =>
            run.step(label, async () => {
                const out = await run.ok(["up", "--stack", s, "--yes", "--skip-preview", ...packs("up")]);
                if (/Undefined value/.test(out)) throw new Error(`the engine warned:\n${cliMessage(out)}`);
                const m = out.match(/Resources:\s*\n((?:\s+.*\n)+)/);
                return `${m ? m[1].replace(/\s+/g, " ").trim() : ""}; ${policyOutcome(out, "up")}`;
            });
        await up("up --yes (both policy packs)");
        await run.step("preview --expect-no-changes", async () => {
            const r = await run.pulumi(["preview", "--stack", s, "--expect-no-changes", "--diff"]);
            if (r.code !== 0) {
                const changed = r.out.split("\n").filter((l) => /^\s*[~+-]{1,2}\s|\[diff:|^\s*error:/.test(l));
                // Which resources would change first (a long diff of one would hide the others), then details.
                const resources = changed.filter((l) =>
                    /^\s*[~+-]{1,2}\s+\S+:\S+:\S+.*\((update|replace|create|delete)/.test(l),
                );
                throw new Error(
                    `the second preview proposes changes to ${resources.length} resource(s):\n${resources.join("\n")}\n` +
                        `details:\n${changed.slice(0, 60).join("\n")}`,
                );
            }
        });
        await run.step("state export (no generated secret in clear)", async () => {
            const clear = JSON.parse(await run.ok(["stack", "export", "--stack", s, "--show-secrets"]));
            const secrets = generatedSecrets(clear);
            if (secrets.length === 0) {
                if (layout === "celery") throw new Error("found no generated secret in the state to look for");
                return "the mwaa layout generates no secret";
            }
            const plain = await run.ok(["stack", "export", "--stack", s]);
            const leaked = secrets.filter((v) => plain.includes(v));
            if (leaked.length)
                throw new Error(`${leaked.length} generated secrets appear in clear in the state export`);
            return `${secrets.length} generated secrets, all encrypted`;
        });
        await run.step("stack output (documented, none undefined)", async () => {
            const out = await run.ok(["stack", "output", "--stack", s, "--json"]);
            const outputs = JSON.parse(out);
            const documented = documentedOutputs();
            const undocumented = Object.keys(outputs).filter((k) => !documented.has(k));
            const other = layout === "celery" ? "mwaa" : "celery";
            const required = [...REQUIRED_OUTPUTS.both, ...REQUIRED_OUTPUTS[layout as "celery" | "mwaa"]];
            const missing = required.filter((k) => outputs[k] === undefined || outputs[k] === null);
            const foreign = REQUIRED_OUTPUTS[other].filter(
                (k) => k in outputs && !REQUIRED_OUTPUTS[layout as "celery" | "mwaa"].includes(k as never),
            );
            const hollow = Object.entries(outputs)
                .filter(([, v]) => /undefined|null/.test(JSON.stringify(v)))
                .map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
            const problems = [
                ...(hollow.length ? [`outputs read values the resources do not have: ${hollow.join(", ")}`] : []),
                ...(undocumented.length ? [`not in README's Stack outputs: ${undocumented.join(", ")}`] : []),
                ...(missing.length ? [`missing: ${missing.join(", ")}`] : []),
                ...(foreign.length ? [`${other} outputs on a ${layout} stack: ${foreign.join(", ")}`] : []),
            ];
            if (problems.length) throw new Error(problems.join("\n"));
            return `${Object.keys(outputs).length} outputs`;
        });
        const target = s === "prod" ? "celery" : s === "dev" ? "mwaa" : undefined;
        if (target) {
            await run.step(`config set airflow:layout ${target}`, async () => {
                await run.ok(["config", "set", "--stack", s, "airflow:layout", target]);
            });
            const summary = (out: string) => {
                const m = out.match(/Resources:\s*\n((?:\s+.*\n)+)/);
                return m ? m[1].replace(/\s+/g, " ").trim() : "";
            };
            if (stackProtects(s)) {
                // Switching layout deletes the other layout's resources; protected ones must stop the
                // engine (already in the preview, with the policy pack: this is the layout's preview)
                // until someone unprotects them on purpose. Then the up runs the policy pack itself,
                // and fails, naming it, should another protected resource be in the way.
                await run.step(`preview (layout ${target}) refuses to delete protected resources`, async () => {
                    const r = await run.pulumi(["preview", "--stack", s, ...packs("preview")]);
                    if (r.code === 0) throw new Error("the preview would delete protected resources");
                    const urns = [
                        ...new Set(
                            [...r.out.matchAll(/resource "(urn:pulumi:[^"]+)" cannot be deleted/g)].map((m) => m[1]),
                        ),
                    ];
                    if (!/because it is protected/.test(r.out) || urns.length === 0) {
                        throw new Error(`the preview failed, but not for protection:\n${cliMessage(r.out)}`);
                    }
                    for (const urn of urns) await run.ok(["state", "unprotect", "--stack", s, "--yes", urn]);
                    return `refused; pulumi state unprotect ${urns.map((u) => u.split("::").pop()).join(", ")}`;
                });
                await up(`up (layout ${target}, both policy packs)`);
            } else {
                await run.step(`preview (layout ${target})`, async () => {
                    const out = await run.ok(["preview", "--stack", s, ...packs("preview")]);
                    return `${summary(out)}; ${policyOutcome(out, "preview")}`;
                });
                await up(`up (layout ${target})`);
            }
        }
        await run.step("destroy --yes", async () => {
            const r = await run.pulumi(["destroy", "--stack", s, "--yes", "--skip-preview"]);
            const state = JSON.parse(await run.ok(["stack", "export", "--stack", s]));
            const left = (state.deployment?.resources ?? []).filter(
                (x: any) => !String(x.type).startsWith("pulumi:providers:") && x.type !== "pulumi:pulumi:Stack",
            );
            const protectedCount = left.filter((x: any) => x.protect).length;
            const expectProtected = stackProtects(s);
            if (expectProtected) {
                if (r.code === 0) throw new Error("pulumi destroy succeeded on a stack with protected resources");
                if (!/protect/i.test(r.out))
                    throw new Error(`pulumi destroy failed, but not for protection:\n${cliMessage(r.out)}`);
                if (protectedCount === 0) throw new Error("no protected resource is left in the state");
                return `refused as it must: ${protectedCount} protected resources kept (${left.length} left)`;
            }
            if (r.code !== 0) throw new Error(`pulumi destroy exited ${r.code}:\n${cliMessage(r.out)}`);
            if (left.length) throw new Error(`${left.length} resources remain after destroy`);
            return "nothing left";
        });
        return true;
    } catch (err) {
        if (!(err instanceof StepFailed)) {
            run.print(`FAIL  ${err instanceof Error ? err.message : String(err)}`);
        }
        return false;
    }
}

function stackProtects(stack: string): boolean {
    const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    return file?.config?.["airflow:protectData"] === true || file?.config?.["airflow:protectData"] === "true";
}

async function pool<T>(items: T[], jobs: number, work: (item: T) => Promise<boolean>): Promise<boolean[]> {
    const results: boolean[] = new Array(items.length);
    let next = 0;
    await Promise.all(
        [...Array(Math.max(1, Math.min(jobs, items.length)))].map(async () => {
            while (next < items.length) {
                const i = next++;
                results[i] = await work(items[i]);
            }
        }),
    );
    return results;
}

/**
 * The runs that prove the check can fail: copies of dev whose stack file is broken, each of which must
 * fail at the given step and name every given key. They run beside the stacks, through the same steps.
 */
export const SELF_TESTS: readonly {
    label: string;
    set?: [string, string][];
    drop?: string[];
    /** The steps run (init always): the first that must fail. */
    only: string[];
    keys: string[];
    /** Who must refuse the stack file. */
    by: string;
}[] = [
    {
        label: "a wrong-typed declared value (airflow:azCount: two)",
        set: [["airflow:azCount", "two"]],
        only: [FIRST_PREVIEW],
        keys: ["azCount"],
        by: "the CLI's own config validation",
    },
    {
        label: "pulumi config shows a declared key with another type (airflow:azCount: two)",
        set: [["airflow:azCount", "two"]],
        only: ["config"],
        keys: ["airflow:azCount"],
        by: "test:cli's config step",
    },
    {
        label: "values the CLI cannot check (airflow:tags: [a], airflow:natStrategy: always, airflow:environment: prod-)",
        set: [
            ["airflow:tags", "[a]"],
            ["airflow:natStrategy", "always"],
            ["airflow:environment", "prod-"],
        ],
        only: [FIRST_PREVIEW],
        keys: ["airflow:tags", "airflow:natStrategy", "airflow:environment"],
        by: "the program's config loader",
    },
];

/** One line naming what a failed self-test run printed about the first key. */
function selfTestVerdict(t: (typeof SELF_TESTS)[number], run: StackRun, passed: boolean, started: number): boolean {
    const head = `cli self-test`;
    if (passed) {
        console.log(`${head} FAIL  ${t.label}: test:cli passed (${secs(started)})`);
        return false;
    }
    const missing = t.keys.filter((k) => !run.failure.includes(k));
    if (missing.length) {
        console.log(
            `${head} FAIL  ${t.label}: failed without naming ${missing.join(", ")} (${secs(started)}):\n${run.failure}`,
        );
        return false;
    }
    const lines = t.keys.map(
        (k) =>
            run.failure
                .split("\n")
                .find((l) => l.includes(k))
                ?.trim() ?? "",
    );
    console.log(
        `${head} ok    ${t.label}: ${t.by} refuses it, naming ${t.keys.join(", ")} (${secs(started)}): ${[...new Set(lines)].join(" | ")}`,
    );
    return true;
}

async function main(): Promise<void> {
    const started = Date.now();
    const options = parseArgs(process.argv.slice(2));
    const bin = execFileSync("bash", [path.join(ROOT, "scripts", "ensure-pulumi.sh")], {
        stdio: ["ignore", "pipe", "inherit"],
    })
        .toString()
        .trim();
    const build = ensureBuild(ROOT);
    console.log(
        `cli build ${path.relative(ROOT, build.dir)}: ${build.files.length} TypeScript files ${build.transpiled ? `transpiled in ${(build.ms / 1000).toFixed(1)} s` : `unchanged (${build.ms} ms)`}`,
    );
    const home = path.join(ROOT, ".tools", "cli-home");
    const versions = installStandIns(home, build.dir);
    console.log(
        `cli stand-in plugins in ${home}: ${Object.entries(versions)
            .map(([p, v]) => `${p} ${v}`)
            .join(", ")} (not the real providers: nothing is created in any cloud)`,
    );
    const runs = options.stacks.map((s) => new StackRun(s, bin, home, build, options));
    const checks: (() => Promise<boolean>)[] = [];
    if (options.selfTest && options.set.length === 0 && options.drop.length === 0 && !options.only) {
        for (const t of SELF_TESTS) {
            const run = new StackRun(
                "dev",
                bin,
                home,
                build,
                {
                    ...options,
                    set: t.set ?? [],
                    drop: t.drop ?? [],
                    only: new Set(["init", ...t.only]),
                    quiet: true,
                    noPacks: true,
                },
                "self-test",
            );
            runs.push(run);
            checks.push(async () => {
                const begun = Date.now();
                return selfTestVerdict(t, run, await runStack(run), begun);
            });
        }
    }
    // The self-tests (short: each stops at its first failing step) run one after another beside the stacks.
    const [stacks, selfTests] = await Promise.all([
        pool(runs.slice(0, options.stacks.length), options.jobs, runStack),
        pool(checks, 1, (c) => c()),
    ]);
    const results = [...stacks, ...selfTests];
    if (options.only) {
        const seen = new Set(runs.slice(0, options.stacks.length).flatMap((r) => [...r.seen]));
        const unknown = [...options.only].filter((id) => !seen.has(id));
        if (unknown.length) {
            console.log(`cli FAILED: --only names no step: ${unknown.join(", ")} (the steps: ${[...seen].join(", ")})`);
            results.push(false);
        }
    }
    if (!process.env.CLI_TEST_KEEP) for (const r of runs) r.cleanup();
    else console.log(`cli kept the copies: ${runs.map((r) => r.dir).join(" ")}`);
    const ok = results.every(Boolean);
    console.log(`cli ${ok ? "passed" : "FAILED"}: ${options.stacks.join(", ")} in ${secs(started)}`);
    process.exit(ok ? 0 : 1);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`test:cli: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    });
}
