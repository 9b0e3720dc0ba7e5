// What every browser test shares: the browser, a tab that knows how to wait for hydration and
// log where it went (for the route coverage check), screenshots, the axe-core accessibility
// check, logins, the confirmation step before destructive actions, the development mailbox and
// `paybus stripe trigger`.
//
// run.sh serves a fresh paybus and sets PAYBUS_E2E_URL, PAYBUS_BIN and PAYBUS_E2E_ARTIFACTS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));

export const BASE = process.env.PAYBUS_E2E_URL ?? 'http://127.0.0.1:3000';
export const CHROMIUM = process.env.PAYBUS_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.PAYBUS_E2E_ARTIFACTS ?? join(HERE, 'artifacts');
export const SCREENSHOTS = join(ARTIFACTS, 'screenshots');
export const AXE_REPORTS = join(ARTIFACTS, 'axe');
export const VISITS_LOG = join(ARTIFACTS, 'visits.log');
export const WEBHOOK_SECRET = process.env.PAYBUS_E2E_WEBHOOK_SECRET ?? 'whsec_e2e';
/** The password of every user the tests sign up. */
export const PASSWORD = 'correct horse battery staple';
export const DEMO = { email: 'demo@paybus.dev', password: 'paybus-demo-password' };
/** The two widths every page must work at. */
export const WIDE = 1280;
export const NARROW = 390;

/** Which test file is running (node --test runs each file in its own process). */
const SUITE = basename(process.argv[1] ?? 'unknown');

for (const dir of [SCREENSHOTS, AXE_REPORTS]) mkdirSync(dir, { recursive: true });

/** Debian's chromium, headless, without the sandbox (containers have no user namespaces). */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Appends a visited path (no query, no fragment) to the visits log the route coverage reads. */
export function recordVisit(url) {
  const path = new URL(url, BASE).pathname;
  appendFileSync(VISITS_LOG, `${path}\t${SUITE}\n`);
}

/**
 * A browser tab in its own context (its own cookies: one signed-in user per tab). Every
 * document it shows, by `visit` or by following a link or a redirect, goes to the visits log.
 */
export class Tab {
  static async open(browser, { javaScript = true, width = WIDE, height = 900 } = {}) {
    const context = await browser.newContext({ javaScriptEnabled: javaScript, viewport: { width, height } });
    const page = await context.newPage();
    return new Tab(page, javaScript);
  }

