// Time to interactive of the overview page in headless Chromium: from navigation start to the
// moment the wasm bundle has hydrated the page (the app marks <body data-hydrated="true"> from its
// first effect, so click handlers run from then on). Also first contentful paint and load.
//
//   PAYBUS_E2E_URL=http://127.0.0.1:3000 node end2end/bench/tti.mjs [runs]
//
// It also weighs what the overview page really downloads of the wasm and JS bundle (with a split
// build, the main bundle plus the chunks that page needs), gzipped at level 9 as a server or CDN
// would send it, and writes that to $PAYBUS_BUNDLE_REPORT (JSON) when set.
//
// Each run is a fresh browser context (cold HTTP cache) signed in as the demo merchant; a second
// series reuses one context (warm cache), as a returning merchant sees it. Prints p50 / p90 / max.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const BASE = process.env.PAYBUS_E2E_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.argv[2] ?? 15);
const EMAIL = process.env.PAYBUS_DEMO_EMAIL ?? 'demo@paybus.dev';
const PASSWORD = process.env.PAYBUS_DEMO_PASSWORD ?? 'paybus-demo-password';

// Runs in the page before any of its scripts: stamps the hydration moment.
function stampHydration() {
  new MutationObserver((_, observer) => {
    if (document.body?.dataset.hydrated === 'true') {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
}

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  await page.close();
}

// The wasm and JS files the page fetched, by URL, with their bodies.
function recordBundle(page) {
  const files = new Map();
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (!/\.(wasm|js)$/.test(url.pathname) || !response.ok()) return;
    try {
      files.set(url.pathname, await response.body());
    } catch {
      // A response the page navigated away from has no body to weigh.
    }
  });
  return files;
}

function weigh(files) {
  const rows = [...files].map(([path, body]) => ({ path, raw: body.length, gzip: gzipSync(body, { level: 9 }).length }));
  rows.sort((a, b) => b.gzip - a.gzip);
  const total = (key) => rows.reduce((sum, row) => sum + row[key], 0);
  return { files: rows, raw: total('raw'), gzip: total('gzip') };
}

async function measure(context, bundle) {
  const page = await context.newPage();
  const files = bundle ? recordBundle(page) : null;
  await page.addInitScript(stampHydration);
  await page.goto(`${BASE}/`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  await page.waitForFunction(() => window.__hydratedAt !== undefined);
  const figures = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { tti: window.__hydratedAt, fcp: fcp?.startTime ?? NaN, load: nav.loadEventEnd, ttfb: nav.responseStart };
  });
  await page.close();
  if (bundle) Object.assign(bundle, weigh(files));
  return figures;
}

function summary(label, runs) {
  const line = (key) => {
    const sorted = runs.map((r) => r[key]).sort((a, b) => a - b);
    const at = (p) => sorted[Math.round((sorted.length - 1) * p)].toFixed(0);
    return `${key} p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`;
  };
  console.log(`${label} (${runs.length} runs): ${['tti', 'fcp', 'load', 'ttfb'].map(line).join('; ')}`);
}

const browser = await chromium.launch({
  executablePath: process.env.PAYBUS_E2E_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const bundle = {};
try {
  const cold = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await signIn(context);
    // Signing in loaded the bundle into this context's cache: clear it so the run is cold.
    const cdp = await context.newCDPSession(await context.newPage());
    await cdp.send('Network.clearBrowserCache');
    cold.push(await measure(context, i === 0 ? bundle : null));
    await context.close();
  }
  summary('overview, cold cache', cold);
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  console.log(`overview page downloads ${bundle.files.length} wasm/JS files: ${kib(bundle.raw)} raw, ${kib(bundle.gzip)} gzipped`);
  for (const f of bundle.files) console.log(`  ${f.path}  ${kib(f.raw)} raw, ${kib(f.gzip)} gzipped`);
  if (process.env.PAYBUS_BUNDLE_REPORT) writeFileSync(process.env.PAYBUS_BUNDLE_REPORT, JSON.stringify(bundle));

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await signIn(context);
  await measure(context);
  const warm = [];
  for (let i = 0; i < RUNS; i++) warm.push(await measure(context));
  summary('overview, warm cache', warm);
  await context.close();
} finally {
  await browser.close();
}
