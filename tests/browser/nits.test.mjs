// Issue #16's page points in real Chromium: every button and text pair the page draws reaches WCAG AA
// contrast (4.5:1) in light and dark mode, the urgent countdown included; Cancel on a rejection keeps
// the request. (The countdown label, the offline bar, the confirmation and the notices are checked in
// page.test.mjs, in the flows where they occur.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode } from './harness.mjs';
import { allErrors, browserTest, nodeItem, requestWithCode, text, waitState } from './page-helpers.mjs';

/** The contrast ratio of each selector's text against the background it is drawn on (WCAG 2). */
async function contrasts(page, selectors) {
  return page.evaluate((sels) => {
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = {};
    for (const sel of sels) {
      const el = document.querySelector(sel);
      if (!el) {
        out[sel] = null;
        continue;
      }
      const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(background(el))];
      out[sel] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100;
    }
    return out;
  }, selectors);
}

for (const scheme of ['light', 'dark']) {
  browserTest(`every button and text reaches 4.5:1 contrast in ${scheme} mode`, { gatewayArgs: ['--pending-ttl', '50s'] }, async ({ gw, gwState, page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(gw.pageUrl);
    await waitState(page, 'connected');
    const node = await startNode(gw.wsUrl, 'contrast-pi');
    const req = await requestWithCode(page, node.code);
    await req.locator('button.reject').click();
    await req.locator('.reject-confirmation').waitFor();
    const cd = req.locator('.request-countdown');
    assert.equal(await cd.getAttribute('data-urgent'), 'true', 'a 50 s request is urgent');
    const pending = await contrasts(page, [
      'h1', '#conn-status', '#pending li.request .request-name', '#pending li.request .request-countdown',
      '#pending li.request .request-code', '#pending li.request .request-device', '#pending li.request .request-scopes',
      '#pending li.request button.approve', '#pending li.request button.reject',
      '#pending li.request button.reject-confirm', '#pending li.request button.reject-cancel',
      '#pending li.request .reject-confirmation span',
    ]);
    // Cancel keeps the request; then approve it for the paired card and the notice.
    await req.locator('button.reject-cancel').click();
    await req.locator('.reject-confirmation').waitFor({ state: 'detached' });
    assert.equal(node.child.exitCode, null, 'Cancel decided nothing');
    const nodeId = await req.getAttribute('data-node-id');
    await req.locator('button.approve').click();
    assert.equal(await node.exitCode(), 0);
    const li = nodeItem(page, nodeId);
    await li.locator('.node-fresh').waitFor();
    await li.locator('button.remove').click();
    await li.locator('button.remove-confirm').waitFor();
    const paired = await contrasts(page, [
      '#notices .notice .notice-text', '#paired li.node .node-name', '#paired li.node .node-status',
      '#paired li.node .node-fresh', '#paired li.node .node-detail', '#paired li.node button.rename',
      '#paired li.node button.remove', '#paired li.node button.remove-confirm', '#paired li.node button.remove-cancel',
    ]);
    const all = { ...pending, ...paired };
    console.log(`# ${scheme}: ${Object.entries(all).map(([k, v]) => `${k.split(' ').pop()} ${v}`).join(', ')}`);
    for (const [sel, ratio] of Object.entries(all)) {
      assert.notEqual(ratio, null, `${sel} is on the page`);
      assert.ok(ratio >= 4.5, `${scheme}: ${sel} has contrast ${ratio}:1, WCAG AA wants 4.5:1`);
    }
    assert.match(await text(page.locator('#notices')), /You approved contrast-pi/);
  });
}

test('zero console errors and page errors across every test', () => {
  assert.deepEqual(allErrors, []);
});
