// A merchant's first hour, in order, in a real browser against `paybus serve --demo` (whose
// built-in Stripe mock plays Stripe): sign up and verify the email from the development mailbox,
// create a tenant, onboard with Stripe Connect, receive signed webhooks from
// `paybus stripe trigger`, follow the payment, refund part of it, follow a dispute, add a
// webhook endpoint and see it delivered, turn a plugin on, replay events and watch the replay
// finish, invite a viewer who joins and cannot refund. Every page is screenshotted.
//
// The subtests share one story and run in order; each depends on the ones before it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { BASE, PASSWORD, Tab, launch, receiver as startReceiver, stripeEvent, trigger, unique } from '../support.mjs';

let browser;
/** The merchant (owner). */
let owner;
/** The colleague invited as a viewer. */
let viewer;
let hooks;

const merchant = `${unique('journey')}@example.com`;
const colleague = `${unique('viewer')}@example.com`;
const story = {};

before(async () => {
  hooks = await startReceiver();
  browser = await launch();
  owner = await Tab.open(browser);
});

after(async () => {
  await browser?.close();
  await hooks?.close();
});

/** Signs up `email`, verifies it (by the link in the mail, or by its code) and logs in. */
async function signUpAndVerify(tab, email, { workspace, by }) {
  const page = tab.page;
  await tab.visit('/signup');
  await tab.screenshot('journey-01-signup');
  await page.fill('#signup-email', email);
  await page.fill('#signup-password', PASSWORD);
  if (workspace) await page.fill('#signup-tenant', workspace);
  await page.click('#signup-form button[type=submit]');
  await page.waitForURL(/\/verify-email-code/);
  await tab.hydrated();
  await tab.screenshot('journey-02-verify');

  const mail = await tab.mailTo(email, { matching: /verif/i });
  await tab.screenshot('journey-03-dev-mail');
  if (by === 'link') {
    const link = mail.body.match(/https?:\/\/\S+\/verify-email\?token=[^\s"<]+/)?.[0];
    assert.ok(link, `no verification link in the mail: ${mail.body}`);
    await page.goto(BASE + new URL(link).pathname + new URL(link).search);
  } else {
    const code = `${mail.subject} ${mail.body}`.match(/\b(\d{6})\b/)?.[1];
    assert.ok(code, `no code in the verification mail: ${mail.subject}`);
    await tab.visit(`/verify-email-code?email=${encodeURIComponent(email)}`);
    await page.fill('#verify-code', code);
    await page.click('#verify-form button[type=submit]');
  }
  await page.waitForURL(/\/login\?verified/);
  // A hydrated form navigates in the page: the URL changes before the login page's own chunk has
  // arrived and replaced the verify page, and the hydration mark is still the previous page's.
  await page.waitForSelector('#login-form');
  await tab.hydrated();
  assert.match(await page.textContent('main'), /Email verified/);

  await page.fill('#login-email', email);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  await tab.hydrated();
}

/** The payment detail page's path of the tenant's only payment. */
async function onlyPaymentPath(tab) {
  let path;
  await tab.eventually('/payments', async () => {
    const links = await tab.page.$$eval('#payments-table tbody a[href^="/payments/pay_"]', (as) => [...new Set(as.map((a) => a.getAttribute('href')))]);
    assert.equal(links.length, 1, `one payment in the new tenant, found ${links.length}`);
    path = links[0];
  });
  return path;
}

test('a merchant signs up and verifies the email with the link from the development mailbox', async () => {
  await signUpAndVerify(owner, merchant, { workspace: 'Journey Shop', by: 'link' });
  assert.equal(await owner.activeTenant(), 'Journey Shop');
  await owner.screenshot('journey-04-overview');
});

test('creates a second tenant, which becomes the active one', async () => {
  const page = owner.page;
  await owner.visit('/tenants/new');
  await owner.screenshot('journey-05-new-tenant');
  await page.fill('#tenant-name', 'Journey Marketplace');
  await page.click('#new-tenant-form button[type=submit]');
  await page.waitForFunction(() =>
    document.querySelector('[data-testid="active-tenant"]')?.textContent.trim() === 'Journey Marketplace');
  await owner.visit('/');
  assert.equal(await owner.activeTenant(), 'Journey Marketplace');
  story.tenant = await owner.activeTenantId();
  assert.match(story.tenant, /^ten_/);
});

test('onboards with Stripe Connect on the hosted page and comes back enabled', async () => {
  const page = owner.page;
  await owner.visit('/connect');
  await page.waitForSelector('#connect-empty');
  await owner.screenshot('journey-06-connect-empty');
  await page.click('#create-connect-form button[type=submit]');
  await page.waitForSelector('#connect-account');
  assert.match(await page.textContent('#requirements-due'), /business_type/);
  await owner.screenshot('journey-07-connect-requirements');
  // The button leaves for Stripe's hosted onboarding, which sends the merchant back here.
  const onboarding = page.waitForRequest((request) => request.url().includes('/connect/onboard/'));
  await page.click('#continue-onboarding-form button[type=submit]');
  await onboarding;
  await page.waitForURL(/\/connect$/);
  await page.waitForLoadState('load');
  // Stripe's account.updated arrives a moment later.
  await owner.eventually('/connect', async () => {
    assert.match(await page.textContent('#connect-account'), /Charges\s*enabled/);
  });
  assert.ok(await page.$('#requirements-none'), 'Stripe needs nothing more');
  await owner.screenshot('journey-08-connect-enabled');
});

test('adds a webhook endpoint pointing at a local receiver; the signing secret is shown once', async () => {
  const page = owner.page;
  await owner.visit('/webhook-endpoints');
  await owner.screenshot('journey-09-webhook-endpoints-empty');
  await page.fill('#endpoint-url', hooks.url('/journey-hooks'));
  await page.fill('#endpoint-description', 'Journey ERP');
  await page.click('#create-endpoint-form button[type=submit]');
  story.endpointSecret = (await page.textContent('[data-testid="new-webhook-secret"]')).trim();
  assert.match(story.endpointSecret, /^whsec_/);
  await page.waitForSelector(`#webhook-endpoints-table a:has-text("${hooks.url('/journey-hooks')}")`);
  story.endpoint = await page.getAttribute(`#webhook-endpoints-table a:has-text("${hooks.url('/journey-hooks')}")`, 'href');
  await owner.screenshot('journey-10-webhook-endpoint-created');
});

test('Stripe reports a payment (signed webhooks from paybus stripe trigger); the list and the timeline show it', async () => {
  const page = owner.page;
  const created = await trigger('payment_intent.created', { tenant: story.tenant, amount: 8_000 });
  story.intent = created.paymentIntent;
  assert.match(story.intent, /^pi_/);
  await trigger('payment_intent.succeeded', { tenant: story.tenant, paymentIntent: story.intent, amount: 8_000 });
  await trigger('charge.succeeded', { tenant: story.tenant, paymentIntent: story.intent, amount: 8_000 });

  story.payment = await onlyPaymentPath(owner);
  assert.match(await page.textContent('#payments-table'), /80\.00/);
  await owner.screenshot('journey-11-payments');

  await owner.eventually(story.payment, async () => {
    const timeline = await page.textContent('#payment-timeline');
    for (const step of ['Payment created', 'Payment succeeded']) assert.ok(timeline.includes(step), `${step} missing: ${timeline}`);
  });
  assert.match(await page.textContent('#payment-summary'), new RegExp(story.intent));
  await owner.screenshot('journey-12-payment');
});

test('refunds part of the payment through the confirmation step; the ledger follows Stripe', async () => {
  const page = owner.page;
  await owner.visit(story.payment);
  await owner.reveal('#refund-amount');
  await page.fill('#refund-amount', '25.00');
  // The server function's address, for the viewer's attempt later.
  story.refundAction = await page.getAttribute('#refund-form', 'action');
  await owner.confirmAndSubmit('#refund-form');
  await page.waitForSelector('#refund-done');
  await owner.screenshot('journey-13-refund-requested');
  await owner.eventually(story.payment, async () => {
    assert.match(await page.textContent('#payment-summary'), /Refunded\s*25\.00 USD/);
  });
  assert.match(await page.textContent('#payment-timeline'), /Refund/);
  await owner.screenshot('journey-14-payment-refunded');

  await owner.visit('/refunds');
  assert.match(await page.textContent('#refunds-table'), /25\.00/);
  await owner.screenshot('journey-15-refunds');
});

test('a dispute opens and closes; the disputes list and the dispute page follow it', async () => {
  const page = owner.page;
  await trigger('charge.dispute.created', { tenant: story.tenant, paymentIntent: story.intent, amount: 8_000 });
  await owner.eventually('/disputes', async () => {
    await page.waitForSelector('#disputes-table a.dispute-link', { timeout: 1_000 });
  });
  assert.match(await page.textContent('#disputes-table'), /needs_response|Needs response/i);
  await owner.screenshot('journey-16-disputes');
  await page.click('#disputes-table a.dispute-link');
  await page.waitForSelector('#dispute-detail');
  story.dispute = owner.path();
  assert.match(await page.textContent('#evidence-due'), /\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await owner.screenshot('journey-17-dispute-open');

  // `stripe trigger` makes a new dispute for every event; Stripe closes this one, so its own
  // charge.dispute.closed (signed the same way) carries the same dispute id.
  const stripeDispute = (await page.textContent('#dispute-detail dd.mono.small')).trim();
  assert.match(stripeDispute, /^dp_/);
  await stripeEvent('charge.dispute.closed', {
    id: stripeDispute, object: 'dispute', amount: 8_000, currency: 'usd', status: 'lost', reason: 'general',
    payment_intent: story.intent, charge: null, created: Math.floor(Date.now() / 1000),
    evidence_details: { due_by: null }, metadata: { paybus_tenant: story.tenant },
  });
  await owner.eventually(story.dispute, async () => {
    assert.match(await page.textContent('main h1'), /lost/i);
  });
  await owner.screenshot('journey-18-dispute-closed');
  await owner.visit('/disputes');
  assert.equal(await page.locator('#disputes-table tbody tr').count(), 1, 'the close updated the dispute, not a new one');
});

test('the webhook endpoint delivered the events, signed, and lists its attempts', async () => {
  const page = owner.page;
  const delivery = await hooks.waitFor((r) => r.path === '/journey-hooks' && r.body.includes(story.intent), 'a payment event for the endpoint');
  // Standard Webhooks: v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
  const key = Buffer.from(story.endpointSecret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${delivery.headers['webhook-id']}.${delivery.headers['webhook-timestamp']}.${delivery.body}`).digest('base64');
  assert.ok(delivery.headers['webhook-signature'].split(' ').includes(`v1,${expected}`), 'the delivery is signed with the endpoint secret');

  await owner.eventually(story.endpoint, async () => {
    assert.match(await page.textContent('#webhook-attempts'), /200/);
  });
  assert.match(await page.textContent('#webhook-messages'), /payment/);
  await owner.screenshot('journey-19-webhook-endpoint-attempts');
});

test('turns a plugin on', async () => {
  const page = owner.page;
  await owner.visit('/plugins');
  await owner.screenshot('journey-20-plugins');
  // Whichever plugin a new tenant has off (some are on from the start).
  const id = await page.getAttribute('section.plugin[data-enabled="false"]', 'id');
  assert.ok(id, 'a plugin that is off');
  await page.locator(`#${id} button:has-text("Turn on")`).click();
  await page.waitForSelector(`#${id}[data-enabled="true"]`);
  await page.waitForSelector('#plugin-switched');
  await owner.visit('/plugins');
  assert.equal(await page.getAttribute(`#${id}`, 'data-enabled'), 'true', 'still on after a reload');
  await owner.screenshot('journey-21-plugin-on');
});

test('replays the payment events and watches the replay finish', async () => {
  const page = owner.page;
  await owner.visit('/events');
  await page.waitForSelector('#events-table');
  await owner.screenshot('journey-22-events');
  await page.fill('#replay-types', 'payment.*');
  await owner.confirmAndSubmit('#replay-form');
  await page.waitForSelector('#replay-started a[href^="/events/replays/"]');
  await page.click('#replay-started a[href^="/events/replays/"]');
  await page.waitForURL(/\/events\/replays\//);
  await page.waitForSelector('#replay-detail');
  // The page polls while the replay runs; it must get to completed without a reload.
  await page.waitForSelector('#replay-detail .replay-progress[data-status="completed"]', { timeout: 30_000 });
  assert.match(await page.textContent('#replay-detail'), /[1-9]\d* \/ \d+ events matched/);
  assert.equal(await page.getAttribute('#replay-detail progress', 'value'), '1.000');
  await owner.screenshot('journey-23-replay-completed');
  // The replayed deliveries reach the endpoint too, marked as replays.
  await hooks.waitFor((r) => r.path === '/journey-hooks' && /replay/i.test(r.body), 'a replayed delivery');
});

test('invites a colleague as a viewer; they join from the emailed link', async () => {
  const page = owner.page;
  await owner.visit('/members');
  await page.fill('#invite-email', colleague);
  await page.selectOption('#invite-role', 'viewer');
  await page.click('#invite-form button[type=submit]');
  await page.waitForSelector(`#invitations-table td:has-text("${colleague}")`);
  assert.match(await page.textContent(`#invitations-table tr:has-text("${colleague}")`), /viewer/);
  await owner.screenshot('journey-24-members');

  viewer = await Tab.open(browser);
  const invitation = await viewer.mailTo(colleague, { matching: /invit/i });
  const link = invitation.body.match(/https?:\/\/\S+\/invitations\/accept\?token=[^\s"<]+/)?.[0];
  assert.ok(link, `no invitation link in the mail: ${invitation.body}`);

  await signUpAndVerify(viewer, colleague, { by: 'code' });
  const url = new URL(link);
  await viewer.visit(url.pathname + url.search);
  await viewer.screenshot('journey-25-accept-invitation');
  await viewer.page.click('#accept-form button[type=submit]');
  await viewer.page.waitForFunction(() =>
    document.querySelector('[data-testid="active-tenant"]')?.textContent.trim() === 'Journey Marketplace');
  await viewer.visit('/');
  assert.equal(await viewer.activeTenant(), 'Journey Marketplace');
  assert.match(await viewer.page.textContent('#tenant_id'), /Journey Marketplace \(viewer\)/);

  await owner.eventually('/members', async () => {
    assert.match(await page.textContent(`#members-table tr:has-text("${colleague}")`), /viewer/);
  });
});

test('the viewer reads the payment but cannot refund it, in the page or behind its back', async () => {
  const page = viewer.page;
  await viewer.visit(story.payment);
  await page.waitForSelector('#payment-summary');
  assert.match(await page.textContent('#payment-summary'), /Refunded\s*25\.00 USD/);
  assert.equal(await page.$('#refund-form'), null, 'no refund form for a viewer');
  assert.doesNotMatch(await page.textContent('main'), /Confirm refund|Refund…/);
  await viewer.screenshot('journey-26-viewer-payment');

  // The JSON API with the viewer's session cookie: refused.
  const paymentId = story.payment.split('/').pop();
  const api = await viewer.postJson('/api/v1/refunds', { payment_id: paymentId, amount: 100 }, { 'idempotency-key': unique('viewer-refund') });
  assert.equal(api.status, 403, `the API refused the viewer's refund: ${api.status} ${api.body}`);

  // The dashboard's own server function, called directly: refused too.
  assert.ok(story.refundAction, 'the refund form named its server function');
  const sfn = await viewer.postForm(story.refundAction, { id: paymentId, amount: '1.00', reason: 'requested_by_customer' });
  assert.ok(sfn.status >= 400, `the server function refused the viewer's refund: ${sfn.status} ${sfn.body}`);
  assert.match(sfn.body, /permission|not allowed|forbidden|role/i);

  // Nothing moved.
  await owner.eventually(story.payment, async () => {
    assert.match(await owner.page.textContent('#payment-summary'), /Refunded\s*25\.00 USD/);
  });
});
