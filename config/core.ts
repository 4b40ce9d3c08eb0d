import { z } from "zod";
import { boolKey, choiceText, enumKey, key, KeySpec, shown } from "./spec";
import {
    airflowVersionProblem,
    AirflowVersion,
    DEFAULT_AIRFLOW_VERSION,
    MWAA_AIRFLOW_VERSIONS,
    SUPPORTED_AIRFLOW_VERSIONS,
} from "./versions";

export const LAYOUTS = ["celery", "mwaa"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** An environment name: resource names and secret prefixes. The one pattern every component checks. */
export const ENVIRONMENT_PATTERN = /^[a-z][a-z0-9-]{0,14}[a-z0-9]$/;
/** What ENVIRONMENT_PATTERN allows, in the words of every error that names an environment. */
export const ENVIRONMENT_ALLOWED =
    "2 to 16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen";
const TAG_KEY = z
    .string()
    .min(1)
    .max(128)
    .refine((k) => !k.toLowerCase().startsWith("aws:"));

/** Tags the program sets itself: Project, Environment, Production, ManagedBy on everything, Name on each resource. */
export const RESERVED_TAGS = ["Project", "Environment", "Production", "ManagedBy", "Name"] as const;

/** The characters AWS allows in tag names and values (letters, digits, spaces and _ . : / = + - @). */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Cross-key checks of the core keys. */
export function coreRules(
    v: { environment: string; tags: Readonly<Record<string, string>> },
    defaultTags: Readonly<Record<string, string>> = {},
): string[] {
    const errors: string[] = [];
    if (v.environment.includes("--")) {
        errors.push(
            `airflow:environment must not have two hyphens in a row (it is part of the RDS instance identifier airflow-<environment>-db, which cannot), got ${JSON.stringify(v.environment)}`,
        );
    }
    const reserved = RESERVED_TAGS.filter((t) => t in v.tags);
    if (reserved.length > 0) {
        errors.push(
            `airflow:tags must not set ${reserved.map((t) => JSON.stringify(t)).join(", ")} (the program sets ${RESERVED_TAGS.join(", ")} itself and would overwrite them), got ${JSON.stringify(v.tags)}`,
        );
    }
    // The provider's default tags (aws:defaultTags) go on every resource too, and a resource's own tags
    // override them key by key: the program's would replace the user's without a word.
    const shadowed = RESERVED_TAGS.filter((t) => t in defaultTags);
    if (shadowed.length > 0) {
        errors.push(
            `aws:defaultTags must not set ${shadowed.map((t) => JSON.stringify(t)).join(", ")} in its tags (the program sets ${RESERVED_TAGS.join(", ")} on its resources, and a resource's own tags override the provider's default tags), got ${JSON.stringify(defaultTags)}`,
        );
    }
    // AWS takes at most 50 tags per resource (Tagging best practices, "Tag naming limits and requirements"),
    // the provider's default tags included.
    const room = 50 - RESERVED_TAGS.length;
    const own = Object.keys(v.tags).length;
    const defaults = Object.keys(defaultTags).filter((t) => !(RESERVED_TAGS as readonly string[]).includes(t));
    const distinct = new Set([...Object.keys(v.tags), ...defaults]).size;
    if (defaults.length === 0 && own > room) {
        errors.push(
            `airflow:tags must have at most ${room} tags (AWS allows 50 per resource and the program adds ${RESERVED_TAGS.length}), got ${own}`,
        );
    } else if (distinct > room) {
        errors.push(
            `airflow:tags must have at most ${room} tags together with aws:defaultTags (AWS allows 50 per resource and the program adds ${RESERVED_TAGS.length}), got ${own} and ${defaults.length} default tags (${distinct} distinct)`,
        );
    }
    const bad = Object.entries(v.tags).filter(([k, value]) => !TAG_CHARACTERS.test(k) || !TAG_CHARACTERS.test(value));
    if (bad.length > 0) {
        errors.push(
            `airflow:tags must use only letters, digits, spaces and _ . : / = + - @ in tag names and values (AWS's tag character set), got ${bad.map(([k, value]) => `${JSON.stringify(k)}: ${JSON.stringify(value)}`).join(", ")}`,
        );
    }
    return errors;
}

/** Keys every stack has, whatever its layout. */
export const coreKeys = {
    layout: enumKey(
        LAYOUTS,
        "celery",
        "Which Airflow layout the stack runs: celery (Airflow with CeleryExecutor on ECS Fargate) or mwaa (Amazon MWAA).",
    ),
    airflowVersion: enumKey(
        SUPPORTED_AIRFLOW_VERSIONS,
        DEFAULT_AIRFLOW_VERSION,
        "Apache Airflow version, the same on every stack so that staging mirrors prod. A stack with the mwaa layout accepts only the versions Amazon MWAA runs (config/versions.ts); the celery layout accepts any released version listed there.",
    ),
    environment: key<string>({
        type: "string",
        description:
            "Environment name used in resource names and in the Secrets Manager prefixes airflow/<environment>/connections and airflow/<environment>/variables.",
        default: undefined,
        defaultText: "the stack name",
        deriveDefault: ({ stack }) => stack,
        allowed: ENVIRONMENT_ALLOWED,
        schema: z.string().regex(ENVIRONMENT_PATTERN),
    }),
    production: boolKey(
        false,
        "Marks a stack whose data must survive: stateful resources are protected and kept on delete, and policies apply production rules.",
    ),
    tags: key<Record<string, string>>({
        type: "object",
        description:
            "Tags added to every taggable resource, on top of Project, Environment, Production and ManagedBy. Set as a YAML map in the stack file.",
        default: {},
        allowed:
            'a map of tag names (1 to 128 characters, not starting with "aws:") to string values of up to 256 characters',
        schema: z.record(TAG_KEY, z.string().max(256)),
    }),
} satisfies Record<string, KeySpec<unknown>>;

/** The versions the mwaa layout allows, as the loader and MwaaEnvironment both say it. */
export const MWAA_VERSIONS_ALLOWED = `${choiceText(MWAA_AIRFLOW_VERSIONS.map((m) => m.airflow))} (the versions Amazon MWAA runs)`;

/** The layout decides which versions are allowed (config/versions.ts holds the rule). */
export function versionRules(v: { layout: Layout; airflowVersion: AirflowVersion }): string[] {
    if (airflowVersionProblem(v.layout, v.airflowVersion) === undefined) return [];
    return [
        `airflow:airflowVersion must be ${MWAA_VERSIONS_ALLOWED} when airflow:layout is "mwaa", got ${shown(v.airflowVersion)}`,
    ];
}
