// Integrations in a real browser, against `paybus serve --demo`: a plugin switched on and
// configured from the Plugins page delivers to a local chat receiver; (with the endpoints and
// rules pages) outbound webhooks reach a local subscriber, signed.
//
// Started by end2end/run.sh (which allows loopback targets for these local receivers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Tab, launch, receiver as startReceiver } from '../support.mjs';

let browser;
let tab;
let page;
let receiver;

before(async () => {
  receiver = await startReceiver();
  browser = await launch();
  tab = await Tab.open(browser);
  page = tab.page;
});

after(async () => {
  await browser?.close();
  await receiver?.close();
});

const receiverUrl = (path) => receiver.url(path);
const waitFor = (predicate, what) => receiver.waitFor(predicate, what);
const login = () => tab.login();
const visit = (path) => tab.visit(path);

test('a merchant configures chat alerts on the plugins page and their test message arrives', async () => {
  await login();
  await visit('/plugins');
  const chat = page.locator('#plugin-chat-alerts');
  await chat.waitFor();
  assert.equal(await chat.getAttribute('data-enabled'), 'false');

  await chat.locator('summary:has-text("Settings")').click();
  await page.fill('#chat-alerts-webhook_url', receiverUrl('/chat'));
  await chat.locator('button:has-text("Save settings")').click();
  await page.waitForSelector('#plugin-configured');
  // The URL is a secret: shown masked from now on.
  await page.locator('#plugin-chat-alerts summary:has-text("Settings")').click();
  assert.notEqual(await page.inputValue('#chat-alerts-webhook_url'), receiverUrl('/chat'));

  await page.locator('#plugin-chat-alerts button:has-text("Turn on")').click();
  await page.waitForSelector('#plugin-chat-alerts[data-enabled="true"]');

  await page.locator('#plugin-chat-alerts button:has-text("Send a test")').click();
  await page.waitForSelector('#plugin-test-result');
  const message = await waitFor((r) => r.path === '/chat', 'the chat test message');
  assert.ok(JSON.parse(message.body).text, `a Slack-compatible body: ${message.body}`);
});
