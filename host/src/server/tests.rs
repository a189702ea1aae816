use super::*;

/// The size of the future `f` returns, without calling it.
fn future_size<A, B, F: Future>(_: impl FnOnce(A, B) -> F) -> usize {
    std::mem::size_of::<F>()
}

/// Every connected socket keeps its reading task and its writing task alive: their state is part
/// of the memory every idle node costs (issue #7: ≤ 16 KiB per idle connected node). A buffer or
/// timer held across an `.await` (the lingering close's once were) would add to every socket.
#[test]
fn socket_tasks_stay_small() {
    let reading = future_size(|socket: Socket, conn: ConnId| {
        let out = Arc::new(Outbox::new());
        let (to_core, _) = mpsc::channel(1);
        connection(socket, conn, out.clone(), OutboxReader::new(out), to_core)
    });
    let writing = future_size(write_frames);
    eprintln!("reading task {reading} B, writing task {writing} B");
    assert!(reading <= 2048, "reading task state {reading} B");
    assert!(writing <= 2048, "writing task state {writing} B");
}

/// Socket-level failures over real sockets: a gateway on a free loopback port, and raw TCP clients
/// that upgrade, then send what a WebSocket library would never send.
mod failed_reads {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Runs a gateway in `state` until the sender is dropped; returns its address.
    async fn gateway(state: &std::path::Path) -> (SocketAddr, oneshot::Sender<()>) {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, addr) = oneshot::channel();
        let opts = Options {
            state_dir: state.to_owned(),
            port: 0,
            bind: Bind::Loopback,
            allow_plaintext: false,
            tls: None,
            pairing_enabled: true,
            auto_approve_local: false,
            pending_ttl_ms: 300_000,
            audit: crate::audit_log::AuditLimits::default(),
            net: NetOptions::default(),
            notify: None,
        };
        tokio::spawn(async move {
            let on_ready = move |s: &Started| {
                let _ = ready.send(s.addr);
            };
            let shutdown = async move {
                let _ = stopped.await;
            };
            run(opts, on_ready, shutdown).await.unwrap();
        });
        (addr.await.unwrap(), stop)
    }

    /// A TCP connection that completed the WebSocket upgrade.
    async fn upgraded(addr: SocketAddr) -> TcpStream {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8];
            tcp.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        tcp
    }

    /// A client frame: final, masked (unless `mask` is `None`), with `opcode` and `payload`.
    fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        let bit = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(bit | n as u8),
            n if n <= 65_535 => {
                out.push(bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    /// Reads the gateway's frames until its close frame: the close code, or `None` when the socket
    /// ends without one.
    async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
        let read = async {
            loop {
                let mut head = [0u8; 2];
                tcp.read_exact(&mut head).await.ok()?;
                let len = match head[1] & 0x7f {
                    126 => u64::from(tcp.read_u16().await.ok()?),
                    127 => tcp.read_u64().await.ok()?,
                    n => u64::from(n),
                };
                let mut payload = vec![0u8; len as usize];
                tcp.read_exact(&mut payload).await.ok()?;
                if head[0] & 0x0f == 0x8 {
                    return Some(u16::from_be_bytes([payload[0], payload[1]]));
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the gateway closes or drops the socket")
    }

    /// Sends `bytes` on a fresh socket and returns the close code the gateway answers with.
    async fn answer_to(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
        let mut tcp = upgraded(addr).await;
        // The gateway may stop reading part way (a frame too large): the rest may not fit.
        let _ = tokio::time::timeout(Duration::from_secs(5), tcp.write_all(bytes)).await;
        close_code(&mut tcp).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_failed_read_closes_with_its_own_code() {
        let state = tempfile::tempdir().unwrap();
        let (addr, _stop) = gateway(state.path()).await;
        let key = Some([1, 2, 3, 4]);
        // A client's frame must be masked: a protocol error.
        assert_eq!(answer_to(addr, &frame(0x1, b"{}", None)).await, Some(1002));
        // A reserved opcode: a protocol error.
        assert_eq!(answer_to(addr, &frame(0x3, b"{}", key)).await, Some(1002));
        // A text frame that is not UTF-8.
        assert_eq!(
            answer_to(addr, &frame(0x1, b"{\"a\":\"\xff\xfe\"}", key)).await,
            Some(1007)
        );
        // Over the handshake's read limit before the handshake, and over the frame limit at all.
        let big = vec![b'x'; 100 * 1024];
        assert_eq!(answer_to(addr, &frame(0x1, &big, key)).await, Some(1009));
        let mut huge = frame(0x1, &[], key);
        huge[1] = 0x80 | 127;
        huge.splice(2..2, (1u64 << 20).to_be_bytes());
        assert_eq!(answer_to(addr, &huge).await, Some(1009));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_gone_without_a_close_frame_gets_none() {
        let state = tempfile::tempdir().unwrap();
        let (addr, _stop) = gateway(state.path()).await;
        let mut tcp = upgraded(addr).await;
        // The sending direction ends (FIN) with no close frame: reading ends, nothing is wrong with
        // a frame, and the gateway drops the socket without a close of its own (it said 1009).
        tcp.shutdown().await.unwrap();
        assert_eq!(close_code(&mut tcp).await, None);
    }
}
