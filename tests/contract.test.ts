import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import { ROOT, runStack, STACKS } from "./harness/program";

/** The keys a Variable must have, as the DAGs' reader (dags/airflow_on_aws/variables.py) lists them. */
function dagContract(tupleName: string): string[] {
    const source = readFileSync(path.join(ROOT, "dags", "airflow_on_aws", "variables.py"), "utf8");
    const match = new RegExp(`^${tupleName} = \\(([^)]*)\\)`, "m").exec(source);
    if (!match) throw new Error(`dags/airflow_on_aws/variables.py defines no ${tupleName}`);
    return [...match[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]).sort();
}

describe("the Variables contract between the program and the DAGs", () => {
    const variables: [string, string, string][] = [
        ["ml_training", "ML_TRAINING_KEYS", "ml-training-variable"],
        ["fargate_jobs", "FARGATE_JOBS_KEYS", "fargate-jobs-variable"],
    ];
    for (const stack of STACKS) {
        for (const [variable, tuple] of variables) {
            it(`publishes ${variable} on ${stack} with exactly the keys the DAGs read`, async () => {
                const run = await runStack(stack);
                const secret = run
                    .ofType("aws:secretsmanager/secret:Secret")
                    .find((s) => s.inputs.name === `airflow/${stack}/variables/${variable}`);
                expect(secret, `no secret airflow/${stack}/variables/${variable}`).to.not.equal(undefined);
                const version = run.get("aws:secretsmanager/secretVersion:SecretVersion", `${secret!.name}-value`);
                const published = Object.keys(JSON.parse(version.inputs.secretString)).sort();
                expect(published).to.deep.equal(dagContract(tuple));
            });
        }
    }
});
