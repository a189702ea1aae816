// A logging TCP proxy for WebSocket traffic, with no dependencies (node:net only), for tests/real-clients.
//
//   node proxy.mjs <upstreamPort> <frames.log>
//
// Listens on 127.0.0.1 (a free port, printed on stdout as "PORT <n>"), forwards every connection byte for
// byte to 127.0.0.1:<upstreamPort>, and writes one line per WebSocket frame to <frames.log>: time,
// connection number, direction (c2s: client → gateway, s2c: gateway → client) and the JSON frame with every
// secret replaced by "<redacted>". The client's Sec-WebSocket-Extensions header is dropped, so frames stay
// uncompressed and readable. Parsing is only for the log: the bytes forwarded are never altered otherwise.
// When the upstream is down (a gateway restart), the client's connection is closed, as a refused connect.
import fs from "node:fs";
import net from "node:net";

const [upstreamPort, logPath] = process.argv.slice(2);
if (!upstreamPort || !logPath) {
  console.error("usage: node proxy.mjs <upstreamPort> <frames.log>");
  process.exit(2);
}
const out = fs.createWriteStream(logPath, { flags: "a" });
const stamp = () => new Date().toISOString().slice(11, 23);
const log = (conn, dir, text) => out.write(`${stamp()} #${conn} ${dir} ${text}\n`);

const SECRET_KEYS = new Set(["token", "deviceToken", "bootstrapToken", "password", "recoveryScope",
  "approvalRuntimeToken", "agentRuntimeIdentityToken", "signature", "canvasHostUrl"]);
const BULKY_KEYS = new Set(["pathEnv", "snapshot", "features", "publicKey", "hostStats"]);
function scrub(value, key) {
  if (key && SECRET_KEYS.has(key)) return value === undefined || value === null ? value : "<redacted>";
  if (key && BULKY_KEYS.has(key)) return "<…>";
  if (typeof value === "string") return value.replace(/([#?&]token=)[^&\s"]+/g, "$1<redacted>");
  if (Array.isArray(value)) return value.map((v) => scrub(v));
  if (value && typeof value === "object") {
    const o = {};
    for (const [k, v] of Object.entries(value)) o[k] = scrub(v, k);
    return o;
  }
  return value;
}
function describe(text) {
  try {
    return JSON.stringify(scrub(JSON.parse(text)));
  } catch {
    return `(not JSON, ${text.length} chars)`;
  }
}

// Incremental WebSocket frame reader (RFC 6455), one per direction, after the HTTP upgrade.
function frameReader(conn, dir) {
  let buf = Buffer.alloc(0);
  let headerDone = false;
  let message = [];
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    if (!headerDone) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1").split("\r\n")[0];
      log(conn, dir, `http ${head}`);
      buf = buf.subarray(end + 4);
      headerDone = true;
    }
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0] & 0x80) !== 0;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskOff + (i & 3)];
      buf = buf.subarray(off + len);
      if (opcode === 0x1 || opcode === 0x0) {
        message.push(payload);
        if (fin) {
          log(conn, dir, describe(Buffer.concat(message).toString("utf8")));
          message = [];
        }
      } else if (opcode === 0x8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : "none";
        log(conn, dir, `close ${code} ${JSON.stringify(payload.subarray(2).toString("utf8"))}`);
      } else if (opcode === 0x2) {
        log(conn, dir, `binary ${len} bytes`);
      }
    }
  };
}

let next = 1;
const server = net.createServer((client) => {
  const conn = next++;
  let upstream = null;
  let pending = Buffer.alloc(0);
  const toServer = frameReader(conn, "c2s");
  const toClient = frameReader(conn, "s2c");
  client.on("error", () => client.destroy());
  client.on("close", () => upstream && upstream.end()); // flush what is queued, then FIN
  client.on("data", (chunk) => {
    if (upstream) {
      toServer(chunk);
      upstream.write(chunk);
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const end = pending.indexOf("\r\n\r\n");
    if (end < 0) return;
    const lines = pending.subarray(0, end).toString("latin1").split("\r\n");
    const head = lines.filter((l) => !/^sec-websocket-extensions:/i.test(l)).join("\r\n") + "\r\n\r\n";
    const first = Buffer.concat([Buffer.from(head, "latin1"), pending.subarray(end + 4)]);
    pending = null;
    upstream = net.connect(Number(upstreamPort), "127.0.0.1");
    upstream.on("connect", () => log(conn, "--", "open"));
    upstream.on("data", (c) => {
      toClient(c);
      client.write(c);
    });
    upstream.on("error", (e) => {
      log(conn, "--", `upstream ${e.code || e.message}`);
      upstream.destroy();
      client.destroy();
    });
    upstream.on("close", () => client.end());
    toServer(first);
    upstream.write(first); // queued until connected
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
const stop = () => {
  server.close();
  out.end(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
