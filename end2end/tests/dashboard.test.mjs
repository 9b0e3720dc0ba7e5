// The dashboard in a real browser: sign up, verify by code, log in, create and switch tenants,
// create an API key that is shown exactly once, and keep a screenshot of it.
//
// Started by end2end/run.sh, which serves a fresh paybus and sets PAYBUS_E2E_URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, PASSWORD, Tab, launch, stripeEvent } from '../support.mjs';

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
const hydrated = () => tab.hydrated();
const activeTenant = () => tab.activeTenant();

test('a merchant signs up, logs in, switches tenant and creates an API key shown once', async () => {
  const email = `e2e-${Date.now()}@example.com`;

  // Sign up: the server function redirects to the code form with the email filled in.
  await visit('/signup');
  await page.fill('#signup-email', email);
  await page.fill('#signup-password', PASSWORD);
  await page.fill('#signup-tenant', 'E2E Store');
  await page.click('#signup-form button[type=submit]');
  await page.waitForURL(/\/verify-email-code/);
  assert.equal(await page.inputValue('#verify-email'), email);

  // The development mail transport keeps the message; read the six-digit code from its subject.
  await visit('/dev/mail');
  const subject = await page.textContent(`article.mail[data-to="${email}"] .mail-subject`);
  const code = subject.match(/(\d{6})\s*$/)?.[1];
  assert.ok(code, `no code in the verification subject: ${subject}`);

  await visit(`/verify-email-code?email=${encodeURIComponent(email)}`);
  await page.fill('#verify-code', code);
  await page.click('#verify-form button[type=submit]');
  await page.waitForURL(/\/login\?verified/);

  // A wrong password shows a readable error and keeps the visitor on the login page.
  await hydrated();
  await page.fill('#login-email', email);
  await page.fill('#login-password', 'not the password at all');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-form .error');
  assert.match(await page.textContent('#login-form .error'), /email or password/i);

  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('[data-testid="active-tenant"]');
  await hydrated();
  assert.equal(await activeTenant(), 'E2E Store');

  // A second tenant becomes active when created.
  await visit('/tenants/new');
  await page.fill('#tenant-name', 'E2E Marketplace');
  await page.click('#new-tenant-form button[type=submit]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="active-tenant"]')?.textContent.trim() === 'E2E Marketplace');

  // Switch back with the tenant switcher: the session's active tenant changes and survives a reload.
  await hydrated();
  const storeId = await page.$eval('#tenant_id', (select) =>
    [...select.options].find((o) => o.textContent.startsWith('E2E Store')).value);
  await page.selectOption('#tenant_id', storeId);
  await page.click('#tenant-switcher button[type=submit]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="active-tenant"]')?.textContent.trim() === 'E2E Store');
  await visit('/');
  assert.equal(await activeTenant(), 'E2E Store');

  // Create an API key: the secret appears once, then only its prefix and last four remain.
  await visit('/api-keys');
  assert.ok(await page.isVisible('text=No API keys yet.'));
  await page.fill('#key-name', 'Checkout backend');
  await page.selectOption('#key-role', 'developer');
  await page.click('#create-key-form button[type=submit]');
  const secretNode = await page.waitForSelector('[data-testid="new-api-key"]');
  const secret = (await secretNode.textContent()).trim();
  assert.match(secret, /^sk_test_[A-Za-z0-9]{20,}$/);
  await page.waitForSelector('#api-keys-table td:has-text("Checkout backend")');
  const row = await page.textContent('#api-keys-table tbody tr');
  assert.ok(row.includes(secret.slice(-4)), 'the table shows the last four characters');
  assert.ok(!row.includes(secret), 'the table never shows the whole key');

  await tab.screenshot('dashboard-api-keys');

  // The key works against the API, in the tenant it was created in.
  const response = await fetch(`${BASE}/api/v1/tenant`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).name, 'E2E Store');

  // After a reload the secret is gone for good.
  await visit('/api-keys');
  assert.equal(await page.$('[data-testid="new-api-key"]'), null);
  assert.ok(!(await page.content()).includes(secret));

  // What the merchant did is on the event bus: the explorer lists it and opens its deliveries.
  await visit('/events?type=api_key.created');
  await page.waitForSelector('#events-table td:has-text("api_key.created")');
  await page.click('#events-table a[href^="/events/evt_"]');
  await page.waitForURL(/\/events\/evt_/);
  await page.waitForSelector('#event-deliveries');
  assert.match(await page.textContent('main'), /api_key\.created/);
  await tab.screenshot('dashboard-event');

  // The bus stats page draws its charts on the server.
  await visit('/bus');
  await page.waitForSelector('#bus-stats svg[data-chart="events"]');
  assert.ok(await page.$('svg[data-chart="backlog"]'));
  await tab.screenshot('dashboard-event-bus');

  // Stripe tells us about a payment, a partial refund and a dispute; the ledger pages show it.
  const tenant = (await (await fetch(`${BASE}/api/v1/tenant`, { headers: { authorization: `Bearer ${secret}` } })).json()).id;
  const metadata = { paybus_tenant: tenant };
  const base = { id: 'pi_e2eStory', object: 'payment_intent', amount: 4200, currency: 'usd', created: 1_800_000_000, metadata };
  await stripeEvent('payment_intent.created', { ...base, status: 'requires_payment_method', amount_received: 0 });
  await stripeEvent('payment_intent.succeeded', { ...base, status: 'succeeded', amount_received: 4200, receipt_email: 'buyer@example.com' });
  await stripeEvent('refund.created', { id: 're_e2eStory', object: 'refund', amount: 1000, currency: 'usd', status: 'succeeded',
    payment_intent: 'pi_e2eStory', charge: 'ch_e2eStory', created: 1_800_000_100, metadata });
  await visit('/payments');
  await page.waitForSelector('#payments-table td:has-text("buyer@example.com")');
  assert.match(await page.textContent('#payments-table'), /partially_refunded|Partially refunded/i);
  await page.click('#payments-table a[href^="/payments/pay_"]');
  await page.waitForSelector('#payment-timeline');
  const timeline = await page.textContent('#payment-timeline');
  for (const step of ['Payment created', 'Payment succeeded', 'Refund created']) {
    assert.ok(timeline.includes(step), `${step} missing from the timeline: ${timeline}`);
  }
  await tab.screenshot('dashboard-payment');
});
