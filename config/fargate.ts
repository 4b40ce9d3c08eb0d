import { choiceText } from "./spec";

/**
 * The CPU and memory combinations Fargate accepts for a task (Linux): CPU units to the memory sizes
 * allowed with them, in MiB. Source: the "Task CPU and memory" table of the Amazon ECS Developer
 * Guide (AWS Fargate task definitions).
 */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: range(4096, 16384, 1024),
    4096: range(8192, 30720, 1024),
    8192: range(16384, 61440, 4096),
    16384: range(32768, 122880, 8192),
};

export const FARGATE_CPUS = Object.keys(FARGATE_SIZES).map(Number);

function range(from: number, to: number, step: number): number[] {
    const out: number[] = [];
    for (let v = from; v <= to; v += step) out.push(v);
    return out;
}

/** The memory sizes Fargate allows with `cpu`, in words, e.g. "1024, 2048, 3072 or 4096". */
export function memoryChoices(cpu: number): string {
    const sizes = FARGATE_SIZES[cpu] ?? [];
    if (sizes.length > 8) return `${sizes[0]} to ${sizes[sizes.length - 1]} in steps of ${sizes[1] - sizes[0]}`;
    return sizes.length > 1 ? `${sizes.slice(0, -1).join(", ")} or ${sizes[sizes.length - 1]}` : String(sizes[0]);
}

export function isFargateSize(cpu: number, memory: number): boolean {
    return (FARGATE_SIZES[cpu] ?? []).includes(memory);
}

/**
 * What is wrong with a Fargate task size, as `<field> must be ...` phrases: the CPU first, then the
 * memory with that CPU. Empty when Fargate accepts the pair. The one rule the config loader and the
 * components' up-front checks share.
 */
export function fargateSizeViolations(cpu: number, memory: number): { field: "cpu" | "memory"; allowed: string }[] {
    if (!FARGATE_CPUS.includes(cpu)) return [{ field: "cpu", allowed: choiceText(FARGATE_CPUS) }];
    if (!isFargateSize(cpu, memory))
        return [{ field: "memory", allowed: `a memory size Fargate allows with cpu ${cpu} (${memoryChoices(cpu)})` }];
    return [];
}
