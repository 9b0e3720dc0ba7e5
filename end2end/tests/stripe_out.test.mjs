// Stripe out in a real browser, against `paybus serve --demo`'s built-in Stripe mock (which
// answers like Stripe and sends signed webhooks back): refund and capture a demo payment, onboard
// the Connect account through the hosted page, and sell through a checkout link.
//
// Started by end2end/run.sh, which serves a fresh paybus with --demo and sets PAYBUS_E2E_URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.PAYBUS_E2E_URL ?? 'http://127.0.0.1:3000';
const CHROMIUM = process.env.PAYBUS_E2E_CHROMIUM ?? '/usr/bin/chromium';

let browser;
let page;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

after(async () => {
  await browser?.close();
});

async function visit(path) {
  await page.goto(BASE + path);
  await page.waitForSelector('body[data-hydrated="true"]');
}

/** Reloads `path` until `check` passes: Stripe's webhooks arrive a moment after the action. */
async function eventually(path, check) {
  let last;
  for (let i = 0; i < 40; i++) {
    await visit(path);
    try {
      await check();
      return;
    } catch (error) {
      last = error;
      await page.waitForTimeout(250);
    }
  }
  throw last;
}

async function openPaymentOf(customer) {
  await visit('/payments');
  await page.fill('#filter-email', customer);
  await page.click('#payments-filter button[type=submit]');
  await page.waitForSelector(`#payments-table tbody tr:has-text("${customer}")`);
  await page.click(`#payments-table tbody tr:has-text("${customer}") a`);
  await page.waitForSelector('#payment-summary');
  return page.url().replace(BASE, '');
}

test('a demo merchant refunds, captures, onboards with Stripe and sells through a checkout link', async () => {
  await visit('/login');
  await page.fill('#login-email', 'demo@paybus.dev');
  await page.fill('#login-password', 'paybus-demo-password');
  await page.click('#login-form button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  await visit('/');
  assert.equal((await page.textContent('[data-testid="active-tenant"]')).trim(), 'Demo Store');

  // Refund part of Ada's $49.00 payment; Stripe's refund.created updates the ledger.
  const ada = await openPaymentOf('ada@example.com');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.click('#payment-actions summary:has-text("Refund")');
  await page.fill('#refund-amount', '10.00');
  await page.click('#refund-form button[type=submit]');
  await page.waitForSelector('#refund-done');
  await eventually(ada, async () => {
    assert.match(await page.textContent('#payment-summary'), /Refunded\s*10\.00 USD/);
  });
  assert.match(await page.textContent('body'), /Refund requested/);

  // Too much is refused with a readable message, and nothing moves.
  await page.click('#payment-actions summary:has-text("Refund")');
  await page.fill('#refund-amount', '100.00');
  await page.click('#refund-form button[type=submit]');
  await page.waitForSelector('.error >> text=/exceeds the refundable amount/');

  // Capture Barbara's authorised $80.00.
  const barbara = await openPaymentOf('barbara@example.com');
  await page.click('#payment-actions summary:has-text("Capture")');
  await page.click('#capture-form button[type=submit]');
  await page.waitForSelector('#capture-done');
  await eventually(barbara, async () => {
    assert.match(await page.textContent('#payment-summary'), /Captured\s*80\.00 USD/);
  });

  // Connect: create the account, onboard on the hosted page, come back enabled.
  await visit('/connect');
  await page.click('#create-connect-form button[type=submit]');
  await page.waitForSelector('#connect-account');
  assert.match(await page.textContent('#requirements-due'), /business_type/);
  await page.click('#continue-onboarding-form button[type=submit]');
  await page.waitForURL(/\/connect$/);
  await eventually('/connect', async () => {
    assert.match(await page.textContent('#connect-account'), /Charges\s*enabled/);
  });

  // Checkout: a $25.00 link, paid on the hosted page, lands in the payments list.
  await visit('/checkout');
  await page.fill('#checkout-amount', '25');
  await page.fill('#checkout-description', 'E2E donation');
  await page.fill('#checkout-success', `${BASE}/payments`);
  await page.fill('#checkout-cancel', `${BASE}/checkout`);
  await page.click('#checkout-form button[type=submit]');
  await page.waitForSelector('#checkout-created');
  const link = await page.getAttribute('#checkout-created a', 'href');
  await page.goto(link);
  await page.fill('input[name=email]', 'e2e-buyer@example.com');
  await page.click('#pay');
  await page.waitForURL(/\/payments$/);
  await eventually('/payments', async () => {
    assert.match(await page.textContent('#payments-table'), /e2e-buyer@example\.com/);
  });
});
