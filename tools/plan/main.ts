// npm run plan -- <stack> [<other stack>] [--json[=<file>]] [--config <key>=<value> ...]
//
// The offline plan: runs the program for a committed stack file under Pulumi's mock runtime (no AWS
// account, no Pulumi CLI) and prints the resources as a tree with their key inputs, a count by type,
// the stack outputs and the policy pack's verdict. With two stacks it prints their difference.
// Exit status: 0 when every policy passes, 2 when a mandatory policy is violated, 1 on any error
// (invalid configuration included, whose errors it prints).
import { existsSync, writeFileSync } from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ProgramRun, ROOT, runProgram } from "../harness/program";
import { CostEstimate, estimateCost } from "./cost";
import { diffCost, renderCost, renderCostDiff } from "./cost-render";
import { diffPlans, normaliser, renderDiff } from "./diff";
import { buildPlan, failingViolations, Plan, PLAN_FORMAT_VERSION } from "./plan";
import { renderPlan } from "./render";

export const USAGE = `usage: npm run plan -- <stack> [<other stack>] [--json[=<file>]] [--config <key>=<value>]...

  <stack>                   a stack with a committed Pulumi.<stack>.yaml (dev, staging, prod)
  <stack> <other stack>     the difference between two stacks' plans
  --json                    also write the plan as JSON to plan-<stack>.json (plan-<a>-<b>.json for a difference)
  --json=<file>             ... to <file>; --json=- writes the JSON to standard output instead of the text
  --config <key>=<value>    override one config value (e.g. airflow:azCount=3) for this plan only

Exit status: 0 when every policy passes, 2 when a mandatory policy is violated, 1 on an error.`;

export interface Io {
    out(text: string): void;
    err(text: string): void;
}

const stdio: Io = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
};

interface Options {
    stacks: string[];
    json?: string;
    overrides: Record<string, unknown>;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Options {
    const options: Options = { stacks: [], overrides: {} };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") options.json = "";
        else if (arg.startsWith("--json=")) options.json = arg.slice("--json=".length);
        else if (arg === "--config" || arg === "-c" || arg.startsWith("--config=")) {
            const setting = arg.startsWith("--config=") ? arg.slice("--config=".length) : argv[++i];
            const eq = setting?.indexOf("=") ?? -1;
            if (!setting || eq <= 0) throw new UsageError(`--config takes <key>=<value>, got ${setting ?? "nothing"}`);
            const name = setting.slice(0, eq);
            options.overrides[name.includes(":") ? name : `airflow:${name}`] = parse(setting.slice(eq + 1));
        } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        else options.stacks.push(arg);
    }
    if (options.stacks.length < 1 || options.stacks.length > 2) {
        throw new UsageError(`expected one stack, or two to compare; got ${options.stacks.length}`);
    }
    return options;
}

/** Runs the program for a stack under the mock runtime (the tests pass one that reuses their runs). */
export type Runner = (stack: string, overrides: Record<string, unknown>) => Promise<ProgramRun>;

/** A plan with its cost estimate (tools/plan/cost.ts): the JSON's top-level `cost`. */
export type CostedPlan = Plan & { readonly cost: CostEstimate };

async function planOf(stack: string, overrides: Record<string, unknown>, run: Runner): Promise<CostedPlan> {
    if (!existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))) {
        throw new UsageError(`there is no stack file Pulumi.${stack}.yaml in ${ROOT}`);
    }
    const programRun = await run(stack, overrides);
    return { ...(await buildPlan(programRun)), cost: estimateCost(programRun.resources, programRun.config) };
}

/** Runs the command; returns the exit status. */
export async function main(
    argv: readonly string[],
    io: Io = stdio,
    cwd = process.cwd(),
    run: Runner = runProgram,
): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        io.out(`${USAGE}\n`);
        return 0;
    }
    let options: Options;
    try {
        options = parseArgs(argv);
    } catch (err) {
        io.err(`error: ${(err as Error).message}\n\n${USAGE}\n`);
        return 1;
    }
    try {
        const plans: CostedPlan[] = [];
        for (const stack of options.stacks) plans.push(await planOf(stack, options.overrides, run));
        const [left, right] = plans;
        const diff = right ? diffPlans(left, right) : undefined;
        const cost = right ? diffCost(left, right, normaliser(left), normaliser(right)) : undefined;
        const text = `${diff ? renderDiff(diff) : renderPlan(left)}\n${(cost ? renderCostDiff(cost) : renderCost(left.cost)).join("\n")}\n`;
        const json = diff ? { formatVersion: PLAN_FORMAT_VERSION, diff, cost, plans } : left;
        if (options.json === "-") {
            io.out(`${JSON.stringify(json, null, 2)}\n`);
        } else {
            io.out(text);
            if (options.json !== undefined) {
                const file = path.resolve(cwd, options.json || `plan-${options.stacks.join("-")}.json`);
                writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
                io.out(`\nWrote ${path.relative(cwd, file) || file}\n`);
            }
        }
        return plans.some((p) => failingViolations(p).length > 0) ? 2 : 0;
    } catch (err) {
        // A ConfigError's message lists every invalid value; other errors carry theirs.
        io.err(`error: ${(err as Error).message}\n`);
        return 1;
    }
}

/**
 * Exits with `code` once standard output and standard error have drained. `process.exit` right after
 * a large write to a pipe loses what the pipe has not taken yet (writes to pipes are asynchronous):
 * `--json=- | wc -c` saw exactly 65,536 bytes, one pipe buffer. A write's callback runs after it and
 * every earlier write have been handed to the operating system.
 */
export function exitWhenFlushed(code: number): void {
    let pending = 2;
    const done = () => {
        if (--pending === 0) process.exit(code);
    };
    process.stdout.write("", done);
    process.stderr.write("", done);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(exitWhenFlushed, (err) => {
        console.error(err);
        exitWhenFlushed(1);
    });
}
