// Shared by the page's Chromium tests: one test's world (a fresh gateway and browser, with failure
// screenshots and the logs attached), and helpers that read the page by its DOM contract (see
// page.test.mjs). Each test file is its own process, so each keeps its own `allErrors`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, freshDir, launchBrowser, scope, startGateway, until, cliJson } from './harness.mjs';

fs.mkdirSync(ARTIFACTS, { recursive: true });

// Every console error and page error of every test, for the final "zero console errors" test.
export const allErrors = [];

/**
 * One test's world: a fresh gateway (own state dir) and a fresh Chromium profile. The body gets
 * `{gw, b, page, defer}`; on failure a screenshot and the logs are attached to the error.
 */
export function browserTest(name, { timeout = 40_000, gatewayArgs = [] } = {}, body) {
  test(name, { timeout }, async (t) => {
    const defer = scope(t);
    const gwState = freshDir('gateway');
    const gw = await startGateway(gwState, { args: gatewayArgs });
    const world = { gw, gwState, defer, extraGateways: [] };
    defer(() => gw.stop());
    const b = await launchBrowser();
    defer(() => b.close());
    world.b = b;
    world.page = b.page;
    // Works offline: nothing is fetched from anywhere but the gateway.
    const foreign = [];
    const failed = [];
    b.context.on('request', (r) => {
      const u = r.url();
      if (!/^(data|blob):/.test(u) && !u.startsWith('http://127.0.0.1:') && !u.startsWith('ws://127.0.0.1:')) {
        foreign.push(u);
      }
    });
    b.context.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    try {
      await body(world);
      assert.deepEqual(foreign, [], 'the page fetched something from outside the gateway');
      assert.deepEqual(failed, [], 'the page got HTTP errors');
      assert.deepEqual(b.errors, [], 'console errors or page errors');
    } catch (err) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      const shot = path.join(ARTIFACTS, `${slug}-failure.png`);
      await world.page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      const html = await world.page
        .evaluate(() => {
          const body = document.body?.cloneNode(true);
          body?.querySelectorAll('script, style, svg').forEach((e) => e.remove());
          return body?.outerHTML.replace(/\n\s*\n/g, '\n').slice(0, 4000);
        })
        .catch(() => '(no DOM)');
      const gws = [gw, ...world.extraGateways];
      err.message +=
        `\n--- screenshot: ${shot}` +
        `\n--- console:\n${b.console.map((c) => `${c.kind}: ${c.text}`).join('\n')}` +
        `\n--- DOM:\n${html}` +
        gws.map((g) => `\n--- ${g.logTail()}`).join('');
      throw err;
    } finally {
      allErrors.push(...b.errors.map((e) => ({ test: name, ...e })));
    }
  });
}

// ---- page helpers -------------------------------------------------------------------------------------

export const connState = (page) => page.locator('#conn-status').getAttribute('data-state');

export async function waitState(page, state, ms = 10_000) {
  await until(`#conn-status[data-state=${state}]`, async () => (await connState(page)) === state, {
    ms,
    detail: async () => `data-state is ${await connState(page).catch(() => '?')}`,
  });
}

/** The pending request showing exactly `code` (waits for it). */
export async function requestWithCode(page, code, ms = 10_000) {
  const li = page.locator('#pending li.request').filter({
    has: page.locator('.request-code', { hasText: code }),
  });
  await li.waitFor({ state: 'visible', timeout: ms });
  assert.equal(await li.count(), 1, `one request shows ${code}`);
  assert.equal((await li.locator('.request-code').innerText()).trim(), code, 'the exact code text');
  return li;
}

export const nodeItem = (page, nodeId) => page.locator(`#paired li.node[data-node-id="${nodeId}"]`);

export const text = async (loc) => ((await loc.count()) ? (await loc.first().innerText()).trim() : '');

/** Seconds left in a countdown text such as "0:04", "4s", "expires in 1m 05s"; "expired" is zero. */
export function countdownSeconds(s) {
  let m;
  if (/expired/i.test(s)) return 0;
  if ((m = s.match(/(\d+):(\d{2})/))) return Number(m[1]) * 60 + Number(m[2]);
  if ((m = s.match(/(\d+)\s*m\D*?(\d+)\s*s/))) return Number(m[1]) * 60 + Number(m[2]);
  if ((m = s.match(/(\d+)\s*s/))) return Number(m[1]);
  if ((m = s.match(/(\d+)/))) return Number(m[1]);
  return null;
}

export async function assertNoRawErrorText(page) {
  const err = await text(page.locator('#error'));
  assert.ok(!/[{}]|"code"/.test(err), `#error shows plain words, not JSON: ${err}`);
  return err;
}

export async function statusNodes(gwState) {
  return (await cliJson(gwState, ['nodes', 'status'])).nodes;
}

