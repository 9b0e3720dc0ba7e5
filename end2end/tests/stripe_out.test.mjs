// Stripe out in a real browser, against `paybus serve --demo`'s built-in Stripe mock (which
// answers like Stripe and sends signed webhooks back): refund and capture a demo payment and sell
// through a checkout link (Connect onboarding is part of journey.test.mjs, on a new tenant).
//
// Started by end2end/run.sh, which serves a fresh paybus with --demo and sets PAYBUS_E2E_URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, Tab, launch } from '../support.mjs';

let browser;
let tab;
let page;

before(async () => {
  browser = await launch();
  tab = await Tab.open(browser);
  page = tab.page;
});

after(async () => {
  await browser?.close();
});

const visit = (path) => tab.visit(path);
const eventually = (path, check) => tab.eventually(path, check);

async function openPaymentOf(customer) {
  await visit('/payments');
  await page.fill('#filter-email', customer);
  await page.click('#payments-filter button[type=submit]');
  await page.waitForSelector(`#payments-table tbody tr:has-text("${customer}")`);
  await page.click(`#payments-table tbody tr:has-text("${customer}") a`);
  await page.waitForSelector('#payment-summary');
  return page.url().replace(BASE, '');
}

test('a demo merchant refunds, captures and sells through a checkout link', async () => {
  await tab.login();
  await visit('/');
  assert.equal((await page.textContent('[data-testid="active-tenant"]')).trim(), 'Demo Store');

  // Refund part of Ada's $49.00 payment; Stripe's refund.created updates the ledger.
  const ada = await openPaymentOf('ada@example.com');
  await page.waitForSelector('body[data-hydrated="true"]');
  await tab.reveal('#refund-amount');
  await page.fill('#refund-amount', '10.00');
  await tab.confirmAndSubmit('#refund-form');
  await page.waitForSelector('#refund-done');
  await eventually(ada, async () => {
    assert.match(await page.textContent('#payment-summary'), /Refunded\s*10\.00 USD/);
  });
  assert.match(await page.textContent('body'), /Refund requested/);

  // Too much is refused with a readable message, and nothing moves.
  await tab.reveal('#refund-amount');
  await page.fill('#refund-amount', '100.00');
  await tab.confirmAndSubmit('#refund-form');
  await page.waitForSelector('.error >> text=/exceeds the refundable amount/');

  // Capture Barbara's authorised $80.00.
  const barbara = await openPaymentOf('barbara@example.com');
  await tab.confirmAndSubmit('#capture-form');
  await page.waitForSelector('#capture-done');
  await eventually(barbara, async () => {
    assert.match(await page.textContent('#payment-summary'), /Captured\s*80\.00 USD/);
  });

  // Checkout needs the tenant's Stripe account. Until the demo seed brings one, onboard it here
  // (journey.test.mjs checks onboarding itself).
  await visit('/connect');
  if (await page.$('#create-connect-form')) {
    await page.click('#create-connect-form button[type=submit]');
    await page.waitForSelector('#continue-onboarding-form');
    await Promise.all([page.waitForURL(/\/connect$/), page.click('#continue-onboarding-form button[type=submit]')]);
    await eventually('/connect', async () => {
      assert.match(await page.textContent('#connect-account'), /Charges\s*enabled/);
    });
  }

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
  await tab.confirmAndSubmit('#webhook-secrets li:has-text("whsec_…1234")');
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

