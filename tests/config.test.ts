import { expect } from "chai";
import { ConfigError, loadConfig } from "../config";
import { SUPPORTED_AIRFLOW_VERSIONS } from "../config/versions";
import { useStack } from "./harness/program";
import { configErrors } from "./harness/config";

describe("config loader", () => {
    const badConfigs: [string, string, Record<string, unknown>, string][] = [
        [
            "dev",
            "an unknown layout",
            { "airflow:layout": "k8s" },
            'airflow:layout must be "celery" or "mwaa", got "k8s"',
        ],
        [
            "dev",
            "an Airflow version no layout runs",
            { "airflow:airflowVersion": "1.10.12" },
            `airflow:airflowVersion must be one of ${SUPPORTED_AIRFLOW_VERSIONS.map((v) => `"${v}"`).join(", ")}, got "1.10.12"`,
        ],
        [
            "dev",
            "a version that was never released",
            { "airflow:airflowVersion": "3.3.9" },
            `airflow:airflowVersion must be one of ${SUPPORTED_AIRFLOW_VERSIONS.map((v) => `"${v}"`).join(", ")}, got "3.3.9"`,
        ],
        ["dev", "an AZ count of 1", { "airflow:azCount": 1 }, "airflow:azCount must be 2 or 3, got 1"],
        [
            "dev",
            "an AZ count that is not a number",
            { "airflow:azCount": "two" },
            'airflow:azCount must be 2 or 3, got "two"',
        ],
        [
            "dev",
            "an unknown NAT strategy",
            { "airflow:natStrategy": "shared" },
            'airflow:natStrategy must be one of "single", "perAz", "none", got "shared"',
        ],
        [
            "dev",
            "a public VPC range",
            { "airflow:vpcCidr": "8.8.0.0/16" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "8.8.0.0/16"',
        ],
        [
            "dev",
            "a VPC too small for the subnet plan",
            { "airflow:vpcCidr": "10.0.0.0/24" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "10.0.0.0/24"',
        ],
        [
            "dev",
            "a VPC CIDR with host bits",
            { "airflow:vpcCidr": "10.0.0.1/16" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "10.0.0.1/16"',
        ],
        [
            "dev",
            "an unknown interface endpoint",
            { "airflow:interfaceEndpoints": ["ecr.api", "s3"] },
            'airflow:interfaceEndpoints must be a list without repeats of one of "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms", got ["ecr.api","s3"]',
        ],
        [
            "dev",
            "a repeated interface endpoint",
            { "airflow:interfaceEndpoints": ["logs", "logs"] },
            'airflow:interfaceEndpoints must be a list without repeats of one of "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms", got ["logs","logs"]',
        ],
        [
            "dev",
            "a flow log retention CloudWatch does not offer",
            { "airflow:flowLogsRetentionDays": 10 },
            "airflow:flowLogsRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 10",
        ],
        [
            "dev",
            "an allow-list entry that is not a CIDR",
            { "airflow:webAllowedCidrs": ["203.0.113.7"] },
            'airflow:webAllowedCidrs must be a non-empty list of IPv4 or IPv6 CIDR blocks written with their network address, got ["203.0.113.7"]',
        ],
        [
            "dev",
            "an empty allow-list",
            { "airflow:webAllowedCidrs": [] },
            "airflow:webAllowedCidrs must be a non-empty list of IPv4 or IPv6 CIDR blocks written with their network address, got []",
        ],
        [
            "dev",
            "an environment name with capitals",
            { "airflow:environment": "Dev" },
            'airflow:environment must be 2 to 16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen, got "Dev"',
        ],
        [
            "dev",
            "a production flag that is not a boolean",
            { "airflow:production": "yes" },
            'airflow:production must be true or false, got "yes"',
        ],
        [
            "dev",
            "a tag in the reserved aws: namespace",
            { "airflow:tags": { "aws:owner": "me" } },
            'airflow:tags must be a map of tag names (1 to 128 characters, not starting with "aws:") to string values of up to 256 characters, got {"aws:owner":"me"}',
        ],
        [
            "dev",
            "a misspelt key",
            { "airflow:natStrategyy": "single" },
            "airflow:natStrategyy is not a configuration key of this project (known keys are listed in README.md and Pulumi.yaml)",
        ],
        [
            "dev",
            "no NAT gateway without the endpoints the Celery layout needs",
            { "airflow:natStrategy": "none", "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr"] },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "secretsmanager" when airflow:natStrategy is "none" and airflow:layout is "celery" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr"], missing "logs", "secretsmanager"',
        ],
        [
            "prod",
            "no NAT gateway without the endpoints MWAA needs",
            { "airflow:natStrategy": "none", "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs"] },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "monitoring", "sqs", "kms" when airflow:natStrategy is "none" and airflow:layout is "mwaa" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr","logs"], missing "monitoring", "sqs", "kms"',
        ],
    ];

    for (const [stack, what, overrides, message] of badConfigs) {
        it(`rejects ${what} with its exact message`, () => {
            expect(configErrors(stack, overrides)).to.deep.equal([message]);
        });
    }

    it("reports every invalid value at once, not just the first", () => {
        const errors = configErrors("dev", {
            "airflow:layout": "k8s",
            "airflow:azCount": 5,
            "airflow:natStrategy": "shared",
            "airflow:unknownThing": "x",
        });
        expect(errors).to.deep.equal([
            "airflow:unknownThing is not a configuration key of this project (known keys are listed in README.md and Pulumi.yaml)",
            'airflow:layout must be "celery" or "mwaa", got "k8s"',
            "airflow:azCount must be 2 or 3, got 5",
            'airflow:natStrategy must be one of "single", "perAz", "none", got "shared"',
        ]);
    });

    it("skips a cross-key rule whose keys are already reported invalid", () => {
        const errors = configErrors("dev", { "airflow:layout": "k8s", "airflow:natStrategy": "none" });
        expect(errors).to.deep.equal(['airflow:layout must be "celery" or "mwaa", got "k8s"']);
    });

    it("throws one ConfigError whose message lists each error on its own line", () => {
        useStack("dev", { "airflow:layout": "k8s", "airflow:azCount": 7 });
        expect(() => loadConfig()).to.throw(
            ConfigError,
            'Invalid configuration for stack "dev" (2 errors):\n' +
                '  - airflow:layout must be "celery" or "mwaa", got "k8s"\n' +
                "  - airflow:azCount must be 2 or 3, got 7",
        );
    });

    it("accepts no NAT gateway when the layout's required endpoints are all there", () => {
        expect(
            configErrors("dev", {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs", "secretsmanager"],
            }),
        ).to.deep.equal([]);
    });

    it("fills every unset key from its default and derives the environment from the stack name", () => {
        useStack("staging", { "airflow:environment": undefined, "airflow:interfaceEndpoints": undefined });
        const config = loadConfig();
        expect(config.environment).to.equal("staging");
        expect(config.network.interfaceEndpoints).to.deep.equal([]);
        expect(config.network.cidr).to.equal("10.40.0.0/16");
        expect(config.network.webAllowedCidrs).to.deep.equal(["0.0.0.0/0"]);
    });

    it("returns a deeply frozen object with the standard tags merged over the user's", () => {
        useStack("dev");
        const config = loadConfig();
        expect(Object.isFrozen(config)).to.equal(true);
        expect(Object.isFrozen(config.network)).to.equal(true);
        expect(Object.isFrozen(config.network.webAllowedCidrs)).to.equal(true);
        expect(Object.isFrozen(config.tags)).to.equal(true);
        expect(config.tags).to.deep.equal({
            CostCenter: "data-platform",
            Project: "airflow",
            Environment: "dev",
            Production: "false",
            ManagedBy: "pulumi",
        });
    });

    it("lets a Celery stack run a released Airflow that MWAA does not, and an MWAA stack only MWAA's", () => {
        useStack("staging", { "airflow:airflowVersion": "3.3.2" });
        expect(loadConfig().airflowVersion).to.equal("3.3.2");
        useStack("prod", { "airflow:airflowVersion": "3.2.1" });
        expect(loadConfig().airflowVersion).to.equal("3.2.1");
        useStack("prod", { "airflow:airflowVersion": "3.3.2" });
        expect(() => loadConfig()).to.throw(ConfigError, "(the versions Amazon MWAA runs)");
    });

    it("derives the Airflow major version from the version", () => {
        useStack("dev", { "airflow:airflowVersion": "2.10.3" });
        expect(loadConfig().airflowMajor).to.equal(2);
        useStack("dev");
        expect(loadConfig().airflowMajor).to.equal(3);
    });
});
