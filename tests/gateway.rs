//! The gateway in-process over real loopback sockets: pairing flows, restart, files, limits.

use pairing_core::NodeMeta;
use pairing_core::protocol::{DecideParams, Decision, PairRequestParams};
use pairing_host::server::{self, Bind, Options};
use pairing_tests::client::{Client, by_node};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;

struct Running {
    url: String,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(state: &Path, ttl_ms: u64) -> anyhow::Result<Running> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let opts = Options {
        state_dir: state.to_path_buf(),
        port: 0,
        bind: Bind::Loopback,
        allow_plaintext: false,
        tls: None,
        pairing_enabled: true,
        auto_approve_local: false,
        pending_ttl_ms: ttl_ms,
        audit: Default::default(),
        net: Default::default(),
        notify: None,
    };
    let task = tokio::spawn(server::run(
        opts,
        move |s| {
            let _ = ready_tx.send(s.ws_url.clone());
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let url = match ready_rx.await {
        Ok(url) => url,
        Err(_) => return Err(task.await?.expect_err("run ended without being ready")),
    };
    let token = pairing_host::gateway_config::read(state)?
        .and_then(|g| g.token)
        .expect("openclaw.json has a token");
    Ok(Running {
        url,
        token,
        stop: Some(stop),
        task,
    })
}

impl Running {
    async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().expect("running").send(());
        tokio::time::timeout(Duration::from_secs(10), self.task).await??
    }
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const PAIRING: &[&str] = &["operator.pairing", "operator.read"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_pairs_verifies_survives_restart_rotates_and_is_removed() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let gw = start(state.path(), 300_000).await?;
    let mut op = Client::operator(&gw.url, &gw.token, PAIRING).await?;
    let key = [5u8; 32];
    let node_id = pairing_core::proof::device_id(&key);
    let mut node = Client::node(&gw.url, &key, "box").await?;
    let r = node.pair_request(&node_id).await?;
    let requested = op.requested().await?;
    assert_eq!(requested.request_id, r.request.request_id);
    let approved = op
        .approve(&DecideParams::by_code(&r.request.verification_code))
        .await?
        .map_err(anyhow::Error::new)?;
    assert!(
        approved.node.token.is_none(),
        "a node's token goes to the node only"
    );
    let resolved = node.resolved().await?;
    let token = resolved
        .token
        .expect("token for the node")
        .expose()
        .to_owned();
    let v = node.verify(&node_id, &token).await?;
    assert!(v.ok);
    drop((op, node));
    gw.stop().await?;

    // Nothing on disk holds the token; files are private.
    for f in all_files(state.path()) {
        let bytes = std::fs::read(&f)?;
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&token),
            "{} holds the token",
            f.display()
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&f)?.permissions());
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }

    let gw = start(state.path(), 300_000).await?;
    let mut op = Client::operator(&gw.url, &gw.token, PAIRING).await?;
    let v = op.verify(&node_id, &token).await?;
    assert!(v.ok, "still paired after a restart");

    // Re-pair: the old token works until the new approval, then stops.
    let mut node = Client::node(&gw.url, &key, "box").await?;
    let r = node.pair_request(&node_id).await?;
    assert!(r.request.is_repair);
    let v = op.verify(&node_id, &token).await?;
    assert!(v.ok);
    op.approve_id(r.request.request_id.as_str()).await?;
    let new_token = node
        .resolved()
        .await?
        .token
        .expect("rotated token")
        .expose()
        .to_owned();
    assert_ne!(new_token, token);
    let old = op.verify(&node_id, &token).await?;
    assert!(!old.ok);
    let new = op.verify(&node_id, &new_token).await?;
    assert!(new.ok);

    op.remove(&node_id).await?;
    let gone = op.verify(&node_id, &new_token).await?;
    assert!(!gone.ok);
    gw.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_announced_without_anyone_calling() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let gw = start(state.path(), 300).await?;
    let mut op = Client::operator(&gw.url, &gw.token, PAIRING).await?;
    let r = op.pair_request("short-lived").await?;
    let expired = op.resolved().await?;
    assert_eq!(expired.decision, Decision::Expired);
    assert_eq!(expired.request_id, r.request.request_id.as_str());
    let late = op
        .approve(&DecideParams::by_id(r.request.request_id.as_str()))
        .await?
        .expect_err("expired");
    assert_eq!(late.gone(), Some(Decision::Expired));
    gw.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_state_stops_the_gateway_naming_the_file_untouched() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let nodes = state.path().join("nodes");
    std::fs::create_dir_all(&nodes)?;
    std::fs::write(nodes.join("paired.json"), b"{\"n\": oops")?;
    let e = start(state.path(), 300_000).await.err().expect("refused");
    assert!(e.to_string().contains("paired.json"), "{e}");
    assert_eq!(std::fs::read(nodes.join("paired.json"))?, b"{\"n\": oops");
    Ok(())
}

