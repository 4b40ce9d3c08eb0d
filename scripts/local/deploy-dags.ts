// The local stand-in for what `pulumi up` does with the DAG files (AirflowStorage's deploy): every
// file of the DAGs folder that the program deploys (lib/artifacts.ts, dagFiles) is put under dags/ of
// the artifacts bucket in moto, and, unlike a deploy, again within a second whenever one changes or
// goes away, so that dag-sync brings it into each task's dags volume as on ECS.
//   deploy-dags.ts <dags folder> <bucket> <key prefix> <marker file, written once the first upload is complete>
import { readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { dagFiles, fileHash } from "../../lib/artifacts";

const [dagsDir, bucket, prefix, marker] = process.argv.slice(2);
if (!marker) {
    console.log("error: usage: deploy-dags.ts <dags folder> <bucket> <key prefix> <marker file>");
    process.exit(2);
}
const endpoint = process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:25000";
// moto checks no signature; it reads the access key and region from the Authorization header.
const headers = {
    Authorization:
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
};
const url = (rel: string) => `${endpoint}/${bucket}/${prefix}${rel.split("/").map(encodeURIComponent).join("/")}`;

async function call(method: string, rel: string, body?: Buffer): Promise<void> {
    const r = await fetch(url(rel), { method, headers, body });
    if (!r.ok) throw new Error(`${method} s3://${bucket}/${prefix}${rel}: HTTP ${r.status}`);
}

async function main(): Promise<void> {
    const deployed = new Map<string, string>();
    let first = true;
    for (;;) {
        try {
            const files = dagFiles(dagsDir);
            for (const rel of files) {
                const file = path.join(dagsDir, rel);
                const hash = fileHash(file);
                if (deployed.get(rel) === hash) continue;
                await call("PUT", rel, readFileSync(file));
                deployed.set(rel, hash);
                if (!first) console.log(`deployed ${rel}`);
            }
            for (const rel of [...deployed.keys()].filter((k) => !files.includes(k))) {
                await call("DELETE", rel);
                deployed.delete(rel);
                console.log(`removed ${rel}`);
            }
            if (first) {
                console.log(`deployed ${files.length} DAG files to s3://${bucket}/${prefix}`);
                writeFileSync(marker, new Date().toISOString());
                first = false;
            }
        } catch (err) {
            // A file written while it was read, or moto restarting: the next pass tries again.
            console.log(`error: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
}

void main();
