// The dashboard's routes, read from the router itself (app/src/pages/mod.rs) so the browser
// tests and the coverage check can never drift from it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROUTER = join(dirname(fileURLToPath(import.meta.url)), '..', 'app', 'src', 'pages', 'mod.rs');

/**
 * Every `<Route path=path!("…")>` with its full path (the `<ParentRoute>` paths around it
 * prefixed), whether it sits in the signed-in frame (`DashboardLayout`), and a matcher in which
 * `:param` stands for one path segment.
 */
export function routes(source = readFileSync(ROUTER, 'utf8')) {
  // Comments may mention routes; only the code counts.
  const code = source.replace(/\/\/[^\n]*/g, '');
  const token = /<ParentRoute\s+path=path!\("([^"]*)"\)([^>]*)>|<\/ParentRoute>|<Route\s+path=path!\("([^"]*)"\)/g;
  const parents = [];
  const found = [];
  for (const m of code.matchAll(token)) {
    if (m[0].startsWith('</')) parents.pop();
    else if (m[0].startsWith('<ParentRoute')) parents.push({ path: m[1], dashboard: /view=DashboardLayout\b/.test(m[2]) });
    else {
      const path = `${parents.map((p) => p.path).join('')}${m[3]}` || '/';
      found.push({ path, dashboard: parents.some((p) => p.dashboard), matcher: matcher(path) });
    }
  }
  if (found.length === 0) throw new Error(`no routes found in ${ROUTER}`);
  return found;
}

function matcher(path) {
  const pattern = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}

/** The first route `path` (a URL's pathname) lands on, in router order; undefined if none. */
export function routeOf(path, all = routes()) {
  let decoded = path;
  try { decoded = decodeURIComponent(path); } catch { /* keep it as it is */ }
  return all.find((r) => r.matcher.test(path) || r.matcher.test(decoded));
}
