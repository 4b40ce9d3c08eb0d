import { expect } from "chai";

/** One statement of a parsed IAM policy document. */
export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Principal?: unknown;
    Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a policy, given as the JSON string a resource input holds or already parsed. */
export function statementsOf(policy: string | { Statement: PolicyStatement[] }): PolicyStatement[] {
    const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
    return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

/** A statement's actions as a list. */
export function actionsOf(statement: PolicyStatement): string[] {
    const actions = statement.Action ?? [];
    return Array.isArray(actions) ? actions : [actions];
}

/** The statements of a policy by Sid; fails on a statement without a Sid or a repeated Sid. */
export function statementsBySid(policy: string | { Statement: PolicyStatement[] }): Record<string, PolicyStatement> {
    const bySid: Record<string, PolicyStatement> = {};
    for (const s of statementsOf(policy)) {
        expect(s.Sid, `statement without a Sid: ${JSON.stringify(s)}`).to.be.a("string");
        expect(bySid, `two statements with Sid ${s.Sid}`).not.to.have.property(s.Sid as string);
        bySid[s.Sid as string] = s;
    }
    return bySid;
}

/**
 * Fails when a policy grants an action with a wildcard: "*", "service:*" or a partial one such as
 * "s3:Get*", or grants through NotAction (everything but a list). Deny statements may use wildcards:
 * they take permissions away. A wildcard in Resource is a separate question, checked by the tests.
 */
export function expectNoWildcardActions(policy: string | { Statement: PolicyStatement[] }, label: string): void {
    for (const s of statementsOf(policy)) {
        if (s.Effect !== "Allow") continue;
        expect(s.NotAction, `${label}: statement ${s.Sid ?? JSON.stringify(s)} allows through NotAction`).to.equal(
            undefined,
        );
        const actions = actionsOf(s);
        expect(actions, `${label}: statement ${s.Sid ?? JSON.stringify(s)} has no actions`).not.to.be.empty;
        for (const action of actions) {
            expect(action, `${label}: statement ${s.Sid ?? ""} allows the wildcard action ${action}`).to.match(
                /^[a-z0-9-]+:[A-Za-z0-9]+$/,
            );
        }
    }
}
