//! Who may open a socket at all: the Host check and the per-address caps.

use super::{addr_of, http_head, source, upgrade};
use pairing_core::protocol::{ClientInfo, ConnectParams, ErrorCode};
use pairing_tests::client::Client;
use pairing_tests::process::GatewayProcess;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The Host header must name the gateway: another name (DNS rebinding) is refused with 421 before
/// any upgrade, and so is a request without Host; the gateway's own names pass.
#[test]
fn a_foreign_host_is_refused_before_the_upgrade() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(
        &state,
        &["--allowed-host", "gw.example"],
        &[("RUST_LOG", "warn")],
    )?;
    let addr = addr_of(&gw.url);
    let port = addr.port();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        for host in [format!("evil.example:{port}"), "attacker.test".to_owned()] {
            let mut tcp = TcpStream::connect(addr).await?;
            let head = upgrade(&mut tcp, &host).await?;
            anyhow::ensure!(head.starts_with("HTTP/1.1 421"), "{host}: {head}");
            let mut tcp = TcpStream::connect(addr).await?;
            tcp.write_all(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
                .await?;
            let head = http_head(&mut tcp).await?;
            anyhow::ensure!(head.starts_with("HTTP/1.1 421"), "page for {host}: {head}");
        }
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
        let head = http_head(&mut tcp).await?;
        anyhow::ensure!(
            head.starts_with("HTTP/1.0 421") || head.starts_with("HTTP/1.1 421"),
            "no Host: {head}"
        );
        for host in [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            "gw.example".to_owned(),
        ] {
            let mut tcp = TcpStream::connect(addr).await?;
            let head = upgrade(&mut tcp, &host).await?;
            anyhow::ensure!(head.starts_with("HTTP/1.1 101"), "{host}: {head}");
        }
        // The clients of this repository connect with ws://127.0.0.1:PORT/.
        let mut op = Client::operator(&gw.url, &gw.token(), &["operator.pairing"]).await?;
        op.pair_list().await?;
        anyhow::Ok(())
    })?;
    assert!(gw.stop()?.success());
    Ok(())
}

/// More than `--max-connections-per-ip` sockets from one address are refused with 503; node
/// connections from one address get that minus the 64 handshake places and are `RATE_LIMITED`
/// beyond.
#[test]
fn sockets_and_node_connections_per_address_are_capped() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let state = root.path().join("gw");
    let gw = GatewayProcess::start_with_env(
        &state,
        &["--max-connections-per-ip", "70"],
        &[("RUST_LOG", "warn")],
    )?;
    let url = gw.url.clone();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        // Nodes from one address: 70 − 64 = 6, then RATE_LIMITED.
        let ip = source(3);
        let mut nodes = Vec::new();
        for k in 0..6u8 {
            nodes.push(Client::node_from(&url, ip, &[k + 1; 32], "n").await?);
        }
        let mut c = Client::open_from(&url, ip).await?;
        let signed = pairing_core::proof::sign(
            &[99u8; 32],
            &pairing_core::proof::SignedFields::node("node-host", "node", "linux", ""),
            pairing_host::driver::now_ms(),
            &c.nonce,
        );
        let client = ClientInfo::new("node-host", "node", "1", "linux");
        let params = ConnectParams {
            caps: None,
            commands: None,
            ..ConnectParams::node(client, signed.into())
        };
        let answer = c.connect(&params).await?;
        anyhow::ensure!(
            answer.as_ref().err().map(|e| e.code) == Some(ErrorCode::RateLimited),
            "7th node from one address: {answer:?}"
        );
        // Sockets from one address: 70 at most, then 503.
        let ip = source(4);
        let mut open = Vec::new();
        for _ in 0..70 {
            open.push(Client::operator_from(&url, ip, &gw.token(), &["operator.read"]).await?);
        }
        let refused = Client::open_from(&url, ip).await.err().expect("refused");
        anyhow::ensure!(format!("{refused:#}").contains("503"), "{refused:#}");
        // Another address is not affected.
        Client::operator_from(&url, source(5), &gw.token(), &["operator.read"]).await?;
        anyhow::Ok(())
    })?;
    assert!(gw.stop()?.success());
    Ok(())
}
