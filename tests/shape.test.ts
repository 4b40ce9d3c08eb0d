// The shape the developers' guide asks of components/: no file over 450 lines, no function over 120.
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";
import * as ts from "typescript";

const COMPONENTS = path.join(__dirname, "..", "components");
export const MAX_FILE_LINES = 450;
export const MAX_FUNCTION_LINES = 120;

/**
 * What is still over the limits, to be split. Empty: every file and function of components/ is within
 * them. The tests fail if anything goes over, and when an entry here is no longer over (so the list
 * only shrinks).
 */
const PENDING: { files: string[]; functions: string[] } = {
    files: [],
    functions: [],
};

function sourceFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) return sourceFiles(full);
        return full.endsWith(".ts") ? [full] : [];
    });
}

/** Every function, method, constructor and arrow function of a source text longer than `max` lines. */
export function longFunctions(fileName: string, text: string, max: number): string[] {
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
    const found: string[] = [];
    const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
            const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
            const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
            const lines = end - start + 1;
            const name = ts.isConstructorDeclaration(node)
                ? "constructor"
                : ((node as ts.FunctionDeclaration).name?.getText() ?? "(anonymous)");
            if (lines > max) found.push(`${fileName}:${start + 1} ${name} (${lines} lines)`);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

describe("the shape of components/", () => {
    const files = sourceFiles(COMPONENTS);

    it(`has no file over ${MAX_FILE_LINES} lines`, () => {
        const long = files
            .map((f) => [path.relative(COMPONENTS, f), readFileSync(f, "utf8").split("\n").length - 1] as const)
            .filter(([, lines]) => lines > MAX_FILE_LINES)
            .map(([f]) => f);
        expect(long).to.deep.equal(PENDING.files);
    });

    it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
        const long = files.flatMap((f) =>
            longFunctions(path.relative(COMPONENTS, f), readFileSync(f, "utf8"), MAX_FUNCTION_LINES),
        );
        expect(long.map((l) => l.replace(/:\d+ /, " ").replace(/ \(\d+ lines\)$/, ""))).to.deep.equal(
            PENDING.functions,
        );
    });

    it("finds a function that is too long (the check can fail)", () => {
        const body = Array.from({ length: 5 }, (_, i) => `    const x${i} = ${i};`).join("\n");
        expect(longFunctions("probe.ts", `function probe() {\n${body}\n}\n`, 4)).to.deep.equal([
            "probe.ts:1 probe (7 lines)",
        ]);
    });
});
