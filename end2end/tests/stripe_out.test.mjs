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
    try {
      // A navigation still settling (a redirect back from a hosted page) may abort this one.
      await visit(path);
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
  // The button leaves for Stripe's hosted onboarding, which sends the merchant back here.
  const onboarding = page.waitForRequest((request) => request.url().includes('/connect/onboard/'));
  await page.click('#continue-onboarding-form button[type=submit]');
  await onboarding;
  await page.waitForURL(/\/connect$/);
  await page.waitForLoadState('load');
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

  // The payment audit log shows what just happened, and exports it.
  await visit('/audit');
  const audit = await page.textContent('#audit-table');
  assert.match(audit, /refund\.create/);
  assert.match(audit, /payment\.capture/);
  assert.match(audit, /checkout\.create/);
  const csv = await page.request.get(`${BASE}/api/v1/payment-audit-log/export.csv`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^id,created_at,actor_type,actor,action,payment_id,amount,currency,result\n/);
});

test('settings mask secrets, rotate webhook secrets and switch payments off; disputes, refunds and the webhook audit read back', async () => {
  await visit('/settings');
  await page.fill('#new-webhook-secret', 'whsec_e2eRotationSecretOld1234');
  await page.click('#add-webhook-secret-form button[type=submit]');
  await page.waitForSelector('#webhook-secrets code:has-text("whsec_…1234")');
  await page.fill('#new-webhook-secret', 'whsec_e2eRotationSecretNew5678');
  await page.click('#add-webhook-secret-form button[type=submit]');
  await page.waitForSelector('#webhook-secrets code:has-text("whsec_…5678")');
  await page.click('#webhook-secrets li:has-text("whsec_…1234") button');
  await page.waitForSelector('#webhook-secrets code:has-text("whsec_…1234")', { state: 'detached' });
  assert.doesNotMatch(await page.content(), /e2eRotationSecret/, 'no secret in the page');

  await page.fill('#settings-stripe-key', 'sk_test_e2eOwnKeyAbcdefgh9999');
  await page.uncheck('#settings-form input[name=payments_enabled]');
  await page.click('#settings-form button[type=submit]');
  await page.waitForSelector('#settings-saved');
  await visit('/settings');
  assert.equal(await page.inputValue('#settings-stripe-key'), 'sk_test_…9999');
  assert.match(await page.textContent('#settings-audit'), /payments_enabled/);

  await visit('/checkout');
  await page.fill('#checkout-amount', '5');
  await page.fill('#checkout-success', `${BASE}/payments`);
  await page.fill('#checkout-cancel', `${BASE}/checkout`);
  await page.click('#checkout-form button[type=submit]');
  await page.waitForSelector('.error >> text=/Payments are disabled/');

  // The mask sent back keeps the key; payments back on.
  await visit('/settings');
  await page.check('#settings-form input[name=payments_enabled]');
  await page.click('#settings-form button[type=submit]');
  await page.waitForSelector('#settings-saved');
  await visit('/settings');
  assert.equal(await page.inputValue('#settings-stripe-key'), 'sk_test_…9999');

  // Disputes: Alan's open dispute, with its evidence deadline on the detail page.
  await visit('/disputes');
  await page.click('#disputes-table a.dispute-link');
  await page.waitForSelector('#dispute-detail');
  assert.match(await page.textContent('#evidence-due'), /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

  await visit('/refunds');
  assert.match(await page.textContent('#refunds-table'), /USD/);
  await visit('/webhooks');
  assert.match(await page.textContent('#webhook-events-table'), /processed/);
});

