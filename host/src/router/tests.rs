use super::*;
use crate::outbox::{HARD_FACTOR, SlowConsumer};
use std::collections::VecDeque;
use std::time::Duration;

/// What a socket's writer would put on the wire for `pieces`: the texts of its frames, in order.
fn wire(pieces: &VecDeque<Piece>) -> Vec<String> {
    let mut bytes = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Own(text) => {
                ws_frame::header(&mut bytes, ws_frame::TEXT, text.len());
                bytes.extend_from_slice(text.as_bytes());
            }
            Piece::Shared { block, range, .. } => bytes.extend_from_slice(&block[range.clone()]),
        }
    }
    let mut texts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert_eq!(bytes[at], 0x81, "a final text frame");
        let len = usize::from(bytes[at + 1]);
        assert!(len < 126, "short frames only in this test");
        texts.push(String::from_utf8(bytes[at + 2..at + 2 + len].to_vec()).unwrap());
        at += 2 + len;
    }
    texts
}

fn take(out: &Outbox) -> (VecDeque<Piece>, Option<(u16, CloseReason)>, bool) {
    let mut pieces = VecDeque::new();
    let (close, released, _) = out.take(&mut pieces, &mut Vec::new());
    (pieces, close, released)
}

fn send(conn: u64, text: &str) -> Output {
    Output::Send {
        conn: ConnId(conn),
        text: text.into(),
    }
}

fn broadcast(to: &[u64], text: &str) -> Output {
    Output::Broadcast {
        to: to.iter().map(|&c| ConnId(c)).collect(),
        text: text.into(),
    }
}

#[test]
fn each_socket_gets_its_frames_in_order_with_runs_of_broadcasts_shared() {
    let mut router = Router::default();
    let outs: Vec<Arc<Outbox>> = (0..4).map(|_| Arc::new(Outbox::new())).collect();
    for (i, out) in outs.iter().enumerate() {
        router.add(ConnId(i as u64), out.clone());
    }
    for out in [
        send(0, "r1"),
        broadcast(&[0, 1, 2], "e1"),
        broadcast(&[0, 1, 2], "e2"),
        send(1, "r2"),
        broadcast(&[0, 1, 2], "e3"),
        Output::Close {
            conn: ConnId(2),
            code: 1008,
            reason: "bye".into(),
        },
        broadcast(&[0, 1, 2], "e4"),
        send(9, "to a socket that is gone"),
    ] {
        router.sort(out);
    }
    assert!(router.hand_over().is_empty());

    let (a, close, released) = take(&outs[0]);
    assert_eq!(wire(&a), ["r1", "e1", "e2", "e3", "e4"]);
    assert_eq!(a.len(), 2, "one own frame, then one run of four broadcasts");
    assert_eq!(a[1].frames(), 4);
    assert_eq!((close, released), (None, false));

    let (b, _, _) = take(&outs[1]);
    assert_eq!(wire(&b), ["e1", "e2", "r2", "e3", "e4"]);
    assert_eq!(b.iter().map(Piece::frames).collect::<Vec<_>>(), [2, 1, 2]);

    let (c, close, released) = take(&outs[2]);
    assert_eq!(
        wire(&c),
        ["e1", "e2", "e3"],
        "nothing after the core's close"
    );
    assert_eq!(close, Some((1008, "bye".into())));
    assert!(released, "the driver forgot it");

    let (d, close, released) = take(&outs[3]);
    assert!(d.is_empty() && close.is_none() && !released);

    // The next round has its own block, and a run never spans two rounds.
    router.sort(broadcast(&[0, 1], "e5"));
    assert!(router.hand_over().is_empty());
    assert_eq!(wire(&take(&outs[0]).0), ["e5"]);
    assert_eq!(wire(&take(&outs[1]).0), ["e5"]);
}

fn budget(budget: usize, grace: Duration) -> Arc<Outbox> {
    Arc::new(Outbox::for_socket(None, SlowConsumer { budget, grace }))
}

fn frame_of(bytes: usize) -> String {
    "x".repeat(bytes - 4)
}

#[test]
fn a_burst_over_the_byte_budget_is_kept_but_not_without_bound() {
    let mut router = Router::default();
    let burst = budget(1000, Duration::from_secs(3600));
    router.add(ConnId(1), burst.clone());
    // Five times the budget in one round, nothing written: a burst, kept.
    for _ in 0..5 {
        router.sort(send(1, &frame_of(1000)));
    }
    assert!(router.hand_over().is_empty());
    let (pieces, close, released) = take(&burst);
    assert_eq!((pieces.len(), close, released), (5, None, false));
    // The writer wrote it all: under the budget again.
    burst.written(pieces.iter().map(Piece::bytes).sum());
    // Past HARD_FACTOR times the budget unwritten, it is closed at once, saying why.
    for _ in 0..=HARD_FACTOR {
        router.sort(send(1, &frame_of(1000)));
    }
    assert_eq!(router.hand_over(), [ConnId(1)]);
    let (pieces, close, released) = take(&burst);
    assert!(pieces.is_empty(), "frames not taken yet are dropped");
    let (code, reason) = close.expect("a close");
    assert_eq!(code, 1008);
    assert!(
        reason.starts_with("slow consumer: over 7 KiB unread"),
        "{reason}"
    );
    assert!(released);
}

#[test]
fn a_socket_over_its_budget_past_the_grace_is_closed_with_the_reason() {
    let mut router = Router::default();
    let slow = budget(1000, Duration::ZERO);
    let reading = budget(1000, Duration::ZERO);
    router.add(ConnId(1), slow.clone());
    router.add(ConnId(2), reading.clone());
    router.sort(broadcast(&[1, 2], &frame_of(1500)[..120]));
    for _ in 0..2 {
        router.sort(send(1, &frame_of(1000)));
        router.sort(send(2, &frame_of(1000)));
    }
    assert!(
        router.hand_over().is_empty(),
        "the first time over is a burst"
    );
    // The reading one wrote what it took; the slow one took it but wrote nothing.
    let (pieces, ..) = take(&reading);
    reading.written(pieces.iter().map(Piece::bytes).sum());
    let _ = take(&slow);
    router.sort(send(1, "more"));
    router.sort(send(2, "more"));
    assert_eq!(router.hand_over(), [ConnId(1)]);
    let (_, close, _) = take(&slow);
    let (_, reason) = close.expect("closed");
    assert!(
        reason.starts_with("slow consumer: 3 KiB unread for "),
        "{reason}"
    );
    let (pieces, close, released) = take(&reading);
    assert_eq!(
        (wire(&pieces), close, released),
        (vec!["more".to_owned()], None, false)
    );
}
