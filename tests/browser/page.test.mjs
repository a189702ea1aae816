// The approval page (SPEC §7) end to end in real headless Chromium: a real `openclaw gateway` serves it,
// real `openclaw node pair` processes ask to pair, and a person's clicks decide. Run with
// `node --test tests/browser/` (or `bash tests/browser/run.sh`, which installs what is missing first).
//
// DOM contract the tests rely on:
//   #conn-status[data-state=connecting|connected|reconnecting|need-token]; form#token-form > input#token-input;
//   #pending > li.request[data-request-id][data-node-id] > .request-name .request-code .request-countdown
//   .request-repair button.approve button.reject; #pending-empty; #notices > .notice;
//   #paired > li.node[data-node-id] > .node-name .node-status button.rename (→ input.rename-input,
//   button.rename-save) button.remove (→ button.remove-confirm); #error.
//
// OPENCLAW_UPDATE_SCREENSHOTS=1 also writes tests/browser/screenshot.png (desktop) and
// tests/browser/screenshot-phone.png from the "one pending request" moment; every run writes them to
// tests/browser/.artifacts/ (git-ignored), with a screenshot of the page at any failure.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  HERE,
  cli,
  sleep,
  startGateway,
  startNode,
  startOpenClawNodeHost,
  until,
} from './harness.mjs';

import {
  allErrors,
  browserTest,
  connState,
  waitState,
  requestWithCode,
  nodeItem,
  text,
  countdownSeconds,
  assertNoRawErrorText,
  statusNodes,
} from './page-helpers.mjs';

fs.mkdirSync(ARTIFACTS, { recursive: true });

// ---- tests --------------------------------------------------------------------------------------------

