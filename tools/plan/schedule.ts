// Application Auto Scaling scheduled actions (`aws.appautoscaling.ScheduledAction`) as a week of
// capacity bounds: which min/max applies at each minute of a week, for the cost estimate.
// Only `cron(...)` schedules with a day-of-month of `*` or `?` repeat weekly; `at(...)` and `rate(...)`
// schedules and other cron forms are reported as unsupported and ignored.

export const MINUTES_PER_WEEK = 7 * 24 * 60;

export interface Bounds {
    readonly min: number;
    readonly max: number;
}

export interface ScheduledBounds {
    /** The schedule expression, e.g. "cron(0 20 ? * MON-FRI *)". */
    readonly schedule: string;
    readonly min?: number;
    readonly max?: number;
}

const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** The values a cron field allows, e.g. "1-5" -> {1..5}; names map through `names` (index + offset). */
function field(text: string, lo: number, hi: number, names?: string[], offset = 0): Set<number> | undefined {
    const out = new Set<number>();
    const value = (v: string): number => {
        const i = names ? names.indexOf(v.toUpperCase()) : -1;
        return i >= 0 ? i + offset : Number(v);
    };
    for (const part of text.split(",")) {
        const [range, stepText] = part.split("/");
        const step = stepText === undefined ? 1 : Number(stepText);
        let start: number;
        let end: number;
        if (range === "*" || range === "?") [start, end] = [lo, hi];
        else if (range.includes("-")) {
            const [a, b] = range.split("-");
            [start, end] = [value(a), value(b)];
        } else {
            start = value(range);
            end = stepText === undefined ? start : hi;
        }
        if (![start, end, step].every(Number.isInteger) || start < lo || end > hi || step < 1) return undefined;
        for (let v = start; v <= end; v += step) out.add(v);
    }
    return out;
}

/** The minutes of a week (0 = Sunday 00:00) at which a weekly cron expression fires; undefined if it is not one. */
export function weeklyFirings(schedule: string): number[] | undefined {
    const m = /^cron\((.*)\)$/.exec(schedule.trim());
    if (!m) return undefined;
    const parts = m[1].trim().split(/\s+/);
    if (parts.length !== 6) return undefined;
    const [min, hour, dom, month, dow] = parts;
    if (!["*", "?"].includes(dom) || !["*", "?"].includes(month)) return undefined;
    const minutes = field(min, 0, 59);
    const hours = field(hour, 0, 23);
    // AWS cron numbers days 1-7 from Sunday.
    const days = field(dow, 1, 7, DAYS, 1);
    if (!minutes || !hours || !days) return undefined;
    const out: number[] = [];
    for (const d of [...days].sort((a, b) => a - b)) {
        for (const h of [...hours].sort((a, b) => a - b)) {
            for (const mm of [...minutes].sort((a, b) => a - b)) out.push((d - 1) * 1440 + h * 60 + mm);
        }
    }
    return out;
}

/**
 * The bounds in force at each minute of the week: each action sets the bounds it names when it fires;
 * the week wraps around, so the bounds before the first firing are those after the last.
 */
export function weekOfBounds(
    base: Bounds,
    actions: readonly ScheduledBounds[],
): { bounds: Bounds[]; unsupported: string[] } {
    const unsupported: string[] = [];
    const firings: { at: number; order: number; action: ScheduledBounds }[] = [];
    actions.forEach((action, order) => {
        const at = weeklyFirings(action.schedule);
        if (!at) unsupported.push(action.schedule);
        else for (const minute of at) firings.push({ at: minute, order, action });
    });
    firings.sort((a, b) => a.at - b.at || a.order - b.order);
    const apply = (b: Bounds, a: ScheduledBounds): Bounds => ({ min: a.min ?? b.min, max: a.max ?? b.max });
    // The state at the start of the week is the one the whole week's firings leave behind.
    let state = firings.reduce((b, f) => apply(b, f.action), base);
    const bounds: Bounds[] = new Array(MINUTES_PER_WEEK);
    let next = 0;
    for (let minute = 0; minute < MINUTES_PER_WEEK; minute++) {
        while (next < firings.length && firings[next].at === minute) state = apply(state, firings[next++].action);
        bounds[minute] = state;
    }
    return { bounds, unsupported };
}
