import * as ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * One stack configuration key: its type as Pulumi.yaml declares it, its default, its description,
 * what values it allows (in words, for error messages) and the zod schema that checks it.
 *
 * Every key the program reads is declared exactly once, with one of these. The tests check that
 * Pulumi.yaml and README.md declare the same keys with the same defaults.
 */
export interface KeySpec<T> {
    /** The type Pulumi.yaml declares. `object` keys cannot be typed there and are only documented. */
    readonly type: "string" | "integer" | "boolean" | "array" | "object";
    readonly description: string;
    /** The default, or `undefined` when it is derived from something else (see `defaultText`). */
    readonly default: T | undefined;
    /** How a derived default is described, e.g. "the stack name". */
    readonly defaultText?: string;
    /** Computes a derived default when the key is not set, from the stack being configured. */
    readonly deriveDefault?: (context: DefaultContext) => T;
    /**
     * What `airflow:production: true` implies for this key: the default on a production stack, and
     * the rule a production stack must keep when it sets the key (config/production.ts checks it).
     * Pulumi.yaml then declares no default, so that the engine does not set the key on every stack.
     */
    readonly productionDefault?: ProductionDefault<T>;
    /** What the key allows, phrased to follow "<key> must be", e.g. `"celery" or "mwaa"`. */
    readonly allowed: string;
    readonly schema: z.ZodType<T>;
}

/** What a derived default may read: the stack's name, whether it is production, and the keys as given. */
export interface DefaultContext {
    readonly stack: string;
    readonly production: boolean;
    /** A key's value as the stack gives it (without the namespace), undefined when not set. */
    readonly given: (name: string) => unknown;
}

export interface ProductionDefault<T> {
    /** The default when `airflow:production` is true. */
    readonly value: T;
    /** Whether a value a production stack sets keeps the rule. */
    holds(value: T): boolean;
    /** The rule, phrased to follow "<key> must be", e.g. `true` or `at least 2`. */
    readonly requirement: string;
    /** Why production needs it, in a few words. */
    readonly reason: string;
}

/** A key's default on a stack: the production default on production stacks, else the declared or derived one. */
export function defaultOf<T>(spec: KeySpec<T>, context: DefaultContext): T | undefined {
    if (context.production && spec.productionDefault) return spec.productionDefault.value;
    return spec.default ?? spec.deriveDefault?.(context);
}

export type KeyMap = Readonly<Record<string, KeySpec<unknown>>>;

/** The validated value of every key of a map, by key. */
export type ValuesOf<K extends KeyMap> = { readonly [P in keyof K]: K[P] extends KeySpec<infer T> ? T : never };

/**
 * A check across keys: returns one message per violation, each naming the keys and values involved.
 * It only runs when every key it reads passed its own check.
 */
export type Rule<V> = (values: V) => string[];

export function key<T>(spec: KeySpec<T>): KeySpec<T> {
    return spec;
}

/** `"a" or "b"`, or `one of "a", "b", "c"`. */
export function choiceText(values: readonly (string | number)[]): string {
    const quoted = values.map((v) => JSON.stringify(v));
    if (quoted.length === 1) return quoted[0];
    if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
    return `one of ${quoted.join(", ")}`;
}

/** How a rejected value is shown after "got". */
export function shown(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

export function enumKey<const V extends readonly [string, ...string[]]>(
    values: V,
    def: V[number] | undefined,
    description: string,
    defaultText?: string,
): KeySpec<V[number]> {
    return key({
        type: "string",
        description,
        default: def,
        defaultText,
        allowed: choiceText(values),
        schema: z.enum(values),
    });
}

export function intKey(min: number, max: number, def: number, description: string): KeySpec<number> {
    return key({
        type: "integer",
        description,
        default: def,
        allowed: max - min === 1 ? `${min} or ${max}` : `a whole number from ${min} to ${max}`,
        schema: z.number().int().min(min).max(max),
    });
}

export function intChoiceKey(values: readonly number[], def: number, description: string): KeySpec<number> {
    return key({
        type: "integer",
        description,
        default: def,
        allowed: choiceText(values),
        schema: z
            .number()
            .int()
            .refine((n) => values.includes(n)),
    });
}

export function boolKey(def: boolean, description: string): KeySpec<boolean> {
    return key({ type: "boolean", description, default: def, allowed: "true or false", schema: z.boolean() });
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export function isCidr(value: string, family?: "ipv4" | "ipv6"): boolean {
    if (!ipaddr.isValidCIDR(value)) return false;
    const [addr, bits] = ipaddr.parseCIDR(value);
    if (family && addr.kind() !== family) return false;
    // Reject host bits: "10.0.0.1/16" is almost always a typo for "10.0.0.0/16".
    const network = ipaddr.fromByteArray(
        addr.toByteArray().map((byte, i) => {
            const keep = Math.max(0, Math.min(8, bits - i * 8));
            return byte & (0xff << (8 - keep)) & 0xff;
        }),
    );
    return network.toString() === addr.toString();
}

/** The part of a private IPv4 range (RFC 1918) a VPC may use. */
export function isPrivateIpv4Cidr(value: string): boolean {
    if (!isCidr(value, "ipv4")) return false;
    const [addr, bits] = ipaddr.parseCIDR(value);
    return (addr as ipaddr.IPv4).range() === "private" && bits >= 8;
}

/** A key with what production implies for it; its default text says both defaults. */
export function productionKey<T>(spec: KeySpec<T>, rule: ProductionDefault<T>): KeySpec<T> {
    return {
        ...spec,
        defaultText: `${JSON.stringify(spec.default)}; ${JSON.stringify(rule.value)} when airflow:production is true`,
        productionDefault: rule,
    };
}

/** Production needs the flag on. */
export function MUST_BE_TRUE(reason: string): ProductionDefault<boolean> {
    return { value: true, holds: (v) => v === true, requirement: "true", reason };
}

/** Production needs at least `min` (and defaults to it). */
export function atLeast(min: number, reason: string): ProductionDefault<number> {
    return { value: min, holds: (v) => v >= min, requirement: `at least ${min}`, reason };
}
