// Values that only AWS can know. Under the mock runtime every id, ARN, endpoint and random value is a
// stand-in made up by tools/harness/mocks.ts; the plan shows each as what it is: known after apply.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "util";
import type { CapturedResource } from "../harness/mocks";
import { MOCK_ACCOUNT } from "../harness/mocks";

/** Shown for a value AWS assigns on apply (the whole value). */
export function unknownToken(label: string): string {
    return `<known after apply: ${label}>`;
}

/** Shown for such a value inside a longer string, e.g. an ARN inside a policy document. */
export function embeddedToken(label: string): string {
    return `<${label}>`;
}

export const ACCOUNT_TOKEN = "<account>";

/** Shown instead of a secret value, as `pulumi preview` does. */
export const SECRET_TOKEN = "[secret]";

/** A copy of inputs with every secret value (the engine's wire form) replaced by [secret]. */
export function redactSecrets<T>(value: T): T {
    const walk = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === "object") {
            const record = v as Record<string, unknown>;
            if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return SECRET_TOKEN;
            return Object.fromEntries(Object.entries(record).map(([k, x]) => [k, walk(x)]));
        }
        return v;
    };
    return walk(value) as T;
}

/** Never worth a token: values that stand for themselves. */
const IGNORED_STATE = new Set(["tags", "tagsAll"]);

/**
 * Recognises the mock runtime's computed values (a resource's id, and every output the mock added
 * that the program did not give as an input) and replaces them by tokens naming the resource and the
 * attribute, so that the plan never passes a made-up value off as real.
 */
export class Unknowns {
    private readonly exact = new Map<string, string>();
    private readonly embedded: [string, string][] = [];

    constructor(resources: readonly CapturedResource[]) {
        for (const r of resources) {
            if (r.id !== undefined) this.add(r.id, `${r.name}.id`, true);
            for (const [key, value] of Object.entries(r.state)) {
                if (IGNORED_STATE.has(key) || (key in r.inputs && isDeepStrictEqual(r.inputs[key], value))) continue;
                this.addValue(value, `${r.name}.${key}`, r.type.startsWith("random:"));
            }
        }
        // Longest first, so that an ARN is replaced before the id it may contain.
        this.embedded.sort((a, b) => b[0].length - a[0].length);
    }

    private addValue(value: unknown, label: string, random: boolean): void {
        if (typeof value === "string") {
            // Distinctive values (ARNs, ids, generated names and hosts, random strings) are also
            // recognised inside other strings, e.g. a generated cluster name inside an ARN pattern.
            this.add(value, label, random || value.startsWith("arn:") || value.endsWith("-id") || value.length >= 12);
        } else if (Array.isArray(value)) {
            value.forEach((v, i) => this.addValue(v, `${label}[${i}]`, random));
        } else if (value && typeof value === "object") {
            for (const [k, v] of Object.entries(value)) this.addValue(v, `${label}.${k}`, random);
        }
    }

    private add(value: string, label: string, embeddable: boolean): void {
        if (value.length < 6 || this.exact.has(value)) return;
        this.exact.set(value, label);
        if (embeddable) this.embedded.push([value, label]);
    }

    /** The resource attribute a whole value stands for, e.g. "airflow-dev-vpc.id". */
    labelOf(value: unknown): string | undefined {
        return typeof value === "string" ? this.exact.get(value) : undefined;
    }

    /** The resource a whole value is an attribute of (its name), if it is one. */
    resourceOf(value: unknown): string | undefined {
        const label = this.labelOf(value);
        return label?.slice(0, label.indexOf("."));
    }

    /** A copy of `value` with every made-up value replaced by its token. */
    substitute<T>(value: T): T {
        return this.walk(value) as T;
    }

    /** One string with its made-up parts replaced. */
    text(value: string): string {
        const label = this.exact.get(value);
        if (label) return unknownToken(label);
        // One pass, longest match first, so that a replacement is never scanned again (the name in
        // "<airflow-dev-logs.arn>" must not be replaced in turn).
        let out = "";
        let i = 0;
        scan: while (i < value.length) {
            for (const [token, name] of this.embedded) {
                if (value.startsWith(token, i)) {
                    out += embeddedToken(name);
                    i += token.length;
                    continue scan;
                }
            }
            out += value[i++];
        }
        return out.split(MOCK_ACCOUNT).join(ACCOUNT_TOKEN);
    }

    private walk(value: unknown): unknown {
        if (typeof value === "string") return this.text(value);
        if (Array.isArray(value)) return value.map((v) => this.walk(v));
        if (value && typeof value === "object") {
            return Object.fromEntries(
                Object.entries(value).map(([k, v]) => [k, IGNORED_STATE.has(k) ? v : this.walk(v)]),
            );
        }
        return value;
    }
}
