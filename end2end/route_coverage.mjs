// Every route of the router must have been visited by at least one browser test. Run by
// end2end/run.sh after the test files, from the visits log they write
// (artifacts/visits.log: one "path<TAB>test file" per document shown).
//
//   node end2end/route_coverage.mjs [visits.log]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { routeOf, routes } from './routes.mjs';

const artifacts = process.env.PAYBUS_E2E_ARTIFACTS ?? join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
const log = process.argv[2] ?? join(artifacts, 'visits.log');
if (!existsSync(log)) {
  console.error(`route coverage: ${log} is missing; run the browser tests first (end2end/run.sh)`);
  process.exit(1);
}

const all = routes();
const visitedBy = new Map(all.map((r) => [r.path, new Set()]));
for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
  const [path, suite = '?'] = line.split('\t');
  const route = routeOf(path, all);
  if (route) visitedBy.get(route.path).add(suite);
}

const report = all.map((r) => `${visitedBy.get(r.path).size ? 'visited' : 'MISSING'}  ${r.path}  ${[...visitedBy.get(r.path)].sort().join(', ')}`);
writeFileSync(join(dirname(log), 'route-coverage.txt'), `${report.join('\n')}\n`);
const missing = all.filter((r) => visitedBy.get(r.path).size === 0).map((r) => r.path);
if (missing.length) {
  console.error(`route coverage: ${missing.length} of ${all.length} routes were visited by no browser test:\n${missing.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`route coverage: all ${all.length} routes of app/src/pages/mod.rs were visited`);
