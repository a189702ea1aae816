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

#[test]
fn a_failed_read_closes_with_the_code_that_fits_it() {
    use tungstenite::error::{CapacityError, ProtocolError};
    let io = |kind| tungstenite::Error::Io(std::io::Error::from(kind));
    let cases = [
        (
            tungstenite::Error::Capacity(CapacityError::MessageTooLong {
                size: 300_000,
                max_size: 262_144,
            }),
            ReaderState::Failed(1009, "frame too large"),
        ),
        (
            tungstenite::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                OverPreAdmissionLimit,
            )),
            ReaderState::Failed(1009, "frame too large"),
        ),
        (
            tungstenite::Error::Protocol(ProtocolError::UnmaskedFrameFromClient),
            ReaderState::Failed(1002, "protocol error"),
        ),
        (
            tungstenite::Error::Protocol(ProtocolError::UnknownDataFrameType(3)),
            ReaderState::Failed(1002, "protocol error"),
        ),
        (
            tungstenite::Error::Utf8("invalid utf-8 sequence".into()),
            ReaderState::Failed(1007, "invalid UTF-8"),
        ),
        (io(std::io::ErrorKind::ConnectionReset), ReaderState::Ended),
        (io(std::io::ErrorKind::InvalidData), ReaderState::Ended),
        (
            tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
            ReaderState::Ended,
        ),
        (tungstenite::Error::ConnectionClosed, ReaderState::Ended),
    ];
    for (e, want) in cases {
        assert_eq!(read_failure(&e), want, "{e}");
    }
}
