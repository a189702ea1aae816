// A stand-in for OpenClaw's node host (`openclaw node run`) in the browser tests: it connects the way
// the real one does — role node, the gateway token as auth.token, a v3 device proof signed over that
// token with its own Ed25519 key, client node-host 2026.9.6 — and stays connected until killed. With
// protocol 3 the gateway admits it to wait and pairs it in place once a person approves (SPEC §11).
// Prints one JSON line per outcome: {"hello": …auth} or {"refused": …error}. The real clients are tested
// in tests/real-clients/; this keeps the page's tests free of their 1.8 GB install.
//
//   node --experimental-websocket openclaw-node-host.mjs WS_URL TOKEN PROTOCOL DISPLAY_NAME

import crypto from 'node:crypto';

const [url, token, protocol, displayName] = process.argv.slice(2);
const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const rawKey = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
const deviceId = crypto.createHash('sha256').update(rawKey).digest('hex');
const client = {
  id: 'node-host', displayName, version: '2026.9.6', platform: 'linux', deviceFamily: 'Linux', mode: 'node',
};

const ws = new WebSocket(url);
ws.addEventListener('message', (m) => {
  const f = JSON.parse(m.data);
  if (f.event === 'connect.challenge') {
    const { nonce } = f.payload;
    const signedAt = Date.now();
    const payload = ['v3', deviceId, client.id, client.mode, 'node', '', String(signedAt), token, nonce,
      client.platform.trim().toLowerCase(), client.deviceFamily.trim().toLowerCase()].join('|');
    const signature = crypto.sign(null, Buffer.from(payload), privateKey).toString('base64url');
    ws.send(JSON.stringify({
      type: 'req', id: 'c', method: 'connect',
      params: {
        minProtocol: Number(protocol), maxProtocol: Number(protocol), client, role: 'node', scopes: [],
        caps: ['system'], commands: ['canvas.present', 'system.run'], auth: { token },
        device: { id: deviceId, publicKey: rawKey.toString('base64url'), signature, signedAt, nonce },
      },
    }));
  } else if (f.id === 'c') {
    console.log(JSON.stringify(f.ok ? { hello: f.payload.auth, deviceId } : { refused: f.error, deviceId }));
  }
});
ws.addEventListener('close', () => process.exit(0));
