//! Feeding a scenario step to the gateway: opens, `connect` frames built and signed for the last
//! challenge, calls, raw frames, closes, faults and restarts.

use super::{GATEWAY_TOKEN, Harness, key_named};
use crate::proof::{self, SignedFields};
use crate::scopes;
use crate::{ConnId, Gateway, Method};
use serde_json::{Value, json};
use std::net::IpAddr;

impl Harness {
    pub(super) fn feed(&mut self, step: &Value) {
        let conn_of = |h: &Self, key: &str| -> Option<(String, ConnId)> {
            let name = step.get(key)?.as_str()?.to_owned();
            let conn = h.conns.get(&name).copied()?;
            Some((name, conn))
        };
        if let Some(ms) = step.get("advance").and_then(Value::as_u64) {
            self.now += ms;
            self.transcript
                .push(json!({ "at": self.at(), "advance": ms }));
            self.gateway.wake(self.now);
        } else if let Some(name) = step.get("open").and_then(Value::as_str) {
            let text = step
                .get("ip")
                .and_then(Value::as_str)
                .unwrap_or("127.0.0.1");
            let Ok(ip) = text.parse::<IpAddr>() else {
                self.transcript.push(
                    json!({ "at": self.at(), "error": format!("not an IP address: {text}") }),
                );
                return;
            };
            match self.gateway.open(self.now, ip) {
                Ok(conn) => {
                    self.conns.insert(name.to_owned(), conn);
                    self.names.insert(conn, name.to_owned());
                    let mut entry = json!({ "at": self.at(), "open": name, "ip": ip.to_string() });
                    // Replaying a recorded `connect`: it signed the challenge of the gateway that
                    // recorded it, so this connection's challenge becomes that one.
                    if let Some(n) = step.get("nonce").and_then(Value::as_str) {
                        if let Some(c) = self.gateway.conns.get_mut(&conn) {
                            c.nonce = n.to_owned();
                        }
                        self.challenges.insert(conn, n.to_owned());
                        entry["challengeReplaced"] = json!(n);
                    }
                    self.transcript.push(entry);
                }
                Err(e) => self.transcript.push(
                    json!({ "at": self.at(), "open": name, "ip": ip.to_string(), "refused": e.to_string() }),
                ),
            }
        } else if step.get("connect").is_some() {
            if let Some((name, conn)) = conn_of(self, "connect") {
                let frame = self.connect_frame(&name, conn, step);
                self.send(&name, conn, frame);
            }
        } else if step.get("call").is_some() {
            if let Some((name, conn)) = conn_of(self, "call") {
                let id = self.next_id.to_string();
                self.next_id += 1;
                let mut frame = json!({ "type": "req", "id": id, "method": step["method"] });
                if let Some(p) = step.get("params") {
                    frame["params"] = self.resolve(p);
                }
                self.send(&name, conn, frame);
            }
        } else if step.get("send").is_some() {
            if let Some((name, conn)) = conn_of(self, "send") {
                let frame = self.resolve(&step["frame"]);
                self.send(&name, conn, frame);
            }
        } else if let Some((name, conn)) = conn_of(self, "sendText") {
            let text = step["text"].as_str().unwrap_or_default().to_owned();
            self.transcript
                .push(json!({ "at": self.at(), "in": name, "text": text }));
            self.gateway.frame(self.now, conn, &text);
        } else if let Some((name, conn)) = conn_of(self, "sendBytes") {
            let size = step["size"].as_u64().unwrap_or(0) as usize;
            let text = format!("\"{}\"", "x".repeat(size.saturating_sub(2)));
            self.transcript
                .push(json!({ "at": self.at(), "in": name, "bytes": text.len() }));
            self.gateway.frame(self.now, conn, &text);
        } else if let Some((name, conn)) = conn_of(self, "close") {
            self.transcript
                .push(json!({ "at": self.at(), "closed": name }));
            self.gateway.closed(self.now, conn);
        } else if let Some(text) = step.get("note").and_then(Value::as_str) {
            self.transcript
                .push(json!({ "at": self.at(), "note": text }));
        } else if let Some(n) = step.get("failCommits").and_then(Value::as_u64) {
            self.gateway.store_mut().fail_next_commits(n as u32);
            self.transcript
                .push(json!({ "at": self.at(), "failCommits": n }));
        } else if step.get("restart").is_some() {
            self.restart();
        } else if let Some(steps) = step.get("batch").and_then(Value::as_array) {
            for s in steps {
                self.feed(s);
            }
        } else {
            let shown: String = step.to_string().chars().take(200).collect();
            self.transcript.push(
                json!({ "at": self.at(), "error": format!("unknown scenario step: {shown}") }),
            );
        }
    }

