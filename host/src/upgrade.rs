//! The WebSocket upgrade on `GET /`, with socket buffers sized for many idle connections.
//!
//! warp's own `ws()` hands tungstenite its default configuration, which reserves a 128 KiB read buffer
//! for every socket and offers no setting for it: 10 000 idle nodes would pin more than a gigabyte.
//! This filter does the same handshake checks and answer (101 with `Sec-WebSocket-Accept`), then wraps
//! hyper's upgraded connection with [`socket_config`]: a 4 KiB read buffer that grows only while a
//! large frame arrives, and a write buffer that grows only while a burst is written.

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use warp::Filter;
use warp::http::{HeaderMap, StatusCode};

/// The socket type the gateway's connection tasks get.
pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// A request that asked to become a WebSocket, not yet answered.
pub struct Upgrade {
    key: String,
    on_upgrade: OnUpgrade,
    foreign_origin: Option<String>,
}

/// Buffers and limits of every gateway socket. `max_message` bounds what is read at all (larger
/// frames end the socket with an error, which the gateway turns into close 1009).
pub fn socket_config(max_message: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(4 * 1024 * 1024)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
}

/// The `Origin` of a browser's request when it is not this gateway's own (`Host`): another web page
/// the user has open must not drive the gateway (it could create pending requests as a "node"). Clients
/// that are not browsers send no `Origin` and are not affected.
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get("origin")?.to_str().unwrap_or("?");
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    (origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)).then(|| origin.to_owned())
}

fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// Matches a `GET` that asks for a WebSocket (version 13, with a key); rejects anything else so the
/// next route (the page) can answer it.
pub fn ws() -> impl Filter<Extract = (Upgrade,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and_then(
            |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| async move {
                let wants = has_token(&headers, "connection", "upgrade")
                    && has_token(&headers, "upgrade", "websocket")
                    && headers
                        .get("sec-websocket-version")
                        .is_some_and(|v| v.as_bytes() == b"13");
                let key = headers
                    .get("sec-websocket-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match (wants, key, on_upgrade) {
                    (true, Some(key), Some(on_upgrade)) => Ok(Upgrade {
                        key,
                        on_upgrade,
                        foreign_origin: foreign_origin(&headers),
                    }),
                    _ => Err(warp::reject()),
                }
            },
        )
}

impl Upgrade {
    /// The requesting page's origin when it is not the gateway's own (the upgrade must be refused).
    pub fn foreign_origin(&self) -> Option<&str> {
        self.foreign_origin.as_deref()
    }

    /// Answers 101 and, once hyper hands over the connection, runs `task` with the socket.
    pub fn on_upgrade<F, Fut>(self, config: WebSocketConfig, task: F) -> impl warp::Reply
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    task(socket).await;
                }
                Err(e) => tracing::debug!("websocket upgrade did not complete: {e}"),
            }
        });
        let reply = warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
        let reply = warp::reply::with_header(reply, "connection", "upgrade");
        let reply = warp::reply::with_header(reply, "upgrade", "websocket");
        warp::reply::with_header(reply, "sec-websocket-accept", accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_the_gateways_own_pages_may_open_a_socket() {
        assert_eq!(
            foreign_origin(&headers(&[("host", "127.0.0.1:18789")])),
            None
        );
        let own = headers(&[
            ("host", "127.0.0.1:18789"),
            ("origin", "http://127.0.0.1:18789"),
        ]);
        assert_eq!(foreign_origin(&own), None);
        let tls = headers(&[("host", "gw.lan:18789"), ("origin", "https://GW.lan:18789")]);
        assert_eq!(foreign_origin(&tls), None);
        let evil = headers(&[
            ("host", "127.0.0.1:18789"),
            ("origin", "https://evil.example"),
        ]);
        assert_eq!(
            foreign_origin(&evil).as_deref(),
            Some("https://evil.example")
        );
        let null = headers(&[("host", "127.0.0.1:18789"), ("origin", "null")]);
        assert!(foreign_origin(&null).is_some());
    }
}
