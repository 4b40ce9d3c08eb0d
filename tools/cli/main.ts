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
// Options: --jobs=N stacks at once (default 3); --set key=value / --drop key change the copy's stack
// file first (how the check is shown to fail); --only=<step,...> runs only those steps; --no-self-test
// skips the run that proves a broken stack file fails.
import { execFileSync, spawn } from "child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { parse, parseDocument } from "yaml";
import { installStandIns, ROOT } from "./plugins";

const PASSPHRASE = "airflow-on-aws-cli-test";
const STACKS = ["dev", "staging", "prod"];
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

    constructor(
        readonly stack: string,
        bin: string,
        home: string,
        private readonly options: Options,
    ) {
        this.dir = mkdtempSync(path.join(tmpdir(), `airflow-cli-${stack}-`));
        for (const entry of readdir(ROOT)) {
            if (COPY_SKIP.has(entry)) continue;
            cpSync(path.join(ROOT, entry), path.join(this.dir, entry), { recursive: true });
        }
        symlinkSync(path.join(ROOT, "node_modules"), path.join(this.dir, "node_modules"));
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
        if (this.options.only && !this.options.only.has(name.split(" ")[0])) return;
        const started = Date.now();
        try {
            const note = await body();
            this.print(`ok    ${name} (${secs(started)})${note ? `: ${note}` : ""}`);
        } catch (err) {
            this.print(`FAIL  ${name} (${secs(started)})`);
            const message = err instanceof Error ? err.message : String(err);
            console.log(message.replace(/^/gm, `      ${this.stack.padEnd(8)}| `));
            throw new StepFailed(message);
        }
    }

    print(line: string): void {
        console.log(`cli ${this.stack.padEnd(8)} ${line}`);
    }

    cleanup(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}

function readdir(dir: string): string[] {
    return readdirSync(dir);
}