  constructor(page, javaScript) {
    this.page = page;
    this.javaScript = javaScript;
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => console.error(`page error on ${page.url()}:`, error.message));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && frame.url().startsWith(BASE)) recordVisit(frame.url());
    });
  }

  async close() {
    await this.page.context().close();
  }

  /** The path (with query) the tab shows. */
  path() {
    const url = new URL(this.page.url());
    return url.pathname + url.search;
  }

  /** Loads a path and, with JavaScript on, waits until the wasm bundle has hydrated it. */
  async visit(path) {
    try {
      await this.page.goto(BASE + path);
    } catch (error) {
      // A reload the page started itself (after a tenant switch, or coming back from a hosted
      // Stripe page) can interrupt this navigation; going there again is what a person would do.
      if (!/interrupted by another navigation|ERR_ABORTED/.test(String(error))) throw error;
      await this.page.goto(BASE + path);
    }
    await this.hydrated();
    recordVisit(this.page.url());
  }

  async hydrated() {
    if (this.javaScript) await this.page.waitForSelector('body[data-hydrated="true"]');
    else await this.page.waitForLoadState('load');
  }

  /** Reloads `path` until `check` passes: webhooks and background work land a moment later. */
  async eventually(path, check, { attempts = 40, pause = 250 } = {}) {
    let last;
    for (let i = 0; i < attempts; i++) {
      try {
        await this.visit(path);
        await check();
        return;
      } catch (error) {
        last = error;
        await this.page.waitForTimeout(pause);
      }
    }
    throw last;
  }

  /** A full-page screenshot at `width` (the viewport is left at that width). */
  async screenshot(name, { width = WIDE } = {}) {
    await this.setWidth(width);
    const file = join(SCREENSHOTS, `${name}-${width}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async setWidth(width) {
    const { height } = this.page.viewportSize();
    if (this.page.viewportSize().width !== width) {
      await this.page.setViewportSize({ width, height });
      // Let layout settle (media queries, charts drawn to their container).
      await this.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    }
  }

  /** Screenshot at the wide width, then at the narrow one with no sideways scrolling. */
  async screenshots(name) {
    await this.screenshot(name, { width: WIDE });
    try {
      await this.screenshot(name, { width: NARROW });
      await this.assertNoHorizontalOverflow(name);
    } finally {
      await this.setWidth(WIDE);
    }
  }

  async assertNoHorizontalOverflow(label) {
    const { scrollWidth, innerWidth, culprits } = await this.page.evaluate(() => {
      const innerWidth = window.innerWidth;
      const culprits = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && getComputedStyle(el).position !== 'fixed')
        // Only the outermost offenders: their children overflow with them.
        .filter((el, _, all) => !all.includes(el.parentElement))
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''} (right ${Math.round(el.getBoundingClientRect().right)})`);
      return { scrollWidth: document.documentElement.scrollWidth, innerWidth, culprits };
    });
    assert.ok(scrollWidth <= innerWidth + 1,
      `${label}: the page scrolls sideways at ${innerWidth} px (content ${scrollWidth} px wide): ${culprits.join(', ')}`);
  }

  /** The axe-core check on what the tab shows now; see `checkA11y`. */
  a11y(label) {
    return checkA11y(this.page, label);
  }

  /** Opens every closed `<details>` around `selector` (outermost first), as a person would. */
  async reveal(selector) {
    const target = this.page.locator(selector).first();
    await target.waitFor({ state: 'attached' });
    for (let i = 0; i < 5; i++) {
      // On the ancestor axis `last()` is the outermost one.
      const summary = target.locator('xpath=ancestor::details[not(@open)][last()]/summary');
      if ((await summary.count()) === 0) return;
      await summary.click();
    }
  }

  /**
   * Submits `formSelector` through its confirmation step: destructive and money-moving buttons
   * sit in a `<details class="confirm">` whose summary opens it first. Any other closed
   * disclosure around the form is opened too.
   */
  async confirmAndSubmit(formSelector) {
    const submit = `${formSelector} [type=submit]`;
    await this.reveal(submit);
    await this.page.locator(submit).last().click();
  }

  /** Whether `selector` sits behind a `<details class="confirm">` step. */
  async behindConfirmation(selector) {
    return this.page.locator(selector).first().evaluate((el) => el.closest('details.confirm') !== null);
  }

  /** Logs in with the form; lands on the dashboard. */
  async login(email = DEMO.email, password = DEMO.password) {
    await this.visit('/login');
    await this.page.fill('#login-email', email);
    await this.page.fill('#login-password', password);
    await this.page.click('#login-form button[type=submit]');
    await this.page.waitForURL((url) => !url.pathname.startsWith('/login'));
    await this.hydrated();
  }

  async activeTenant() {
    return (await this.page.textContent('[data-testid="active-tenant"]')).trim();
  }

  /** The id (`ten_…`) of the active tenant, from the tenant switcher. */
  async activeTenantId() {
    return this.page.$eval('#tenant_id', (select) => select.value);
  }

  /** Chooses the tenant named `name` in the switcher and waits until it is active. */
  async switchTenant(name) {
    const id = await this.page.$eval('#tenant_id', (select, name) =>
      [...select.options].find((o) => o.textContent.startsWith(`${name} (`))?.value, name);
    assert.ok(id, `no tenant ${name} in the switcher`);
    await this.page.selectOption('#tenant_id', id);
    await this.page.click('#tenant-switcher button[type=submit]');
    await this.page.waitForFunction((name) =>
      document.querySelector('[data-testid="active-tenant"]')?.textContent.trim() === name, name);
    return id;
  }

  /** The newest message to `to` in the development mailbox: { subject, body }. */
  async mailTo(to, { matching = /./ } = {}) {
    let found;
    await this.eventually('/dev/mail', async () => {
      found = await this.page.$$eval(`article.mail[data-to="${to}"]`, (articles) => articles.map((a) => ({
        subject: a.querySelector('.mail-subject')?.textContent ?? '',
        body: a.querySelector('.mail-body')?.textContent ?? '',
      })));
      found = found.find((m) => matching.test(m.subject) || matching.test(m.body));
      assert.ok(found, `no mail to ${to} matching ${matching}`);
    });
    return found;
  }

  /** POSTs JSON from inside the page (same origin, the tab's session cookie). */
  async postJson(path, body, headers = {}) {
    return this.page.evaluate(async ({ path, body, headers }) => {
      const response = await fetch(path, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.text() };
    }, { path, body, headers });
  }

  /** POSTs a form body from inside the page, as a server function call would. */
  async postForm(path, fields) {
    return this.page.evaluate(async ({ path, fields }) => {
      const response = await fetch(path, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(fields).toString(),
      });
      return { status: response.status, body: await response.text() };
    }, { path, fields });
  }
}