    pub(super) fn restart(&mut self) {
        let store = self.gateway.store().clone();
        self.gateway = Gateway::new(self.config.clone(), self.seed, store, self.now)
            .expect("memory store loads");
        self.conns.clear();
        self.names.clear();
        self.challenges.clear();
        self.devices.clear();
        self.transcript
            .push(json!({ "at": self.at(), "restart": true }));
    }

    pub(super) fn send(&mut self, name: &str, conn: ConnId, frame: Value) {
        // The frame is the scenario's, possibly malformed on purpose: read only what is there.
        if frame["method"].as_str().and_then(Method::parse) == Some(Method::Connect)
            && let Some(d) = frame["params"]["device"]["id"].as_str()
        {
            self.devices.insert(conn, d.to_owned());
        }
        let text = frame.to_string();
        self.transcript
            .push(json!({ "at": self.at(), "in": name, "frame": frame }));
        self.gateway.frame(self.now, conn, &text);
    }

    pub(super) fn connect_frame(&self, name: &str, conn: ConnId, step: &Value) -> Value {
        let role = step
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("operator");
        let id = self.next_connect_id(name);
        let mut params = if role == "node" {
            json!({
                "minProtocol": 3, "maxProtocol": 3, "role": "node", "scopes": [],
                "client": { "id": "node-host", "version": "1.0.0", "platform": "linux", "mode": "node", "displayName": name },
            })
        } else {
            json!({
                "minProtocol": 3, "maxProtocol": 3, "role": role,
                "scopes": [scopes::ADMIN],
                "client": { "id": "cli", "version": "1.0.0", "platform": "linux", "mode": "cli" },
                "auth": { "token": GATEWAY_TOKEN },
            })
        };
        for k in [
            "scopes",
            "minProtocol",
            "maxProtocol",
            "caps",
            "commands",
            "role",
        ] {
            if let Some(v) = step.get(k) {
                params[k] = v.clone();
            }
        }
        if let Some(Value::Object(c)) = step.get("client") {
            for (k, v) in c {
                params["client"][k] = v.clone();
            }
        }
        if let Some(t) = step.get("token") {
            if t.is_null() {
                params.as_object_mut().map(|m| m.remove("auth"));
            } else {
                params["auth"] = json!({ "token": t });
            }
        }
        if let Some(a) = step.get("auth") {
            params["auth"] = self.resolve(a);
        }
        if role == "node" {
            self.sign_into(name, conn, step, &mut params);
        }
        json!({ "type": "req", "id": id, "method": Method::Connect, "params": params })
    }

    pub(super) fn next_connect_id(&self, name: &str) -> String {
        format!("connect-{name}")
    }

    pub(super) fn sign_into(&self, name: &str, conn: ConnId, step: &Value, params: &mut Value) {
        let tamper = step.get("tamper").cloned().unwrap_or(Value::Null);
        if tamper.get("omitDevice").is_some() {
            return;
        }
        let key_name = step.get("key").and_then(Value::as_str).unwrap_or(name);
        let signer = tamper
            .get("signWithKey")
            .and_then(Value::as_str)
            .unwrap_or(key_name);
        let nonce = self.challenges.get(&conn).cloned().unwrap_or_default();
        let signed_at = (self.now as i64
            + tamper
                .get("signedAtOffset")
                .and_then(Value::as_i64)
                .unwrap_or(0)) as u64;
        let scopes: Vec<String> = params["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
        let str_of = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let (client_id, mode) = (
            str_of(&params["client"]["id"]),
            str_of(&params["client"]["mode"]),
        );
        let (platform, family) = (
            str_of(&params["client"]["platform"]),
            str_of(&params["client"]["deviceFamily"]),
        );
        // The signature covers the credential, as OpenClaw clients sign it.
        let auth = &params["auth"];
        let token = ["token", "deviceToken", "bootstrapToken"]
            .iter()
            .find_map(|k| auth[k].as_str())
            .unwrap_or("")
            .to_owned();
        let fields = SignedFields {
            client_id: &client_id,
            client_mode: &mode,
            role: "node",
            scopes: &scopes,
            token: &token,
            platform: &platform,
            device_family: &family,
        };
        let mut p = proof::sign(&key_named(signer), &fields, signed_at, &nonce);
        if signer != key_name {
            let honest = proof::sign(&key_named(key_name), &fields, signed_at, &nonce);
            p.id = honest.id;
            p.public_key = honest.public_key;
        }
        let mut device = json!({
            "id": p.id, "publicKey": p.public_key, "signature": p.signature,
            "signedAt": p.signed_at, "nonce": p.nonce,
        });
        for k in ["nonce", "id", "publicKey", "signature"] {
            if let Some(v) = tamper.get(k) {
                device[k] = v.clone();
            }
        }
        params["device"] = device;
    }
}
