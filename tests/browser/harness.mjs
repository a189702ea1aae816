// Real processes and a real browser for the approval page tests: the built `openclaw` binary as gateway,
// operator CLI and node; the system Chromium (/usr/bin/chromium) driven by playwright-core. Everything a
// test starts is registered here and stopped by `cleanup()`, even when the test fails half-way.

import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const OPENCLAW =
  process.env.OPENCLAW_BIN ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(REPO, 'target'), 'debug', 'openclaw');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
/** Failure screenshots and logs (git-ignored). */
export const ARTIFACTS = path.join(HERE, '.artifacts');

// One throwaway root for the whole run: state dirs, Chromium profiles, XDG dirs and TMPDIR all live in it,
// so nothing is left behind in $HOME or /tmp.
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-browser-'));
for (const d of ['tmp', 'xdg-config', 'xdg-cache']) fs.mkdirSync(path.join(ROOT, d));
// playwright-core itself writes its temporary files under os.tmpdir().
process.env.TMPDIR = path.join(ROOT, 'tmp');

const live = new Set(); // child processes still running
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  if (!process.env.OPENCLAW_KEEP_TMP) fs.rmSync(ROOT, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));

let counter = 0;
/** A fresh, empty directory under the run's throwaway root. */
export function freshDir(label) {
  const d = path.join(ROOT, `${String(++counter).padStart(2, '0')}-${label}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function childEnv(stateDir) {
  const env = { ...process.env, OPENCLAW_STATE_DIR: stateDir };
  delete env.OPENCLAW_GATEWAY_URL;
  delete env.OPENCLAW_GATEWAY_TOKEN;
  return env;
}

/** Thrown from an `until` predicate to stop waiting at once (a process died, say). */
export class Fatal extends Error {}

/** Resolves when `pred()` is truthy (returns its value); rejects after `ms` with `what` and `detail()`. */
export async function until(what, pred, { ms = 10_000, every = 50, detail } = {}) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch (e) {
      if (e instanceof Fatal) {
        if (detail) e.message += `\n${await detail()}`;
        throw e;
      }
      last = e;
    }
    if (Date.now() > end) {
      const more = detail ? `\n${await detail()}` : '';
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}${more}`);
    }
    await sleep(every);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawns a tracked child; its stdout+stderr lines are collected in `lines`. */
function track(child, lines, onLine) {
  live.add(child);
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line);
      }
    });
  }
  return child;
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit. */
export async function stopChild(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const r = await child.exited;
  clearTimeout(t);
  return r;
}

/**
 * `openclaw gateway --port PORT ARGS…` on `stateDir`; resolves once it has printed both its WebSocket URL
 * and its approval page URL.
 */
export async function startGateway(stateDir, { port = 0, args = [] } = {}) {
  const log = `${stateDir}.log`;
  const logFd = fs.openSync(log, 'a');
  const lines = [];
  const child = spawn(OPENCLAW, ['gateway', '--port', String(port), ...args], {
    env: { ...childEnv(stateDir), RUST_LOG: process.env.RUST_LOG || 'info' },
    stdio: ['ignore', 'pipe', logFd],
  });
  fs.closeSync(logFd);
  track(child, lines);
  const gw = { child, lines, log, stateDir };
  const logTail = () =>
    `gateway stdout:\n${lines.join('\n')}\ngateway log:\n${readTail(log)}`;
  await until(
    'the gateway to print "Gateway: ws://…" and "Approval page: http://…"',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Fatal(`the gateway exited (${child.exitCode ?? child.signalCode}) before printing its URLs`);
      }
      const ws = lines.map((l) => l.match(/Gateway:\s*(ws:\/\/\S+)/)).find(Boolean);
      const page = lines.map((l) => l.match(/Approval page:\s*(http:\/\/\S+)/)).find(Boolean);
      if (ws && page) {
        gw.wsUrl = ws[1];
        gw.pageUrl = page[1];
        return true;
      }
      return false;
    },
    { ms: 20_000, detail: logTail },
  );
  const u = new URL(gw.pageUrl);
  gw.port = Number(u.port);
  gw.origin = u.origin;
  gw.token = new URLSearchParams(u.hash.slice(1)).get('token');
  if (!gw.token) throw new Error(`the approval page URL has no #token=…: ${gw.pageUrl}`);
  if (u.hostname !== '127.0.0.1') throw new Error(`not loopback: ${gw.pageUrl}`);
  gw.stop = () => stopChild(child, 10_000);
  gw.logTail = logTail;
  return gw;
}

/**
 * A stand-in for OpenClaw's node host (`openclaw-node-host.mjs`): connects to `wsUrl` with the gateway
 * `token` and its own device key, protocol 3 or 4, and stays connected. Resolves once it printed the
 * gateway's answer: `{child, answer, stop}` with `answer` `{hello, deviceId}` or `{refused, deviceId}`.
 */
