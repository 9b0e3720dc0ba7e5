// Every page of the router, as the demo merchant (and the visitor pages signed out): each one is
// screenshotted at 1280 px and at 390 px, passes axe-core with no serious or critical
// violation, does not scroll sideways at 390 px, and (in the signed-in frame) has the tenant
// switcher. The list of pages is the router's own (end2end/routes.mjs), so a new route is
// checked as soon as it exists; a new route with a parameter needs a way to find a real id below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tab, WIDE, launch, receiver as startReceiver } from '../support.mjs';
import { routes } from '../routes.mjs';

let browser;
let tab;
let hooks;

before(async () => {
  hooks = await startReceiver();
  browser = await launch();
  tab = await Tab.open(browser);
  await tab.login();
});

after(async () => {
  await browser?.close();
  await hooks?.close();
});

/** The first link on `path` matching `selector`, as a path; undefined when the list is empty. */
async function firstLink(path, selector) {
  await tab.visit(path);
  const href = await tab.page.$eval(selector, (a) => a.getAttribute('href')).catch(() => undefined);
  return href ?? undefined;
}

/**
 * How to find a real id for each route with a parameter, from the pages that list them. Where
 * the demo data has none yet, the resolver makes one the way a merchant would.
 */
const resolvers = {
  '/payments/:id': async () => [await firstLink('/payments', '#payments-table a[href^="/payments/"]')],
  '/disputes/:id': async () => [await firstLink('/disputes', '#disputes-table a.dispute-link')],
  '/events/:id': async () => [await firstLink('/events', '#events-table a[href^="/events/evt_"]')],
  '/events/replays/:id': async () => {
    const existing = await firstLink('/events', 'a[href^="/events/replays/"]');
    if (existing) return [existing];
    await tab.page.fill('#replay-types', 'payment.*');
    await tab.confirmAndSubmit('#replay-form');
    return [await tab.page.getAttribute('#replay-started a[href^="/events/replays/"]', 'href')];
  },
  // The activity timeline (by email) and the Stripe customer (cst_…) share the route.
  '/customers/:email': async () => {
    await tab.visit('/customers');
    const hrefs = await tab.page.$$eval('a[href^="/customers/"]', (as) => as.map((a) => a.getAttribute('href')));
    const byEmail = hrefs.find((h) => h.includes('@'));
    const byId = hrefs.find((h) => h.startsWith('/customers/cst_'));
    return [byEmail, byId].filter(Boolean);
  },
  '/webhook-endpoints/:id': async () => {
    const existing = await firstLink('/webhook-endpoints', '#webhook-endpoints-table a[href^="/webhook-endpoints/"]');
    if (existing) return [existing];
    await tab.page.fill('#endpoint-url', hooks.url('/pages-test'));
    await tab.page.click('#create-endpoint-form button[type=submit]');
    await tab.page.waitForSelector('#webhook-endpoints-table a[href^="/webhook-endpoints/"]');
    return [await tab.page.getAttribute('#webhook-endpoints-table a[href^="/webhook-endpoints/"]', 'href')];
  },
  // The editor of an existing rule, and the same page for a new one.
  '/rules/:id': async () => [await firstLink('/rules', '#rules-table a[href^="/rules/"]'), '/rules/new'],
  '/invoices/:id/tax': async () => {
    const existing = await firstLink('/invoices', '#invoices-table a[href$="/tax"]');
    // Without invoices in the demo data the page still has to explain itself.
    return [existing ?? '/invoices/inv_e2eNoSuchInvoice/tax'];
  },
};

const all = routes();
const signedOut = all.filter((r) => !r.dashboard);
const dashboard = all.filter((r) => r.dashboard);

/** The checks every page gets; `name` names its screenshots and axe report. */
async function checkPage(path, { name, frame }) {
  await tab.setWidth(WIDE);
  await tab.visit(path);
  const page = tab.page;
  // No page may be left on its loading placeholder.
  await page.waitForFunction(() => !document.querySelector('main .loading'), null, { timeout: 15_000 })
    .catch(() => { throw new Error(`${path} is still loading after 15 s`); });
  if (frame) {
    assert.ok(await page.$('#tenant-switcher'), `${path} has no tenant switcher`);
    assert.equal(await tab.activeTenant(), 'Demo Store');
  }
  assert.ok(await page.$('h1'), `${path} has no heading`);
  await tab.a11y(name);
  await tab.screenshots(name);
}

const slug = (path) => path.replace(/^\/$/, 'overview').replace(/^\//, '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);

for (const route of dashboard) {
  if (!route.path.includes(':')) {
    test(`dashboard page ${route.path}`, async () => {
      await checkPage(route.path, { name: `page-${slug(route.path)}`, frame: true });
    });
  } else {
    test(`dashboard page ${route.path} (with real ids)`, async () => {
      const resolve = resolvers[route.path];
      assert.ok(resolve, `no way to find an id for ${route.path}: add a resolver to end2end/tests/pages.test.mjs`);
      const paths = (await resolve()).filter(Boolean);
      assert.ok(paths.length > 0, `no ${route.path} to visit in the demo data`);
      for (const path of paths) {
        assert.ok(route.matcher.test(path), `${path} is not a ${route.path}`);
        await checkPage(path, { name: `page-${slug(path)}`, frame: true });
      }
    });
  }
}

test('visitor pages, signed out', async () => {
  const visitorTab = await Tab.open(browser);
  const original = tab;
  tab = visitorTab;
  try {
    for (const route of signedOut) {
      const path = route.path === '/verify-email-code' ? '/verify-email-code?email=someone%40example.com' : route.path;
      assert.ok(!route.path.includes(':'), `a visitor route with a parameter needs an id: ${route.path}`);
      await checkPage(path, { name: `visitor-${slug(route.path)}`, frame: false });
    }
    // A signed-out visit to the dashboard lands on the login page.
    await tab.visit('/payments');
    assert.match(tab.page.url(), /\/login/);
  } finally {
    tab = original;
    await visitorTab.close();
  }
});