const require = createRequire(import.meta.url);
let axeSource;

/**
 * Runs axe-core on the page and fails on any serious or critical violation, naming the rule,
 * its impact, the elements and axe's help. Every violation (also minor ones) is kept in
 * artifacts/axe/<label>.json.
 */
export async function checkA11y(page, label) {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const violations = results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
  const file = label.replace(/[^A-Za-z0-9_-]+/g, '_');
  writeFileSync(join(AXE_REPORTS, `${file}.json`), JSON.stringify({ url: page.url(), violations }, null, 2));
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(blocking.map((v) => v.id), [], `${label} (${page.url()}) has accessibility violations:\n${blocking
    .map((v) => `- ${v.id} [${v.impact}] ${v.help} (${v.helpUrl})\n${v.targets.slice(0, 8).map((t) => `    ${t.target}: ${t.summary?.split('\n').slice(0, 3).join(' ')}`).join('\n')}`)
    .join('\n')}`);
}

const run = promisify(execFile);

/**
 * `paybus stripe trigger <type>`: a realistic Stripe event, signed with the platform secret,
 * posted to the running paybus. Returns the CLI's output and the PaymentIntent it was about.
 */
export async function trigger(type, { tenant, paymentIntent, amount } = {}) {
  const bin = process.env.PAYBUS_BIN;
  assert.ok(bin, 'PAYBUS_BIN is not set (run the suite with end2end/run.sh)');
  const args = ['stripe', 'trigger', type, '--tenant', tenant, '--url', BASE];
  if (paymentIntent) args.push('--payment-intent', paymentIntent);
  if (amount !== undefined) args.push('--amount', String(amount));
  const { stdout } = await run(bin, args, {
    env: { ...process.env, STRIPE_PLATFORM_WEBHOOK_SECRET: WEBHOOK_SECRET, DATABASE_URL: '', RUST_LOG: 'error' },
    timeout: 30_000,
  });
  // "sent evt_… (payment_intent.succeeded) for pi_…: {…}"
  const match = stdout.match(/^sent (evt_\S+) \(([^)]+)\) for (\S+):/m);
  assert.ok(match, `unexpected output from paybus stripe trigger: ${stdout}`);
  return { output: stdout, event: match[1], paymentIntent: match[3] };
}

/** Posts a Stripe event with this object to /webhook, signed the way Stripe signs it. */
export async function stripeEvent(type, object) {
  const created = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    id: `evt_e2e${Math.random().toString(36).slice(2)}`, object: 'event', type, created,
    api_version: '2025-03-31.basil', livemode: false, data: { object },
  });
  const signature = createHmac('sha256', WEBHOOK_SECRET).update(`${created}.${body}`).digest('hex');
  const response = await fetch(`${BASE}/webhook`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${created},v1=${signature}` },
  });
  assert.equal(response.status, 200, await response.text());
}

/** Starts a local HTTP receiver that records what it is sent (webhook endpoints, plugins). */
export async function receiver() {
  const { createServer } = await import('node:http');
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    /** Waits until something matching `predicate` arrived. */
    async waitFor(predicate, what, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const hit = received.find(predicate);
        if (hit) return hit;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`nothing received: ${what}; got ${JSON.stringify(received.map((r) => r.path))}`);
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A unique, readable suffix for emails and names created by a run. */
export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