function secs(started: number): string {
    return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/** The CLI's own diagnostics: the error and warning lines and what follows them, else the tail. */
export function cliMessage(out: string): string {
    const lines = out.split("\n");
    const start = lines.findIndex((l) => /^\s*(error|Diagnostics):/.test(l) || /^\s+error:/.test(l));
    const picked = start >= 0 ? lines.slice(start) : lines.slice(-30);
    return picked.slice(0, 60).join("\n").trim();
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
    try {
        await run.step("init", async () => {
            await run.ok(["stack", "init", s]);
        });
        await run.step("config (Pulumi.yaml declarations, types)", async () => {
            const out = await run.ok(["config", "--stack", s, "--json"]);
            const shown = JSON.parse(out.slice(out.indexOf("{")));
            const declared = parse(readFileSync(path.join(run.dir, "Pulumi.yaml"), "utf8")).config ?? {};
            const missing = Object.keys(declared).filter((k) => !(`airflow:${k}` in shown));
            if (missing.length) throw new Error(`pulumi config does not show ${missing.join(", ")}`);
            return `${Object.keys(shown).length} keys`;
        });
        await run.step("preview --policy-pack policy", async () => {
            const out = await run.ok(["preview", "--stack", s, "--policy-pack", "policy"]);
            const m = out.match(/(\d+) to create/);
            return `${m ? m[1] : "?"} to create, policy pack passed`;
        });
        const up = async (label: string) =>
            run.step(label, async () => {
                const out = await run.ok(["up", "--stack", s, "--yes", "--skip-preview"]);
                if (/Undefined value/.test(out)) throw new Error(`the engine warned:\n${cliMessage(out)}`);
                const m = out.match(/Resources:\s*\n((?:\s+.*\n)+)/);
                return m ? m[1].replace(/\s+/g, " ").trim() : "";
            });
        await up("up --yes");
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
            if (stackProtects(s)) {
                // Switching layout deletes the other layout's resources; protected ones must stop the
                // engine (already in the preview) until someone unprotects them on purpose.
                await run.step(`preview (layout ${target}) refuses to delete protected resources`, async () => {
                    const unprotected: string[] = [];
                    for (let attempt = 0; attempt < 10; attempt++) {
                        const r = await run.pulumi(["preview", "--stack", s]);
                        if (r.code === 0) {
                            if (attempt === 0) throw new Error("the preview would delete protected resources");
                            return `refused; after pulumi state unprotect ${unprotected.join(", ")} it passes`;
                        }
                        const urns = [
                            ...new Set(
                                [...r.out.matchAll(/resource "(urn:pulumi:[^"]+)" cannot be deleted/g)].map(
                                    (m) => m[1],
                                ),
                            ),
                        ];
                        if (!/because it is protected/.test(r.out) || urns.length === 0) {
                            throw new Error(`the preview failed, but not for protection:\n${cliMessage(r.out)}`);
                        }
                        for (const urn of urns) {
                            await run.ok(["state", "unprotect", "--stack", s, "--yes", urn]);
                            unprotected.push(urn.split("::").pop() ?? urn);
                        }
                    }
                    throw new Error("still refused after unprotecting ten times");
                });
            }
            await run.step(`preview (layout ${target})`, async () => {
                const out = await run.ok(["preview", "--stack", s, "--policy-pack", "policy"]);
                const m = out.match(/Resources:\s*\n((?:\s+.*\n)+)/);
                return m ? m[1].replace(/\s+/g, " ").trim() : "";
            });
            await up(`up (layout ${target})`);
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

/** Runs this tool on a copy of dev whose stack file is broken; it must fail and name the key. */
function selfTest(label: string, args: string[], key: string): boolean {
    const started = Date.now();
    try {
        execFileSync(
            process.execPath,
            [...process.execArgv, __filename, "dev", "--no-self-test", "--only=init,config,preview", ...args],
            {
                cwd: ROOT,
                env: process.env,
                stdio: "pipe",
            },
        );
        console.log(`cli self-test FAIL  ${label}: test:cli passed (${secs(started)})`);
        return false;
    } catch (err: any) {
        const out = `${err.stdout ?? ""}${err.stderr ?? ""}`;
        if (!out.includes(key)) {
            console.log(`cli self-test FAIL  ${label}: failed without naming ${key} (${secs(started)}):\n${out}`);
            return false;
        }
        const line = out.split("\n").find((l) => l.includes(key) && /error|must|missing/i.test(l)) ?? "";
        console.log(
            `cli self-test ok    ${label}: test:cli fails and names ${key} (${secs(started)}): ${line.replace(/^.*\| /, "").trim()}`,
        );
        return true;
    }
}

async function main(): Promise<void> {
    const started = Date.now();
    const options = parseArgs(process.argv.slice(2));
    const bin = execFileSync("bash", [path.join(ROOT, "scripts", "ensure-pulumi.sh")], {
        stdio: ["ignore", "pipe", "inherit"],
    })
        .toString()
        .trim();
    const home = path.join(ROOT, ".tools", "cli-home");
    const versions = installStandIns(home);
    console.log(
        `cli stand-in plugins in ${home}: ${Object.entries(versions)
            .map(([p, v]) => `${p} ${v}`)
            .join(", ")} (not the real providers: nothing is created in any cloud)`,
    );
    const runs = options.stacks.map((s) => new StackRun(s, bin, home, options));
    const results = await pool(runs, options.jobs, runStack);
    if (!process.env.CLI_TEST_KEEP) for (const r of runs) r.cleanup();
    else console.log(`cli kept the copies: ${runs.map((r) => r.dir).join(" ")}`);
    let ok = results.every(Boolean);
    if (options.selfTest && options.set.length === 0 && options.drop.length === 0 && !options.only) {
        ok = selfTest("a wrong-typed value (airflow:azCount: two)", ["--set", "airflow:azCount=two"], "azCount") && ok;
        ok =
            selfTest(
                "a key the program rejects (airflow:natStrategy: always)",
                ["--set", "airflow:natStrategy=always"],
                "natStrategy",
            ) && ok;
    }
    console.log(`cli ${ok ? "passed" : "FAILED"}: ${options.stacks.join(", ")} in ${secs(started)}`);
    process.exit(ok ? 0 : 1);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(`test:cli: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    });
}
