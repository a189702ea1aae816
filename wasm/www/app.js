// DOM and WebSocket glue for the approval page. Every decision — frames, state, ordering, seq gaps,
// reconnect delays, countdowns, wording — is made by the wasm model (pairing-wasm); this file only
// moves text between the socket, the model and the DOM, and keeps UI-only state (which rename box is
// open, which removal or rejection awaits confirmation).
import init, { Page } from "/pkg/pairing_wasm.js";
import { setupPairDialog } from "/pair.js";

const TOKEN_KEY = "openclaw.gateway.token";
const $ = (id) => document.getElementById(id);

let page;
let pairDialog = null; // the "Pair a device" dialog (pair.js)
let socket = null;
let retryTimer = null;
const editing = new Set(); // node ids whose rename box is open
const confirming = new Set(); // node ids whose removal awaits confirmation
const rejecting = new Set(); // request ids whose rejection awaits confirmation

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

function send(frames) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  for (const f of frames) socket.send(f);
}

// Runs a model action that yields one frame; a refusal is already the model's current error.
function act(makeFrame) {
  try {
    send([makeFrame()]);
  } catch (_refused) {
    // The model recorded the reason in plain words; render shows it in #error.
  }
  render();
}

function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token !== null) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  return token;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (!page.socketOpening(Date.now())) {
    render();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/`);
  socket = ws;
  ws.addEventListener("message", (ev) => {
    if (socket !== ws) return;
    if (pairDialog) pairDialog.observe(String(ev.data));
    send(page.receive(String(ev.data), Date.now()));
    rememberToken();
    render();
  });
  ws.addEventListener("close", (ev) => {
    if (socket !== ws) return;
    socket = null;
    const delay = page.socketClosed(Date.now(), ev.reason);
    rememberToken();
    if (delay !== undefined) retryTimer = setTimeout(connect, delay);
    render();
    if (page.state === "need-token") $("token-input").focus();
  });
  render();
}

// sessionStorage holds the token only while the gateway accepts it.
function rememberToken() {
  const token = page.token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function renderList(list, items, keyAttr, create, update) {
  const existing = new Map();
  for (const child of list.children) existing.set(child.getAttribute(keyAttr), child);
  const wanted = new Set(items.map((item) => item.key));
  for (const [key, child] of existing) if (!wanted.has(key)) child.remove();
  items.forEach((item, i) => {
    let node = existing.get(item.key);
    if (!node || !node.isConnected) node = create(item.value);
    update(node, item.value);
    if (list.children[i] !== node) list.insertBefore(node, list.children[i] || null);
  });
}

function createRequest(p) {
  const li = el("li", { class: "request", "data-request-id": p.requestId, "data-node-id": p.nodeId });
  li.append(
    el("div", { class: "head" },
      el("h3", { class: "request-name" }),
      el("span", { class: "request-countdown", role: "timer", title: "Time left to approve" })),
    el("p", { class: "detail request-device" }),
    el("p", { class: "request-check" },
      el("span", { class: "request-check-text", text: "Check that the device shows " }),
      el("strong", { class: "request-code" })),
    el("ul", { class: "request-commands" }),
    el("p", { class: "request-scopes" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "approve", text: "Approve", onclick: () => act(() => page.approve(p.requestId)) }),
      el("button", { type: "button", class: "reject", text: "Reject", onclick: () => {
        rejecting.add(p.requestId);
        render();
        li.querySelector("button.reject-cancel")?.focus();
      } })),
  );
  return li;
}

// The confirmation under a request's buttons before it is rejected (a rejection cannot be undone:
// the node is told no at once).
function updateRejectConfirmation(li, p) {
  const id = p.requestId;
  let box = li.querySelector(".reject-confirmation");
  if (rejecting.has(id) && !box) {
    box = el("div", { class: "reject-confirmation", role: "group", "aria-label": `Confirm rejecting ${p.name}` },
      el("span", { text: `Reject ${p.name}? It is told no at once and must ask again to pair.` }),
      el("button", { type: "button", class: "reject-confirm", text: "Yes, reject", "aria-label": `Confirm rejecting ${p.name}`, onclick: () => {
        rejecting.delete(id);
        act(() => page.reject(id));
      } }),
      el("button", { type: "button", class: "reject-cancel", text: "Cancel", "aria-label": `Keep the request from ${p.name}`, onclick: () => {
        rejecting.delete(id);
        render();
        li.querySelector("button.reject")?.focus();
      } }));
    li.append(box);
  } else if (!rejecting.has(id) && box) {
    box.remove();
  }
  if (box) for (const b of box.querySelectorAll("button")) b.disabled = p.busy || p.expired || !online;
}

function updateRequest(li, p) {
  setText(li.querySelector(".request-name"), p.name);
  let repair = li.querySelector(".request-repair");
  if (p.isRepair && !repair) {
    repair = el("span", { class: "request-repair", text: "Re-pair", title: "This node is paired already; approving issues it a new token" });
    li.querySelector(".head").insertBefore(repair, li.querySelector(".request-countdown"));
  } else if (!p.isRepair && repair) {
    repair.remove();
  }
  const countdown = li.querySelector(".request-countdown");
  setText(countdown, p.countdown);
  setAttr(countdown, "aria-label", p.countdownLabel);
  setAttr(countdown, "data-expired", String(p.expired));
  setAttr(countdown, "data-urgent", String(p.urgent));
  setAttr(li, "data-stale", String(!online));
  const facts = [p.client, p.device, p.remoteIp && `from ${p.remoteIp}`, p.requested].filter(Boolean);
  setText(li.querySelector(".request-device"), facts.join(" · "));
  const check = li.querySelector(".request-check");
  check.hidden = !p.code;
  setText(li.querySelector(".request-check-text"), p.client ? "Code " : "Check that the device shows ");
  setText(li.querySelector(".request-code"), p.code);
  setAttr(check, "title", p.codeHint);
  const commands = li.querySelector(".request-commands");
  const lines = p.commands.map((c) => `${c.command} — needs ${c.scope}`);
  if (commands.dataset.lines !== lines.join("\n")) {
    commands.dataset.lines = lines.join("\n");
    commands.replaceChildren(...p.commands.map((c) =>
      el("li", {}, el("code", { text: c.command }), ` — needs ${c.scope}`)));
  }
  commands.hidden = p.commands.length === 0;
  const scopes = li.querySelector(".request-scopes");
  setText(scopes, p.commands.length ? `Approving needs ${p.requiredScopes.join(" + ")}` : "No commands requested");
  const approve = li.querySelector("button.approve");
  const reject = li.querySelector("button.reject");
  setAttr(approve, "aria-label", p.approveLabel);
  setAttr(reject, "aria-label", p.rejectLabel);
  approve.disabled = p.busy || p.expired || !online;
  reject.disabled = p.busy || p.expired || !online;
  updateRejectConfirmation(li, p);
}

function saveRename(nodeId, li) {
  const input = li.querySelector("input.rename-input");
  if (!input) return;
  try {
    send([page.rename(nodeId, input.value)]);
    editing.delete(nodeId);
  } catch (_refused) {
    // Kept open; the model's error explains why (an empty name, not connected).
  }
  render();
  if (!editing.has(nodeId)) li.querySelector("button.rename")?.focus();
}

function createNode(n) {
  const id = n.nodeId;
  const li = el("li", { class: "node", "data-node-id": id });
  li.append(
    el("div", { class: "head" },
      el("h3", { class: "node-name" }),
      el("span", { class: "node-status" })),
    el("p", { class: "detail node-detail" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "rename", text: "Rename", onclick: () => {
        editing.add(id);
        confirming.delete(id);
        render();
        const input = li.querySelector("input.rename-input");
        input?.focus();
        input?.select();
      } }),
      el("button", { type: "button", class: "remove", text: "Remove", onclick: () => {
        confirming.add(id);
        editing.delete(id);
        render();
        li.querySelector("button.remove-cancel")?.focus();
      } })),
  );
  return li;
}

function updateNode(li, n) {
  const id = n.nodeId;
  setText(li.querySelector(".node-name"), n.name);
  setAttr(li, "data-stale", String(!online));
  setAttr(li, "data-fresh", String(n.fresh));
  let fresh = li.querySelector(".node-fresh");
  if (n.fresh && !fresh) {
    fresh = el("span", { class: "node-fresh", text: "Just approved" });
    li.querySelector(".head").insertBefore(fresh, li.querySelector(".node-status"));
  } else if (!n.fresh && fresh) {
    fresh.remove();
  }
  const status = li.querySelector(".node-status");
  setText(status, n.status);
  setAttr(status, "data-connected", String(n.connected));
  const facts = [n.description, n.device, n.remoteIp, n.approved, n.approvedBy].filter(Boolean);
  setText(li.querySelector(".node-detail"), facts.join(" · "));
  const rename = li.querySelector("button.rename");
  const remove = li.querySelector("button.remove");
  setAttr(rename, "aria-label", n.renameLabel);
  setAttr(remove, "aria-label", n.removeLabel);
  rename.disabled = n.busy || !online;
  remove.disabled = n.busy || !online;

  let form = li.querySelector("form.rename-form");
  if (editing.has(id) && !form) {
    const input = el("input", { class: "rename-input", type: "text", maxlength: "256", "aria-label": `New name for ${n.name}` });
    input.value = n.name;
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        editing.delete(id);
        render();
        rename.focus();
      }
    });
    form = el("form", { class: "rename-form" },
      input,
      el("button", { type: "submit", class: "rename-save", text: "Save", "aria-label": `Save name for ${n.name}` }),
      el("button", { type: "button", class: "rename-cancel", text: "Cancel", "aria-label": `Cancel renaming ${n.name}`, onclick: () => {
        editing.delete(id);
        render();
        rename.focus();
      } }));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      saveRename(id, li);
    });
    li.append(form);
  } else if (!editing.has(id) && form) {
    form.remove();
  }

  let confirmBox = li.querySelector(".remove-confirmation");
  if (confirming.has(id) && !confirmBox) {
    confirmBox = el("div", { class: "remove-confirmation", role: "group", "aria-label": `Confirm removing ${n.name}` },
      el("span", { text: `Remove ${n.name}? Its token stops working at once; it must pair again to reconnect.` }),
      el("button", { type: "button", class: "remove-confirm", text: "Yes, remove", "aria-label": `Confirm removing ${n.name}`, onclick: () => {
        confirming.delete(id);
        act(() => page.remove(id));
      } }),
      el("button", { type: "button", class: "remove-cancel", text: "Cancel", "aria-label": `Keep ${n.name}`, onclick: () => {
        confirming.delete(id);
        render();
        remove.focus();
      } }));
    li.append(confirmBox);
  } else if (!confirming.has(id) && confirmBox) {
    confirmBox.remove();
  }
  for (const b of li.querySelectorAll(".rename-form button, .remove-confirmation button")) b.disabled = n.busy || !online;
}

function createNotice(n) {
  return el("div", { class: "notice", "data-notice-id": String(n.id), "data-kind": n.kind },
    el("span", { class: "notice-text", text: n.text }),
    el("button", { type: "button", class: "notice-dismiss", text: "×", "aria-label": "Dismiss notice", onclick: () => {
      page.dismissNotice(n.id);
      render();
    } }));
}

let online = false; // whether the live connection is up: when not, cards are greyed out and inert

function render() {
  const v = page.view(Date.now());
  online = !v.offline && v.conn === "connected";
  $("offline-bar").hidden = !v.offline;
  setText($("offline-text"), v.offlineText);
  const status = $("conn-status");
  setAttr(status, "data-state", v.conn);
  setText(status, v.connText);
  $("token-form").hidden = !v.showTokenForm;
  setText($("error"), v.error);

  renderList($("notices"), v.notices.map((n) => ({ key: String(n.id), value: n })), "data-notice-id", createNotice, () => {});
  renderList($("pending"), v.pending.map((p) => ({ key: p.requestId, value: p })), "data-request-id", createRequest, updateRequest);
  renderList($("paired"), v.paired.map((n) => ({ key: n.nodeId, value: n })), "data-node-id", createNode, updateNode);
  for (const id of [...editing]) if (!v.paired.some((n) => n.nodeId === id)) editing.delete(id);
  for (const id of [...confirming]) if (!v.paired.some((n) => n.nodeId === id)) confirming.delete(id);
  for (const id of [...rejecting]) if (!v.pending.some((p) => p.requestId === id)) rejecting.delete(id);
  $("pending-empty").hidden = v.pending.length > 0;
  setText($("pending-empty"), v.synced ? "No devices are asking to pair." : "Not loaded yet.");
  $("paired-empty").hidden = v.paired.length > 0;
  setText($("paired-empty"), v.synced ? "No nodes are paired yet." : "Not loaded yet.");
}

async function main() {
  await init();
  page = new Page();
  const token = tokenFromFragment() ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      page.setToken(token);
      rememberToken();
    } catch (_blank) {
      // A blank token: the form asks for one.
    }
  }
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("token-input");
    try {
      page.setToken(input.value);
    } catch (_blank) {
      render();
      return;
    }
    input.value = "";
    rememberToken();
    if (socket) socket.close();
    connect();
  });
  // A link with a new #token=… opened in this tab replaces the token and reconnects.
  window.addEventListener("hashchange", () => {
    const fresh = tokenFromFragment();
    if (fresh === null) return;
    try {
      page.setToken(fresh);
    } catch (_blank) {
      render();
      return;
    }
    rememberToken();
    if (socket) socket.close();
    connect();
  });
  pairDialog = setupPairDialog(send);
  $("retry-now").addEventListener("click", () => {
    if (socket) return; // an attempt is under way
    connect();
  });
  connect();
  setInterval(() => {
    send(page.tick(Date.now()));
    render();
    pairDialog.render();
  }, 500);
  if (page.state === "need-token") $("token-input").focus();
}

main().catch((e) => {
  const status = $("conn-status");
  status.setAttribute("data-state", "need-token");
  status.textContent = "This page could not start";
  $("error").textContent = `The page could not load its WebAssembly module (${e && e.message ? e.message : e}). Reload the page, or use "openclaw nodes pending" in a shell.`;
});
