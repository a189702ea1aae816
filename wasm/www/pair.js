// The "Pair a device" dialog's glue: the wasm PairDialog decides (frames, states, wording); this file
// moves its view into the DOM. app.js hands it every frame before the page model and calls render().
//
// DOM contract (tests/browser/pair_dialog.test.mjs): button#pair-open; dialog#pair-dialog[data-state=
// issuing|shown|used|expired|failed] > #pair-qr (an svg) #pair-code button#pair-copy #pair-copied
// #pair-expires #pair-used #pair-command #pair-url #pair-error input#pair-limited button#pair-new
// button#pair-close.
import { PairDialog } from "/pkg/pairing_wasm.js";

const $ = (id) => document.getElementById(id);

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setupPairDialog(send) {
  const dialog = new PairDialog();
  const box = $("pair-dialog");
  let shownSvg = "";

  function render() {
    const v = dialog.view(Date.now());
    if (!v.open) {
      if (box.open) box.close();
      return;
    }
    if (!box.open) box.showModal();
    box.setAttribute("data-state", v.state);
    if (v.qrSvg !== shownSvg) {
      // The SVG is the wasm module's own output (no input of anyone else's in it but the code, which
      // is base64url): safe to place as markup.
      $("pair-qr").innerHTML = v.qrSvg;
      shownSvg = v.qrSvg;
    }
    setText($("pair-code"), v.code);
    setText($("pair-url"), v.gatewayUrl);
    setText($("pair-command"), v.command);
    setText($("pair-expires"), v.state === "used" ? "" : v.expires);
    setText($("pair-used"), v.usedBy);
    setText($("pair-error"), v.error);
    setText($("pair-copied"), v.copied);
    $("pair-copy").disabled = v.state !== "shown";
    const status = {
      issuing: "Asking the gateway for a setup code…",
      shown: "Scan the QR code with the device, or paste the code into it. It pairs with no further approval.",
      used: "Paired. The code is used up; nothing is left to approve.",
      expired: "This code expired unused. Make a new one.",
      failed: "No setup code was issued.",
    }[v.state] || "";
    setText($("pair-status"), status);
  }

  function issue() {
    send([dialog.open($("pair-limited").checked)]);
    render();
  }

  $("pair-open").addEventListener("click", issue);
  $("pair-new").addEventListener("click", issue);
  $("pair-close").addEventListener("click", () => {
    dialog.close();
    render();
  });
  box.addEventListener("cancel", () => dialog.close());
  $("pair-copy").addEventListener("click", async () => {
    const code = $("pair-code").textContent;
    try {
      await navigator.clipboard.writeText(code);
    } catch (_denied) {
      // No clipboard permission: select the code so Ctrl-C copies it.
      const range = document.createRange();
      range.selectNodeContents($("pair-code"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    dialog.copied(Date.now());
    render();
  });

  return {
    observe(text) {
      if (dialog.observe(text)) render();
    },
    render,
  };
}
