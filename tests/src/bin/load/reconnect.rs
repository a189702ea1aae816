//! Paired OpenClaw-style devices coming back (SPEC §11), and the node connect cell
//! (`--mode connect`); the reconnect storm (`--mode storm`, `storm.rs`) uses the same
//! reconnect.
//!
//! Both start their own gateway (`--spawn`) on a state directory written beforehand with the paired
//! devices ([`pairing_tests::bench::write_state`]: `nodes/paired.json` serialised from
//! `PairedNode`), as a gateway that paired them and was then restarted would find it. A device comes
//! back as an OpenClaw 2026.9.6 node host does: a new socket (from its own loopback address), the
//! challenge, `connect` with protocol 4, role `node`, its v3 proof and `auth.token` = the gateway token
//! or `auth.deviceToken` = its device token (`--auth`), answered `hello-ok`. An HTTP 503 to the
//! upgrade (our gateway admits 64 handshakes per source address at once) is retried after
//! `--retry-ms` (plus up to as much jitter) and counted.

use crate::latency::{Lat, micros};
use crate::plan::Plan;
use crate::raw::{RawSocket, is_503, looks_like_event};
use crate::report::Outcome;
use anyhow::Context;
use pairing_core::protocol::Challenge;
use pairing_core::wire::Incoming;
use pairing_host::driver::now_ms;
use pairing_tests::bench::{ConnectTemplate, Device, NodeAuth};
use pairing_tests::client::WAIT;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Read buffer a node's socket starts with (a `hello-ok` is under 2 KiB; it grows if needed).
const NODE_BUF: usize = 4096;

/// Most 503 answers one device retries before it counts as an error.
const MAX_RETRIES: u32 = 1000;

/// How devices come back: where, with which credential, how long to wait after a 503.
pub(crate) struct Reconnect {
    /// The gateway's URL.
    pub url: String,
    /// The gateway token (`auth.token`, and what the proof signs with `--auth token`).
    pub gateway_token: String,
    /// The credential devices present.
    pub auth: NodeAuth,
    /// Wait after a 503 (plus up to as much jitter).
    pub retry: Duration,
}

/// One device admitted: its socket (still open), how many 503s it retried, when its first attempt
/// began and when its `hello-ok` arrived.
pub(crate) struct Admitted {
    /// The open socket.
    pub ws: RawSocket,
    /// 503 answers retried.
    pub retries: u32,
    /// When the first attempt began.
    pub started: Instant,
    /// When `hello-ok` arrived.
    pub admitted: Instant,
}

impl Reconnect {
    /// Every device's `connect`, prepared before the clock starts.
    pub(crate) fn templates(&self, devices: &[Device]) -> Vec<ConnectTemplate> {
        devices
            .iter()
            .map(|d| d.connect_template(self.auth, &self.gateway_token))
            .collect()
    }

    /// The `i`-th device (`d`, its prepared `connect` `t`) comes back from `local`: socket, upgrade
    /// (503s retried), challenge, `connect`, `hello-ok`.
    pub(crate) async fn connect(
        &self,
        d: &Device,
        t: &ConnectTemplate,
        i: u64,
        local: IpAddr,
    ) -> anyhow::Result<Admitted> {
        let started = Instant::now();
        let mut retries = 0;
        let mut ws = loop {
            match RawSocket::connect_from(&self.url, local, NODE_BUF).await {
                Ok(ws) => break ws,
                Err(e) if is_503(&e) && retries < MAX_RETRIES => {
                    retries += 1;
                    // Jitter from the device's index, so retried devices do not come back in step.
                    let ms = self.retry.as_millis() as u64;
                    let jitter = (i.wrapping_mul(2_654_435_761) >> 7) % ms.max(1);
                    tokio::time::sleep(Duration::from_millis(ms + jitter)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let m = ws.next_message().await?;
        let challenge: Challenge = serde_json::from_slice::<Incoming>(&ws.buf[m])
            .ok()
            .and_then(|f| f.payload_as())
            .context("first frame is connect.challenge")?;
        let nonce = challenge.nonce;
        let frame = t.frame(&d.key, &nonce, now_ms());
        ws.send_text(&frame).await?;
        loop {
            let m = ws.next_message().await?;
            let text = &ws.buf[m];
            if looks_like_event(text) {
                continue;
            }
            // Admitted without parsing the whole hello-ok (this process shares the cores with the
            // gateway); anything else is parsed for the error.
            let has = |s: &str| text.windows(s.len()).any(|w| w == s.as_bytes());
            if has(r#""ok":true"#) && has(r#""type":"hello-ok""#) {
                return Ok(Admitted {
                    ws,
                    retries,
                    started,
                    admitted: Instant::now(),
                });
            }
            match serde_json::from_slice::<Incoming>(text)? {
                Incoming::Response { error: Some(e), .. } => {
                    anyhow::bail!("connect of {} refused: {e}", d.id)
                }
                other => anyhow::bail!("connect of {}: unexpected answer {other:?}", d.id),
            }
        }
    }
}

/// The node connect cell: `C` workers, each flow one paired device coming back (device `i` of
/// `devices`), admitted, and closed. The latency is the client's, socket to `hello-ok`.
pub(crate) async fn connect_cell(
    plan: Arc<Plan>,
    r: Arc<Reconnect>,
    devices: Arc<Vec<Device>>,
    connections: usize,
) -> anyhow::Result<Outcome> {
    let templates = Arc::new(r.templates(&devices));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (plan, r, devices) = (plan.clone(), r.clone(), devices.clone());
        let templates = templates.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Lat::new();
            let mut retries = 0u64;
            while let Some(i) = plan.take() {
                let k = (i % devices.len() as u64) as usize;
                let t = Instant::now();
                let connect = r.connect(&devices[k], &templates[k], i, plan.source(i));
                match tokio::time::timeout(WAIT, connect).await {
                    Ok(Ok(a)) => {
                        lat.entry("connect").or_default().push(micros(t));
                        retries += u64::from(a.retries);
                    }
                    Ok(Err(e)) => plan.error(&e),
                    Err(_) => plan.error(&anyhow::anyhow!("no hello-ok within the wait")),
                }
            }
            (lat, retries)
        }));
    }
    let mut lat = Lat::new();
    let mut retries = 0;
    for t in tasks {
        let (l, r) = t.await?;
        retries += r;
        for (k, v) in l {
            lat.entry(k).or_default().extend(v);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    for v in lat.values_mut() {
        v.sort_unstable();
    }
    Ok(Outcome {
        mode: match r.auth {
            NodeAuth::GatewayToken => "connect (auth.token)",
            NodeAuth::DeviceToken => "connect (auth.deviceToken)",
        },
        flows: plan.done(),
        errors: plan.errors(),
        secs,
        lat,
        held: 0,
        retries: Some(retries),
    })
}
