import { expect } from "chai";
import { ConfigError, loadConfig, parseConfig } from "../config";
import { useStack } from "./harness/program";
import { configErrors, itRejectsEach } from "./harness/config";

/** A production celery stack with nothing but what it must say: its region, production and a domain. */
const PRODUCTION_CELERY = {
    "aws:region": "us-east-1",
    "airflow:layout": "celery",
    "airflow:production": true,
    "airflow:domainName": "airflow.example.com",
};
const parseErrors = (config: Record<string, unknown>): readonly string[] => {
    try {
        parseConfig({ project: "airflow", stack: "prod1", config });
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.errors;
        throw err;
    }
};

describe("what airflow:production implies", () => {
    describe("a production stack that contradicts it is rejected, naming both keys", () => {
        itRejectsEach(
            [
                [
                    "production with protectData false",
                    { "airflow:protectData": false },
                    "airflow:protectData must be true when airflow:production is true (a production stack's data survives replace and destroy), got false",
                ],
                [
                    "production with a single-AZ database",
                    { "airflow:dbMultiAz": false },
                    "airflow:dbMultiAz must be true when airflow:production is true (a production database survives the loss of an availability zone), got false",
                ],
                [
                    "production without deletion protection",
                    { "airflow:dbDeletionProtection": false },
                    "airflow:dbDeletionProtection must be true when airflow:production is true (a production database cannot be deleted by a stray destroy), got false",
                ],
                [
                    "production with 3 days of backups",
                    { "airflow:dbBackupRetentionDays": 3 },
                    "airflow:dbBackupRetentionDays must be at least 7 when airflow:production is true (a production database can be restored to any point of the last week), got 3",
                ],
                [
                    "production with a single-node broker",
                    { "airflow:brokerNodes": 1 },
                    "airflow:brokerNodes must be at least 2 when airflow:production is true (a production broker has a replica and fails over automatically), got 1",
                ],
                [
                    "production with one scheduler",
                    { "airflow:schedulerCount": 1 },
                    "airflow:schedulerCount must be at least 2 when airflow:production is true (a production scheduler keeps scheduling when one task stops), got 1",
                ],
                [
                    "production with the public plain-HTTP opt-in",
                    { "airflow:publicPlainHttp": true },
                    "airflow:publicPlainHttp must be false when airflow:production is true (production serves the UI over HTTPS only), got true",
                ],
                [
                    "production on celery with neither a domain nor a certificate",
                    { "airflow:layout": "celery", "airflow:domainName": "", "airflow:hostedZoneId": "" },
                    'airflow:domainName or airflow:certificateArn must be set when airflow:production is true and airflow:layout is "celery" (production serves the UI over HTTPS only), got neither',
                ],
            ],
            "prod",
        );

        it("reports every contradiction at once", () => {
            expect(
                parseErrors({
                    ...PRODUCTION_CELERY,
                    "airflow:domainName": "",
                    "airflow:protectData": false,
                    "airflow:dbMultiAz": false,
                    "airflow:schedulerCount": 1,
                }).map((e) => e.split(" ")[0]),
            ).to.deep.equal([
                "airflow:protectData",
                "airflow:dbMultiAz",
                "airflow:schedulerCount",
                "airflow:domainName",
            ]);
        });
    });

    it("gives a production stack every production default without extra keys", () => {
        const config = parseConfig({ project: "airflow", stack: "prod1", config: PRODUCTION_CELERY });
        expect(config.storage.protectData).to.equal(true);
        expect(config.storage.database.multiAz).to.equal(true);
        expect(config.storage.database.deletionProtection).to.equal(true);
        expect(config.storage.database.backupRetentionDays).to.be.at.least(7);
        expect(config.storage.broker.nodes).to.equal(2);
        expect(config.celery.schedulerCount).to.equal(2);
        expect(config.celery.webAccess).to.equal("public");
        expect(config.celery.domain).to.deep.equal({ name: "airflow.example.com", hostedZoneId: undefined });
    });

    it("leaves a non-production stack the plain defaults", () => {
        const config = parseConfig({ project: "airflow", stack: "dev1", config: { "aws:region": "us-east-1" } });
        expect(config.storage.protectData).to.equal(false);
        expect(config.storage.database.multiAz).to.equal(false);
        expect(config.storage.broker.nodes).to.equal(1);
        expect(config.celery.schedulerCount).to.equal(1);
    });

    it("switches prod to celery with Multi-AZ, deletion protection, two schedulers and HTTPS from one key", () => {
        useStack("prod", { "airflow:layout": "celery" });
        const config = loadConfig();
        expect(config.storage.database.multiAz).to.equal(true);
        expect(config.storage.database.deletionProtection).to.equal(true);
        expect(config.celery.schedulerCount).to.equal(2);
        expect(config.storage.broker.nodes).to.equal(2);
        expect(config.celery.domain?.name).to.equal("airflow.data-platform.example.com");
        expect(config.celery.webAccess).to.equal("public");
    });
});

describe("the load balancer's reach without HTTPS", () => {
    it("is internal on a stack with neither a domain nor a certificate", () => {
        useStack("dev");
        expect(loadConfig().celery.webAccess).to.equal("internal");
    });

    it("is public with the explicit plain-HTTP opt-in", () => {
        useStack("dev", { "airflow:publicPlainHttp": true });
        expect(loadConfig().celery.webAccess).to.equal("public");
    });

    itRejectsEach([
        [
            "a public load balancer without HTTPS or the opt-in",
            { "airflow:webAccess": "public" },
            'airflow:webAccess must be "internal" when neither airflow:domainName nor airflow:certificateArn is set (the UI would take logins in clear text from the internet; set airflow:publicPlainHttp: true to accept that), got "public"',
        ],
        [
            "a hosted zone without a domain",
            { "airflow:hostedZoneId": "Z0123456789ABCDEFGHIJ" },
            'airflow:hostedZoneId must be empty when airflow:domainName is empty (the zone only holds the domain\'s records), got "Z0123456789ABCDEFGHIJ"',
        ],
        [
            "a domain name with capitals",
            { "airflow:domainName": "Airflow.Example.com" },
            'airflow:domainName must be empty or a DNS name such as airflow.example.com (lowercase letters, digits, hyphens and dots), got "Airflow.Example.com"',
        ],
    ]);

    it("accepts a public load balancer with a domain", () => {
        expect(
            configErrors("dev", { "airflow:webAccess": "public", "airflow:domainName": "a.example.com" }),
        ).to.deep.equal([]);
    });
});
