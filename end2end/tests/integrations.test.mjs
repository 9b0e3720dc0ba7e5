// Integrations in a real browser, against `paybus serve --demo`: a plugin switched on and
// configured from the Plugins page delivers to a local chat receiver; (with the endpoints and
// rules pages) outbound webhooks reach a local subscriber, signed.
//
// Started by end2end/run.sh (which allows loopback targets for these local receivers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { chromium } from 'playwright-core';

const BASE = process.env.PAYBUS_E2E_URL ?? 'http://127.0.0.1:3000';
const CHROMIUM = process.env.PAYBUS_E2E_CHROMIUM ?? '/usr/bin/chromium';

let browser;
let page;
let receiver;
const received = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
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
  receiver?.close();
});

const receiverUrl = (path) => `http://127.0.0.1:${receiver.address().port}${path}`;

async function visit(path) {
  await page.goto(BASE + path);
  await page.waitForSelector('body[data-hydrated="true"]');
}

async function waitFor(predicate, what) {
  for (let i = 0; i < 80; i++) {
    const hit = received.find(predicate);
    if (hit) return hit;
    await page.waitForTimeout(250);
  }
  throw new Error(`nothing received: ${what}; got ${JSON.stringify(received.map((r) => r.path))}`);
}

async function login() {
  await visit('/login');
  await page.fill('#login-email', 'demo@paybus.dev');
  await page.fill('#login-password', 'paybus-demo-password');
  await page.click('#login-form button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

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
