// Writes tests/python/metric_catalog.json: the metrics the dashboard and alarms read (see
// components/observability/catalog.ts). `npm run docs` runs it; tests/observability.test.ts fails when
// the committed file is stale.
import { writeFileSync } from "fs";
import * as path from "path";
import { metricCatalog } from "../components/observability/catalog";

export const CATALOG_FILE = path.resolve(__dirname, "..", "tests", "python", "metric_catalog.json");

export function renderCatalog(): string {
    return `${JSON.stringify(metricCatalog(), null, 2)}\n`;
}

if (require.main === module) {
    writeFileSync(CATALOG_FILE, renderCatalog());
    console.log(`wrote ${path.relative(process.cwd(), CATALOG_FILE)}`);
}
