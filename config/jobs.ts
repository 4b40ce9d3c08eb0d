import { z } from "zod";
import { FARGATE_CPUS, isFargateSize, memoryChoices } from "./fargate";
import { boolKey, intChoiceKey, key, KeySpec } from "./spec";

/** The job image's default: Docker's official python image, mirrored on ECR Public. */
export const DEFAULT_JOB_IMAGE = "public.ecr.aws/docker/library/python:3.12-slim";

const IMAGE_URI = /^[a-z0-9][a-z0-9.-]*(:[0-9]+)?\/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$/;

/** The Fargate job that DAGs start with EcsRunTaskOperator (the fargate_parallel_tasks DAG). */
export const jobKeys = {
    jobImage: key<string>({
        type: "string",
        description:
            "Image of the Fargate job task definition that DAGs run with EcsRunTaskOperator (pulled through the NAT gateway unless it is in this account's ECR).",
        default: DEFAULT_JOB_IMAGE,
        allowed: "an image URI with a tag or digest",
        schema: z.string().regex(IMAGE_URI),
    }),
    jobCpu: intChoiceKey(FARGATE_CPUS, 256, "Fargate CPU units of the job task."),
    jobMemory: key<number>({
        type: "integer",
        description: "Memory (MiB) of the job task; must be a size Fargate allows with airflow:jobCpu.",
        default: 512,
        allowed: "a memory size in MiB",
        schema: z.number().int().positive(),
    }),
    jobSpot: boolKey(true, "Run the jobs on FARGATE_SPOT (interruptible, up to 70% cheaper)."),
} satisfies Record<string, KeySpec<unknown>>;

export function jobRules(v: { jobCpu: number; jobMemory: number }): string[] {
    return isFargateSize(v.jobCpu, v.jobMemory)
        ? []
        : [
              `airflow:jobMemory must be a memory size Fargate allows with airflow:jobCpu ${v.jobCpu} (${memoryChoices(v.jobCpu)}), got ${v.jobMemory}`,
          ];
}
