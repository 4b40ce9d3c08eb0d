import { expect } from "chai";
import { publishVariable, SECRETS_BACKEND, secretsBackendKwargs } from "../lib/airflow";
import { Resource } from "./harness/fixtures";
import { runWith } from "./harness/program";

describe("Airflow settings shared by both layouts", () => {
    it("points the Secrets Manager backend at the environment's connections and variables prefixes", () => {
        expect(SECRETS_BACKEND).to.equal("airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend");
        expect(JSON.parse(secretsBackendKwargs("staging"))).to.deep.equal({
            connections_prefix: "airflow/staging/connections",
            variables_prefix: "airflow/staging/variables",
        });
    });

    it("publishes an Airflow Variable as JSON in the secret the backend reads", async () => {
        const run = await runWith("dev", {}, () => {
            const parent = new Resource("owner", {});
            const v = publishVariable(
                "owner-var",
                "ml_training",
                { bucket: "b", instance_count: 1 },
                { environment: "dev", secretRecoveryWindowDays: 0, description: "ML settings" },
                parent,
            );
            return { arn: v.arn, secretName: v.secretName };
        });
        const secret = run.get("aws:secretsmanager/secret:Secret", "owner-var");
        expect(secret.inputs).to.include({ name: "airflow/dev/variables/ml_training", recoveryWindowInDays: 0 });
        expect(secret.parentUrn).to.equal(run.get("test:index:Probe", "owner").urn);
        const value = run.get("aws:secretsmanager/secretVersion:SecretVersion", "owner-var-value");
        expect(JSON.parse(value.inputs.secretString)).to.deep.equal({ bucket: "b", instance_count: 1 });
        expect(run.outputs.secretName).to.equal("airflow/dev/variables/ml_training");
    });
});
