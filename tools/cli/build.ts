// The JavaScript the CLI tests run: every TypeScript file of the program, the policy packs and the
// stand-in providers, transpiled once with TypeScript's own transpileModule (the transform ts-node's
// transpile-only mode applies, with the compiler options of tsconfig.json) and kept in
// .tools/cli-build/<hash of the sources and the compiler>, so a warm run transpiles nothing and every
// stack's copy shares one build. Type checking is `npm run build`'s job, not this one's.
//
// Why: under ts-node each CLI step paid for loading the compiler and transpiling the program, the
// policy pack (which @pulumi/pulumi's run-policy-pack always registers with type checking) and each of
// the three stand-in plugins, every time.
import { createHash } from "crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import * as ts from "typescript";

/** What the CLI tests run from the repository: the program's, the packs' and the stand-ins' sources. */
export const BUILD_SOURCES = [
    "index.ts",
    "components",
    "config",
    "lib",
    "policy",
    "policy-awsguard",
    "tools/harness",
    "tools/cli/providers",
];

/** The repository-relative .ts files under `sources`, sorted (no declaration files, no node_modules). */
export function sourceFiles(root: string, sources: readonly string[] = BUILD_SOURCES): string[] {
    const files: string[] = [];
    const walk = (rel: string) => {
        const abs = path.join(root, rel);
        if (!existsSync(abs)) return;
        if (rel.endsWith(".ts")) {
            if (!rel.endsWith(".d.ts")) files.push(rel);
            return;
        }
        for (const entry of readdirSync(abs, { withFileTypes: true })) {
            if (entry.name === "node_modules") continue;
            if (entry.isDirectory() || entry.name.endsWith(".ts")) walk(path.join(rel, entry.name));
        }
    };
    for (const s of sources) walk(s);
    return files.sort();
}

function compilerOptions(root: string): ts.CompilerOptions {
    const file = path.join(root, "tsconfig.json");
    const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
    if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, "\n"));
    const { options, errors } = ts.convertCompilerOptionsFromJson(config.compilerOptions ?? {}, root);
    if (errors.length) throw new Error(ts.flattenDiagnosticMessageText(errors[0].messageText, "\n"));
    // No source maps: @pulumi/pulumi takes a stack trace of every promise it makes, and source-map
    // support would map each frame; the transpiled JavaScript keeps the lines readable as they are.
    return { ...options, outDir: undefined, sourceMap: false, inlineSourceMap: false };
}

export interface Build {
    /** The directory holding <file>.js for every <file>.ts, at the same relative paths. */
    dir: string;
    files: string[];
    /** Whether this run transpiled (false: the build was already in place). */
    transpiled: boolean;
    ms: number;
}

/** Transpiles the sources into .tools/cli-build/<hash> unless that build exists; returns it. */
export function ensureBuild(root: string): Build {
    const started = Date.now();
    const files = sourceFiles(root);
    const options = compilerOptions(root);
    const hash = createHash("sha256").update(ts.version).update(JSON.stringify(options));
    for (const f of files)
        hash.update(f)
            .update("\0")
            .update(readFileSync(path.join(root, f)))
            .update("\0");
    const base = path.join(root, ".tools", "cli-build");
    const dir = path.join(base, hash.digest("hex").slice(0, 16));
    if (existsSync(path.join(dir, ".complete"))) return { dir, files, transpiled: false, ms: Date.now() - started };
    // Older builds are of sources that changed: remove them, then write this one beside them and
    // rename it into place, so a concurrent run never sees half a build.
    if (existsSync(base))
        for (const old of readdirSync(base)) rmSync(path.join(base, old), { recursive: true, force: true });
    const tmp = `${dir}.tmp-${process.pid}`;
    for (const f of files) {
        const out = ts.transpileModule(readFileSync(path.join(root, f), "utf8"), {
            compilerOptions: options,
            fileName: path.join(root, f),
            reportDiagnostics: false,
        });
        const target = path.join(tmp, f.replace(/\.ts$/, ".js"));
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, out.outputText);
    }
    writeFileSync(path.join(tmp, ".complete"), `${files.length} files\n`);
    try {
        renameSync(tmp, dir);
    } catch (err) {
        // Another run built the same sources first: use its build.
        rmSync(tmp, { recursive: true, force: true });
        if (!existsSync(path.join(dir, ".complete"))) throw err;
    }
    return { dir, files, transpiled: true, ms: Date.now() - started };
}