export async function startOpenClawNodeHost(wsUrl, token, protocol, name) {
  const lines = [];
  const child = spawn(
    process.execPath,
    ['--experimental-websocket', '--no-warnings', path.join(HERE, 'openclaw-node-host.mjs'), wsUrl, token, String(protocol), name],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child, lines);
  let answer;
  await until(`the node host ${name} to get its connect answered`, () => {
    answer = lines.map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((v) => v && (v.hello || v.refused));
    return Boolean(answer);
  }, { detail: () => lines.join('\n') });
  return { child, answer, stop: () => stopChild(child) };
}

export function readTail(file, n = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A background `openclaw node pair --url WS --name NAME` with its own state dir (or a given one). */
export async function startNode(wsUrl, name, stateDir = freshDir('node')) {
  const lines = [];
  const child = spawn(OPENCLAW, ['node', 'pair', '--url', wsUrl, '--name', name], {
    env: childEnv(stateDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child, lines);
  const node = { child, lines, stateDir, name };
  node.output = () => lines.join('\n');
  /** The verification code the node printed. */
  node.code = await until(
    `node "${name}" to print its verification code`,
    () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Fatal(`node "${name}" exited (${child.exitCode ?? child.signalCode}) before printing a code`);
      }
      const m = lines.map((l) => l.match(/Verification code:\s*(\d{4}-\d{4})/)).find(Boolean);
      return m && m[1];
    },
    { ms: 15_000, detail: node.output },
  );
  /** Its exit code, waiting at most `ms`. */
  node.exitCode = async (ms = 15_000) => {
    let timer;
    const r = await Promise.race([child.exited, new Promise((res) => (timer = setTimeout(res, ms, null)))]);
    clearTimeout(timer);
    if (!r) throw new Error(`node "${name}" did not exit within ${ms} ms:\n${node.output()}`);
    return r.code;
  };
  node.tokenFile = path.join(stateDir, 'node', 'token.json');
  return node;
}

/** Runs `openclaw ARGS…` against the gateway whose state dir is `stateDir`; resolves with {code, stdout, stderr}. */
export function cli(stateDir, args, ms = 20_000) {
  return new Promise((resolve) => {
    const child = execFile(OPENCLAW, args, { env: childEnv(stateDir), timeout: ms }, (err, stdout, stderr) => {
      live.delete(child);
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
    live.add(child);
  });
}

/** `openclaw ARGS… --json`, parsed; throws with stderr when it fails. */
export async function cliJson(stateDir, args) {
  const r = await cli(stateDir, [...args, '--json']);
  if (r.code !== 0) throw new Error(`openclaw ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Headless system Chromium with a fresh profile. Records console errors/warnings and page errors in
 * `b.errors` (each `{kind, text, at}`); `b.allow(re)` tolerates matching console errors for a while.
 */
export async function launchBrowser({ viewport = { width: 1280, height: 900 } } = {}) {
  const profile = freshDir('chromium-profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    env: {
      ...process.env,
      HOME: freshDir('home'),
      XDG_CONFIG_HOME: path.join(ROOT, 'xdg-config'),
      XDG_CACHE_HOME: path.join(ROOT, 'xdg-cache'),
      TMPDIR: path.join(ROOT, 'tmp'),
    },
    timeout: 30_000,
  });
  const b = { context, errors: [], console: [], allowed: [], tolerated: [] };
  const watch = (page) => {
    page.on('console', (msg) => {
      const entry = { kind: `console.${msg.type()}`, text: msg.text(), at: msg.location()?.url || page.url() };
      b.console.push(entry);
      if (msg.type() !== 'error') return;
      if (b.allowed.some((re) => re.test(entry.text))) b.tolerated.push(entry);
      else b.errors.push(entry);
    });
    page.on('pageerror', (err) => b.errors.push({ kind: 'pageerror', text: String(err?.stack || err), at: page.url() }));
    page.on('crash', () => b.errors.push({ kind: 'crash', text: 'page crashed', at: page.url() }));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  b.page = context.pages()[0] || (await context.newPage());
  b.page.setDefaultTimeout(10_000);
  b.allow = (re) => {
    b.allowed.push(re);
    return () => b.allowed.splice(b.allowed.indexOf(re), 1);
  };
  b.close = () => context.close().catch(() => {});
  return b;
}

/** Registers cleanup of everything a test started, whatever happens. */
export function scope(t) {
  const stack = [];
  t.after(async () => {
    for (const f of stack.reverse()) {
      try {
        await f();
      } catch {}
    }
  });
  return (f) => stack.push(f);
}