browserTest('a person approves a node from the printed URL; a re-pair is marked and approved too', {}, async ({ gw, gwState, page, b }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  assert.ok(!page.url().includes(gw.token), `the token left the address bar: ${page.url()}`);
  assert.ok(!page.url().includes('token='), `no token= in ${page.url()}`);
  const storage = await page.evaluate(() => ({
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie,
  }));
  assert.ok(!storage.local.includes(gw.token), 'the token is not in localStorage');
  assert.ok(!storage.cookie.includes(gw.token), 'the token is not in a cookie');
  assert.ok(storage.session.includes(gw.token), 'the token is kept in sessionStorage');
  await page.locator('#pending-empty').waitFor({ state: 'visible' });
  assert.equal(await text(page.locator('#error')), '', '#error is empty when nothing is wrong');

  const node = await startNode(gw.wsUrl, 'kitchen-pi');
  const req = await requestWithCode(page, node.code);
  assert.match(await text(req.locator('.request-name')), /kitchen-pi/);
  assert.notEqual(await text(req.locator('.request-countdown')), '', 'a countdown is shown');
  assert.equal(await req.locator('.request-repair').isVisible(), false, 'a first pairing is not marked as a re-pair');
  await page.locator('#pending-empty').waitFor({ state: 'hidden' });
  const nodeId = await req.getAttribute('data-node-id');
  assert.ok(nodeId, 'data-node-id');
  assert.ok(await req.getAttribute('data-request-id'), 'data-request-id');
  // Buttons have accessible names.
  assert.equal(await req.getByRole('button', { name: /approve/i }).count(), 1, 'Approve has an accessible name');
  assert.equal(await req.getByRole('button', { name: /reject/i }).count(), 1, 'Reject has an accessible name');

  // The screenshot: one pending request, desktop and phone widths; on the phone nothing scrolls sideways.
  await page.screenshot({ path: path.join(ARTIFACTS, 'screenshot.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(100);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at 390 px wide (overflow ${overflow}px)`);
  assert.ok(await req.locator('button.approve').isVisible(), 'Approve is visible on a phone');
  await page.screenshot({ path: path.join(ARTIFACTS, 'screenshot-phone.png') });
  await page.setViewportSize({ width: 1280, height: 900 });
  if (process.env.OPENCLAW_UPDATE_SCREENSHOTS) {
    for (const f of ['screenshot.png', 'screenshot-phone.png']) fs.copyFileSync(path.join(ARTIFACTS, f), path.join(HERE, f));
  }

  await req.locator('button.approve').click();
  assert.equal(await node.exitCode(), 0, `approved node exits 0:\n${node.output()}`);
  const token = JSON.parse(fs.readFileSync(node.tokenFile, 'utf8'));
  assert.ok(JSON.stringify(token).length > 20, 'token.json holds a token');
  await req.waitFor({ state: 'detached' });
  await page.locator('#pending-empty').waitFor({ state: 'visible' });
  // Not a silent vanishing: a notice says what happened, and the paired card is marked.
  await page.locator('#notices .notice[data-kind=approved]', { hasText: 'You approved kitchen-pi' }).waitFor();
  const paired = nodeItem(page, nodeId);
  await paired.waitFor({ state: 'visible' });
  assert.equal(await paired.getAttribute('data-fresh'), 'true', 'the new pairing is marked');
  assert.equal(await text(paired.locator('.node-fresh')), 'Just approved');
  assert.equal(await text(paired.locator('.node-name')), 'kitchen-pi');
  await until('.node-status to say connected or last seen', async () => /connected|last seen/i.test(await text(paired.locator('.node-status'))));
  const status = await statusNodes(gwState);
  assert.ok(status.some((n) => n.nodeId === nodeId && n.paired), `paired per nodes status: ${JSON.stringify(status)}`);

  // The same device asks again: a re-pair, marked as such; approving it rotates the token.
  const again = await startNode(gw.wsUrl, 'kitchen-pi', node.stateDir);
  assert.equal(again.code, node.code, 'same device, same code');
  const req2 = await requestWithCode(page, again.code);
  await req2.locator('.request-repair').waitFor({ state: 'visible' });
  assert.notEqual(await text(req2.locator('.request-repair')), '', 'the re-pair mark has words');
  await req2.locator('button.approve').click();
  assert.equal(await again.exitCode(), 0, `re-paired node exits 0:\n${again.output()}`);
  const rotated = JSON.parse(fs.readFileSync(again.tokenFile, 'utf8'));
  assert.notDeepEqual(rotated, token, 'a re-pair gives a new token');
  await req2.waitFor({ state: 'detached' });
  assert.equal(await nodeItem(page, nodeId).count(), 1, 'still one entry for the node');
  await assertNoRawErrorText(page);
});

browserTest('rejecting from the page (by keyboard) makes the node exit 2', {}, async ({ gw, gwState, page }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  const node = await startNode(gw.wsUrl, 'stranger');
  const req = await requestWithCode(page, node.code);
  const nodeId = await req.getAttribute('data-node-id');
  await req.locator('button.reject').focus();
  await page.keyboard.press('Enter');
  // One keypress only asks; focus lands on Cancel (the safe choice), Shift+Tab reaches "Yes, reject".
  const confirm = req.locator('.reject-confirmation');
  await confirm.waitFor({ state: 'visible' });
  assert.match(await text(confirm), /Reject stranger\? It is told no at once/);
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'reject-cancel');
  await sleep(300);
  assert.equal(node.child.exitCode, null, 'nothing decided before confirming');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'reject-confirm');
  await page.keyboard.press('Enter');
  assert.equal(await node.exitCode(), 2, `rejected node exits 2:\n${node.output()}`);
  assert.ok(!fs.existsSync(node.tokenFile), 'no token for a rejected node');
  await req.waitFor({ state: 'detached' });
  await page.locator('#pending-empty').waitFor({ state: 'visible' });
  assert.equal(await nodeItem(page, nodeId).count(), 0, 'a rejected node is not listed as paired');
  const status = await statusNodes(gwState);
  assert.ok(!status.some((n) => n.nodeId === nodeId && n.paired), `not paired per nodes status: ${JSON.stringify(status)}`);
  await page.locator('#notices .notice[data-kind=rejected]', { hasText: 'You rejected stranger' }).waitFor();
  assert.equal(await text(page.locator('#error')), '');
});

browserTest('the countdown runs down to zero, the request disappears with a notice, the node exits 3', { gatewayArgs: ['--pending-ttl', '4s'] }, async ({ gw, page }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  const node = await startNode(gw.wsUrl, 'too-slow');
  const req = await requestWithCode(page, node.code);
  const seen = Date.now();
  const samples = [];
  const cd = req.locator('.request-countdown');
  // Labelled for eyes and screen readers, and urgent: 4 s is inside the last minute.
  assert.match(await text(cd), /^expires in \ds$/);
  assert.match(await cd.getAttribute('aria-label'), /^expires in \d seconds?$/);
  assert.equal(await cd.getAttribute('role'), 'timer');
  assert.equal(await cd.getAttribute('data-urgent'), 'true');
  for (;;) {
    const s = await req.locator('.request-countdown').innerText({ timeout: 500 }).catch(() => null);
    if (s === null) break; // gone
    samples.push(s.trim());
    if (Date.now() - seen > 10_000) assert.fail(`still pending after 10 s; countdown samples: ${samples.join(' | ')}`);
    await sleep(150);
  }
  const gone = Date.now() - seen;
  console.log(`# countdown: ${samples.join(' | ')} → gone after ${gone} ms`);
  const secs = samples.map(countdownSeconds);
  assert.ok(secs.every((v) => v !== null), `countdown texts carry a number: ${samples.join(' | ')}`);
  assert.ok(secs[0] <= 4 && secs[0] >= 2, `starts near the 4 s ttl: ${samples.join(' | ')}`);
  assert.ok(secs.every((v, i) => i === 0 || v <= secs[i - 1]), `never goes up: ${samples.join(' | ')}`);
  assert.ok(new Set(secs).size >= 3, `it ticks live: ${samples.join(' | ')}`);
  assert.ok(Math.min(...secs) <= 1, `it runs down to zero: ${samples.join(' | ')}`);
  assert.ok(gone >= 2_000 && gone <= 8_000, `removed when it expired (${gone} ms after it appeared)`);
  await req.waitFor({ state: 'detached' });
  const notice = page.locator('#notices .notice').filter({ hasText: /expired/i });
  await notice.first().waitFor({ state: 'visible' });
  assert.ok(!/[{}]/.test(await text(notice)), 'the notice is plain words');
  assert.equal(await node.exitCode(), 3, `expired node exits 3:\n${node.output()}`);
  await page.locator('#pending-empty').waitFor({ state: 'visible' });
});

browserTest('rename inline (Enter and Save) and remove with a confirmation', {}, async ({ gw, gwState, page }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  // Approved by another operator (the CLI): the page learns it from events.
  const node = await startNode(gw.wsUrl, 'old-name');
  const req = await requestWithCode(page, node.code);
  const nodeId = await req.getAttribute('data-node-id');
  const approved = await cli(gwState, ['nodes', 'approve', node.code]);
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(await node.exitCode(), 0);
  await req.waitFor({ state: 'detached' });
  await page.locator('#notices .notice', { hasText: 'old-name was approved elsewhere' }).waitFor();
  const li = nodeItem(page, nodeId);
  await li.waitFor({ state: 'visible' });
  assert.equal(await text(li.locator('.node-name')), 'old-name');
  const nameInStatus = async () => (await statusNodes(gwState)).find((n) => n.nodeId === nodeId)?.displayName;

  // Rename, saved with Enter.
  await li.locator('button.rename').click();
  const input = li.locator('input.rename-input');
  await input.waitFor({ state: 'visible' });
  await input.fill('Living Room iPad');
  await input.press('Enter');
  await until('the new name on the page', async () => (await text(li.locator('.node-name'))) === 'Living Room iPad');
  await input.waitFor({ state: 'hidden' });
  await until('the new name in nodes status', async () => (await nameInStatus()) === 'Living Room iPad');

  // Rename, saved with the Save button.
  await li.locator('button.rename').click();
  await input.waitFor({ state: 'visible' });
  await input.fill('Kitchen iPad');
  await li.locator('button.rename-save').click();
  await until('the second name on the page', async () => (await text(li.locator('.node-name'))) === 'Kitchen iPad');
  await until('the second name in nodes status', async () => (await nameInStatus()) === 'Kitchen iPad');

  // The name is the gateway's, not just the page's: a reload shows it.
  await page.reload();
  await waitState(page, 'connected');
  await until('the saved name after a reload', async () => (await text(li.locator('.node-name'))) === 'Kitchen iPad');

  // Remove asks first; only the confirmation removes.
  await li.locator('button.remove').click();
  const confirm = li.locator('button.remove-confirm');
  await confirm.waitFor({ state: 'visible' });
  await sleep(300);
  assert.equal(await li.count(), 1, 'the first click only asks');
  assert.ok((await statusNodes(gwState)).some((n) => n.nodeId === nodeId && n.paired), 'still paired before confirming');
  await confirm.click();
  await li.waitFor({ state: 'detached' });
  await until('the node gone from nodes status', async () => !(await statusNodes(gwState)).some((n) => n.nodeId === nodeId && n.paired));
  const verify = await cli(node.stateDir, ['node', 'verify', '--url', gw.wsUrl]);
  assert.notEqual(verify.code, 0, 'the removed node\'s token stops verifying');
  assert.equal(await text(page.locator('#error')), '');
});

browserTest('gateway restart: reconnecting, then connected, and re-synced', { timeout: 60_000 }, async (w) => {
  const { gw, gwState, page, b } = w;
  const sockets = [];
  page.on('websocket', (ws) => {
    const s = { ws, at: Date.now(), sent: [], open: false };
    ws.on('framesent', (f) => {
      s.open = true;
      s.sent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8'));
    });
    ws.on('framereceived', () => {
      s.open = true;
      s.firstReceived ??= Date.now();
    });
    sockets.push(s);
  });
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  // A request from before the restart: its node keeps waiting across it.
  const before = await startNode(gw.wsUrl, 'before-restart');
  await requestWithCode(page, before.code);

  // While the gateway is down the browser itself logs each refused connection attempt; nothing else is allowed.
  const disallow = b.allow(new RegExp(`^WebSocket connection to 'ws://127\\.0\\.0\\.1:${gw.port}/[^']*' failed`));
  const stopped = await gw.stop();
  assert.equal(stopped.code, 0, 'SIGTERM stops the gateway cleanly');
  const down = Date.now();
  await waitState(page, 'reconnecting', 5_000);
  assert.match(await text(page.locator('#conn-status')), /reconnect/i, 'the state is shown in words');
  // Offline: a bar says so and when it retries; the card is greyed out, inert, and its clock stops.
  const bar = page.locator('#offline-bar');
  await bar.waitFor({ state: 'visible' });
  await until('the bar to count down to the next attempt', async () => /^Disconnected — (retrying in \d+s|reconnecting…)$/.test(await text(page.locator('#offline-text'))));
  const card = page.locator('#pending li.request').first();
  assert.equal(await card.getAttribute('data-stale'), 'true');
  assert.equal(await card.locator('button.approve').isDisabled(), true, 'Approve is disabled offline');
  assert.equal(await card.locator('button.reject').isDisabled(), true, 'Reject is disabled offline');
  const frozen = await text(card.locator('.request-countdown'));
  await sleep(1_600);
  assert.equal(await text(card.locator('.request-countdown')), frozen, 'the countdown stops while offline');
  // Retry now opens a new connection at once (refused: the gateway is down).
  const socketsBefore = sockets.length;
  await until('Retry now to be clickable (no attempt under way)', async () => {
    await page.locator('#retry-now').click();
    return sockets.length > socketsBefore;
  }, { ms: 8_000, every: 300 });
  // Stay down long enough for at least one refused attempt.
  await until('a reconnection attempt while the gateway is down', () => sockets.some((s) => s.at > down), { ms: 8_000 });

  const gw2 = await startGateway(gwState, { port: gw.port });
  w.extraGateways.push(gw2);
  w.defer(() => gw2.stop());
  assert.equal(gw2.port, gw.port, 'same port');
  const up = Date.now();
  // A request made while the page is still away.
  const during = await startNode(gw2.wsUrl, 'during-restart');
  const requested = Date.now();
  await waitState(page, 'connected', 20_000);
  disallow();
  await bar.waitFor({ state: 'hidden' });
  const reconnected = sockets.filter((s) => s.at >= up);
  assert.ok(reconnected.length >= 1, 'the page opened a new connection');
  await until('the page to re-sync with node.pair.list', () => reconnected.some((s) => s.sent.some((f) => f.includes('node.pair.list'))), { ms: 5_000 });
  const reqDuring = await requestWithCode(page, during.code);
  const reqBefore = await requestWithCode(page, before.code);
  const firstUp = Math.min(...reconnected.map((s) => s.firstReceived ?? Infinity));
  console.log(
    `# restart: down ${up - down} ms; the node asked ${requested - up} ms after the restart, ` +
      `${firstUp >= requested ? 'before' : 'after'} the page got its first frame back ` +
      `(${firstUp - up} ms after the restart); ` +
      `${b.tolerated.length} refused-connection console line(s) tolerated while down`,
  );

  await reqDuring.locator('button.approve').click();
  assert.equal(await during.exitCode(), 0, during.output());
  await reqBefore.locator('button.approve').click();
  assert.equal(await before.exitCode(), 0, before.output());
  await page.locator('#pending-empty').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#paired li.node').count(), 2);
  assert.equal(await text(page.locator('#error')), '', '#error is cleared once connected again');
});

browserTest('without the fragment the page asks for the token; a wrong one is refused in plain words', {}, async ({ gw, page, b }) => {
  await page.goto(`${gw.origin}/`);
  await waitState(page, 'need-token');
  const form = page.locator('form#token-form');
  const input = page.locator('form#token-form input#token-input');
  await input.waitFor({ state: 'visible' });

  await input.fill('not-the-operator-token');
  await input.press('Enter');
  await until('the refusal shown in #error, and the form again', async () =>
    (await connState(page)) === 'need-token' && (await text(page.locator('#error'))) !== '');
  await input.waitFor({ state: 'visible' });
  await assertNoRawErrorText(page);

  await input.fill(gw.token);
  await input.press('Enter');
  await waitState(page, 'connected');
  await form.waitFor({ state: 'hidden' });
  assert.equal(await text(page.locator('#error')), '', 'the refusal is cleared once connected');
  assert.ok(!page.url().includes(gw.token));

  // Kept for this tab (sessionStorage): a reload connects without asking…
  await page.reload();
  await waitState(page, 'connected');
  assert.equal(await form.isVisible(), false);
  // …but a new tab asks again.
  const tab = await b.context.newPage();
  await tab.goto(`${gw.origin}/`);
  await waitState(tab, 'need-token');
  await tab.close();
});

browserTest('a device asking at connect (an OpenClaw node host) is approved from the page and paired in place', {}, async ({ gw, gwState, page, defer }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  const host = await startOpenClawNodeHost(gw.wsUrl, gw.token, 3, 'hall-tv');
  defer(() => host.stop());
  assert.ok(host.answer.hello, `protocol 3: admitted to wait: ${JSON.stringify(host.answer)}`);
  const { deviceId } = host.answer;
  const req = page.locator(`#pending li.request[data-node-id="${deviceId}"]`);
  await req.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await text(req.locator('.request-name')), /hall-tv/);
  assert.match(await text(req.locator('.request-device')), /OpenClaw node-host 2026\.9\.6/, 'client and version shown');
  assert.match(await text(req.locator('.request-check')), /^Code\s+\d{4}-\d{4}$/, 'the gateway\'s code, not "the device shows"');
  assert.match(await text(req.locator('.request-commands')), /system\.run — needs operator\.admin/);
  assert.match(await text(req.locator('.request-scopes')), /operator\.pairing \+ operator\.admin/);
  await req.locator('button.approve').click();
  await req.waitFor({ state: 'detached' });
  await until('the device to be paired and connected (the same connection)', async () => {
    const n = (await statusNodes(gwState)).find((x) => x.nodeId === deviceId);
    return n && n.paired && n.connected;
  });
  assert.equal(host.child.exitCode, null, 'the node host was never disconnected');
  await nodeItem(page, deviceId).waitFor({ state: 'visible' });
  await assertNoRawErrorText(page);
});

