// The dashboard without JavaScript: a merchant can log in with the form, read the payments and a
// payment, and post a form and see the result, because the server renders every page and every
// form posts to its server function. And with JavaScript, the wasm bundle really takes over
// (hydration): a click handler only the bundle has does its work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, Tab, launch, unique } from '../support.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test('without JavaScript: log in, read payments and a payment, invite a member', async () => {
  const tab = await Tab.open(browser, { javaScript: false });
  const page = tab.page;
  try {
    // The login form posts to its server function, which signs in and redirects to the dashboard.
    await tab.visit('/login');
    await page.fill('#login-email', DEMO.email);
    await page.fill('#login-password', DEMO.password);
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login') && !url.pathname.startsWith('/sfn')), page.click('#login-form button[type=submit]')]);
    await tab.hydrated();
    assert.equal(await tab.activeTenant(), 'Demo Store');
    assert.equal(await page.$('body[data-hydrated]'), null, 'no script ran');
    await tab.screenshot('nojs-overview');

    // Reading: the list, then a payment with its timeline, all rendered by the server.
    await tab.visit('/payments');
    const rows = await page.locator('#payments-table tbody tr').count();
    assert.ok(rows > 0, 'the payments list has rows without JavaScript');
    assert.match(await page.textContent('#payments-table'), /USD|EUR|GBP/);
    await tab.screenshot('nojs-payments');
    await Promise.all([page.waitForURL(/\/payments\/pay_/), page.click('#payments-table tbody a[href^="/payments/pay_"] >> nth=0')]);
    await page.waitForSelector('#payment-summary');
    await page.waitForSelector('#payment-timeline');
    assert.match(await page.textContent('#payment-timeline'), /Payment created/);
    await tab.screenshot('nojs-payment');

    // Posting: an invitation goes out and the page that comes back lists it.
    const email = `${unique('nojs')}@example.com`;
    await tab.visit('/members');
    await page.fill('#invite-email', email);
    await page.selectOption('#invite-role', 'developer');
    await Promise.all([page.waitForURL(/\/members/), page.click('#invite-form button[type=submit]')]);
    await tab.hydrated();
    await page.waitForSelector(`#invitations-table td:has-text("${email}")`);
    assert.match(await page.textContent(`#invitations-table tr:has-text("${email}")`), /developer/);
    await tab.screenshot('nojs-members-invited');
  } finally {
    await tab.close();
  }
});

test('with JavaScript the page hydrates: the bundle submits a form in place and shows its result', async () => {
  const tab = await Tab.open(browser);
  const page = tab.page;
  const errors = watchErrors(page);
  try {
    await tab.login();
    await tab.visit('/api-keys');
    // Hydrated, the form is the bundle's: it calls the server function and shows the new key
    // on the same document. Without the bundle the browser would post and load another page,
    // and the key (shown once) would be gone.
    let documents = 0;
    page.on('load', () => { documents += 1; });
    await page.fill('#key-name', unique('hydrated'));
    await page.click('#create-key-form button[type=submit]');
    const secret = (await (await page.waitForSelector('[data-testid="new-api-key"]')).textContent()).trim();
    assert.match(secret, /^sk_test_/);
    assert.equal(documents, 0, 'no page load: the wasm bundle handled the submit');
    assert.equal(await page.getAttribute('body', 'data-hydrated'), 'true');
    await tab.screenshot('hydrated-api-key');
    assert.deepEqual(errors, [], 'no script errors while hydrating');
  } finally {
    await tab.close();
  }
});

test('with JavaScript the rule editor hydrates: its "Add condition" button (a wasm click handler) adds a row', async () => {
  const tab = await Tab.open(browser);
  const page = tab.page;
  const errors = watchErrors(page);
  try {
    await tab.login();
    // A plain button (type=button) with a wasm click handler: before hydration it does nothing.
    await tab.visit('/rules/new');
    const before = await page.locator('#rule-conditions tbody tr').count();
    await page.click('#add-condition');
    await page.waitForFunction((n) => document.querySelectorAll('#rule-conditions tbody tr').length === n + 1, before, { timeout: 5_000 });
    assert.deepEqual(errors, [], 'no script errors while hydrating');
  } finally {
    await tab.close();
  }
});

/** Script errors and hydration complaints on `page`. */
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error' && /hydrat/i.test(message.text())) errors.push(message.text().split('\n')[0]); });
  return errors;
}