/// An operator connection, retried while the gateway still answers 503 because it has not yet noticed
/// that earlier handshaking sockets closed (it learns that asynchronously; no fixed sleep is long enough
/// on a loaded machine).
async fn operator_once_free(url: &str, token: &str) -> anyhow::Result<Client> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match Client::operator(url, token, PAIRING).await {
            Ok(c) => return Ok(c),
            Err(e) if format!("{e:#}").contains("503") && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_that_stops_reading_is_closed_and_harms_no_one_else() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let gw = start(state.path(), 300_000).await?;
    // Subscribed to pairing events, with a small fixed receive window, and never reading again.
    let mut slow = Client::open_with_small_window(&gw.url, 4096)
        .await?
        .into_operator(&gw.token, PAIRING)
        .await?;
    let mut op = Client::operator(&gw.url, &gw.token, PAIRING).await?;
    // Each pair is a ~13 KB `requested` event and a small `resolved` one for the slow reader: 1 500
    // pairs are about three times what it takes here (between 400 and 700: what the kernel buffers on
    // both ends — the gateway's send buffer grows to at most 4 MiB — plus the gateway's bounded queue).
    // The fast operator is answered throughout.
    let commands: Vec<String> = (0..128)
        .map(|i| format!("{i:03}{}", "c".repeat(97)))
        .collect();
    let pairs = 1_500;
    for i in 0..pairs {
        let ask = PairRequestParams {
            meta: NodeMeta {
                commands: Some(commands.clone()),
                ..NodeMeta::default()
            },
            ..by_node(&format!("slow-{i}"))
        };
        let r = op
            .pair_request_with(&ask)
            .await?
            .map_err(anyhow::Error::new)?;
        op.reject(&DecideParams::by_id(r.request.request_id.as_str()))
            .await?
            .map_err(anyhow::Error::new)?;
        op.events.clear();
    }
    let list = op.pair_list().await?;
    assert!(list.pending.is_empty());
    // Reading now: whatever the kernel held, then the end. The gateway closed it with 1008 and its
    // reason as soon as its unread bytes passed the hard bound, and gave the write it was stuck in a
    // short linger to finish: this client read nothing meanwhile, so the socket was dropped rather
    // than kept open until it reads (tests/hostile.rs sees the reason when the client reads in time).
    let end = slow.closed().await?;
    assert!(matches!(end, Some(1008) | None), "{end:?}");
    gw.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_over_real_sockets() -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let gw = start(state.path(), 300_000).await?;
    // 64 sockets from one address may sit in the handshake; the 65th makes room by evicting the
    // oldest (closed with 1013), so a legitimate client still gets in under a flood of idle sockets.
    let mut waiting = Vec::new();
    for _ in 0..64 {
        waiting.push(Client::open(&gw.url).await?);
    }
    let newcomer = Client::open(&gw.url).await?;
    assert_eq!(waiting[0].closed().await?, Some(1013));
    drop((waiting, newcomer));

    // A frame beyond what the socket layer reads closes with 1009; others are unharmed.
    let mut op = operator_once_free(&gw.url, &gw.token).await?;
    let mut big = operator_once_free(&gw.url, &gw.token).await?;
    big.send_text(&"x".repeat(2 * 1024 * 1024)).await?;
    assert_eq!(big.closed().await?, Some(1009));
    let mut mid = operator_once_free(&gw.url, &gw.token).await?;
    mid.send_text(&"y".repeat(300 * 1024)).await?;
    assert_eq!(mid.closed().await?, Some(1009));
    let list = op.pair_list().await?;
    assert!(list.pending.is_empty());
    gw.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_page_may_not_open_the_socket() -> anyhow::Result<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let state = tempfile::tempdir()?;
    let gw = start(state.path(), 300_000).await?;
    let host = gw
        .url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let mut evil = gw.url.as_str().into_client_request()?;
    evil.headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    let refused = tokio_tungstenite::connect_async(evil)
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("403"), "{refused}");
    let mut own = gw.url.as_str().into_client_request()?;
    own.headers_mut()
        .insert("origin", format!("http://{host}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(own).await?;
    use futures_util::StreamExt;
    let first = ws.next().await.expect("a frame")?;
    assert!(first.to_string().contains("connect.challenge"));
    gw.stop().await
}