browserTest('after `openclaw gateway rotate-token` the open page asks for the new link at once; a pasted link connects it', {}, async ({ gw, gwState, page }) => {
  await page.goto(gw.pageUrl);
  await waitState(page, 'connected');
  const r = await cli(gwState, ['gateway', 'rotate-token']);
  assert.equal(r.code, 0, `rotate-token failed: ${r.stderr}`);
  const link = r.stdout.match(/Approval page:\s*(http:\/\/\S+)/)?.[1];
  assert.ok(link, `rotate-token printed the new link: ${r.stdout}`);
  const fresh = new URL(link).hash.slice('#token='.length);
  assert.notEqual(fresh, gw.token, 'a new token');
  // The gateway closed the page's connection naming the rotation: the form, at once, in plain words.
  await waitState(page, 'need-token');
  const input = page.locator('form#token-form input#token-input');
  await input.waitFor({ state: 'visible' });
  assert.match(await assertNoRawErrorText(page), /^The operator token was rotated/);
  const session = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  assert.ok(!session.includes(gw.token), 'the rotated token is no longer kept in the tab');
  // The old link is refused as rotated, in a new tab too.
  const tab = await page.context().newPage();
  await tab.goto(gw.pageUrl);
  await waitState(tab, 'need-token');
  assert.match(await text(tab.locator('#error')), /^The operator token was rotated/);
  await tab.close();
  // The new link, pasted whole into the form, connects.
  await input.fill(link);
  await input.press('Enter');
  await waitState(page, 'connected');
  assert.equal(await text(page.locator('#error')), '', 'the message is cleared once connected');
});

test('zero console errors and page errors across every test', () => {
  assert.deepEqual(allErrors, []);
});
