import { KeyMap, KeySpec, shown } from "./spec";

/**
 * What `airflow:production: true` implies, checked once for every key that declares a
 * `productionDefault` (config/spec.ts): a production stack that sets such a key against the rule is
 * rejected, and the message names both keys. The defaults themselves come from the same field
 * (`defaultOf`), so a production stack that leaves the keys out complies.
 */
export function productionKeyRules(
    keys: KeyMap,
    values: Readonly<Record<string, unknown>>,
    given: (name: string) => unknown,
): string[] {
    if (values.production !== true) return [];
    const errors: string[] = [];
    for (const [name, spec] of Object.entries(keys) as [string, KeySpec<unknown>][]) {
        const rule = spec.productionDefault;
        if (!rule || given(name) === undefined) continue;
        if (!rule.holds(values[name])) {
            errors.push(
                `airflow:${name} must be ${rule.requirement} when airflow:production is true (${rule.reason}), got ${shown(values[name])}`,
            );
        }
    }
    return errors;
}

/**
 * HTTPS rules of the load balancer (celery layout): production serves the UI over HTTPS only, and no
 * stack exposes plain HTTP to the internet without saying so with airflow:publicPlainHttp.
 */
export function httpsRules(v: {
    layout: string;
    production: boolean;
    domainName: string;
    hostedZoneId: string;
    certificateArn: string;
    publicPlainHttp: boolean;
    webAccess: string;
}): string[] {
    const errors: string[] = [];
    const https = v.domainName !== "" || v.certificateArn !== "";
    if (v.hostedZoneId !== "" && v.domainName === "") {
        errors.push(
            `airflow:hostedZoneId must be empty when airflow:domainName is empty (the zone only holds the domain's records), got ${shown(v.hostedZoneId)}`,
        );
    }
    if (v.production && v.publicPlainHttp) {
        errors.push(
            `airflow:publicPlainHttp must be false when airflow:production is true (production serves the UI over HTTPS only), got true`,
        );
    }
    if (v.layout !== "celery") return errors;
    if (v.production && !https) {
        errors.push(
            `airflow:domainName or airflow:certificateArn must be set when airflow:production is true and airflow:layout is "celery" (production serves the UI over HTTPS only), got neither`,
        );
    }
    if (!v.production && !https && !v.publicPlainHttp && v.webAccess === "public") {
        errors.push(
            `airflow:webAccess must be "internal" when neither airflow:domainName nor airflow:certificateArn is set (the UI would take logins in clear text from the internet; set airflow:publicPlainHttp: true to accept that), got "public"`,
        );
    }
    return errors;
}
