// The page's "Pair a device" dialog (issue #16) in real headless Chromium: a real gateway, a click that
// issues a setup code, its QR code visible, the code copied to the clipboard, a real `openclaw node pair
// --setup-code` redeeming exactly that code, and the dialog saying "Used by <device>" — with no approval
// step. DOM contract: see wasm/www/pair.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, cli, cliJson, freshDir, launchBrowser, scope, startGateway, until } from './harness.mjs';

test('Pair a device: the dialog shows a QR code, copies the code, and says who used it', { timeout: 60_000 }, async (t) => {
  const defer = scope(t);
  const gwState = freshDir('gateway');
  const gw = await startGateway(gwState);
  defer(() => gw.stop());
  const b = await launchBrowser();
  defer(() => b.close());
  const page = b.page;
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.origin });
  try {
    await page.goto(gw.pageUrl);
    await until('the page to connect', async () => (await page.locator('#conn-status').getAttribute('data-state')) === 'connected');

    await page.locator('#pair-open').click();
    const dialog = page.locator('#pair-dialog');
    await until('a setup code in the dialog', async () => (await dialog.getAttribute('data-state')) === 'shown');
    assert.ok(await dialog.isVisible(), 'the dialog is open');
    const qr = page.locator('#pair-qr svg');
    assert.ok(await qr.isVisible(), 'the QR code is visible');
    const box = await qr.boundingBox();
    assert.ok(box.width >= 150 && box.height >= 150, `the QR code is large enough to scan (${box.width}×${box.height})`);
    assert.match(await page.locator('#pair-expires').innerText(), /^expires in (9m 5\d|10m 00)s$/);
    const code = (await page.locator('#pair-code').innerText()).trim();
    assert.match(code, /^[A-Za-z0-9_-]{100,}$/, 'a base64url setup code');
    assert.match(await page.locator('#pair-command').innerText(), /openclaw node run --pair 'oc-pair:\/\//);

    await page.locator('#pair-copy').click();
    await until('"Copied."', async () => (await page.locator('#pair-copied').innerText()) === 'Copied.');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code, 'the clipboard holds the code');
    await page.screenshot({ path: path.join(ARTIFACTS, 'pair-dialog.png') });

    // The gateway lists it, never with its secret.
    const list = await cliJson(gwState, ['keys', 'list']);
    assert.equal(list.enrollments.length, 1);
    assert.equal(list.enrollments[0].label, 'page');
    assert.ok(!JSON.stringify(list).includes(JSON.parse(Buffer.from(code, 'base64url')).bootstrapToken));

    const node = await cli(freshDir('node'), ['node', 'pair', '--setup-code', code, '--name', 'dialog-box']);
    assert.equal(node.code, 0, `openclaw node pair --setup-code: ${node.stderr}`);
    await until('"Used by dialog-box"', async () => (await dialog.getAttribute('data-state')) === 'used');
    assert.match(await page.locator('#pair-used').innerText(), /^Used by dialog-box (just now|\d+s ago)$/);
    assert.equal(await page.locator('#pending li.request').count(), 0, 'nothing is left to approve');
    await until('the node in the paired list', async () => (await page.locator('#paired li.node').count()) === 1);

    await page.locator('#pair-close').click();
    assert.ok(!(await dialog.isVisible()), 'the dialog closes');
    assert.deepEqual(b.errors, [], 'console errors or page errors');
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'pair-dialog-failure.png'), fullPage: true }).catch(() => {});
    err.message += `\n--- console:\n${b.console.map((c) => `${c.kind}: ${c.text}`).join('\n')}\n--- ${gw.logTail()}`;
    throw err;
  }
});
