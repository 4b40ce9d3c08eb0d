// Prints, as JSON, the environment `npm run local` gives its Celery worker (the stack's rendering of
// the worker task definition's environment, local values in): the drill workers of
// scripts/local/drills.py run with it. A process's /proc/<pid>/environ cannot be read instead:
// Airflow's setproctitle overwrites it.
import { readFileSync } from "fs";
import * as path from "path";
import { componentEnv } from "./main";

const stateDir = process.env.LOCAL_STATE_DIR ?? path.join(__dirname, "..", "..", ".local");
const secrets = JSON.parse(readFileSync(path.join(stateDir, "secrets.json"), "utf8"));
process.stdout.write(JSON.stringify(componentEnv("worker", secrets, [])));
