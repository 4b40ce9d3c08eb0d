// Prints, as JSON, the environment `npm run local` gives its Celery worker (the stack's rendering of
// the worker task definition's environment, local values in, the same function the supervisor's
// worker unit gets it from): the drill workers of scripts/local/drills.py run with it. A process's
// /proc/<pid>/environ cannot be read instead: Airflow's setproctitle overwrites it.
import { localPaths, oneLine } from "./paths";
import { componentEnv, installedAirflow, localSecrets, renderedStack } from "./units";

async function main(): Promise<void> {
    const paths = localPaths();
    const rendered = await renderedStack(paths, installedAirflow(paths.venv));
    process.stdout.write(JSON.stringify(componentEnv(paths, localSecrets(paths), rendered, "worker")));
}

main().catch((err) => {
    console.error(`error: ${oneLine((err as Error).message)}`);
    process.exit(1);
});
