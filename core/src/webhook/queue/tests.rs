use super::*;
use crate::audit::{Action, Actor};
use crate::ids::{NodeId, RequestId};
use crate::notice::{Notice, What};

fn p(n: u32) -> Payload {
    let notice = Notice {
        what: What::Decision(Action::Requested),
        node_id: NodeId(format!("node-{n}")),
        request_id: Some(RequestId(format!("req-{n}"))),
        display_name: None,
        remote_ip: None,
        code: None,
        by: Actor::Gateway,
        approved_via: None,
        device: false,
        enrollment: None,
    };
    super::super::payload(&notice, 0).unwrap()
}

#[test]
fn one_in_flight_in_order_with_backoff_and_one_line_per_episode() {
    let mut q = Queue::new();
    q.push(p(1), 1000);
    q.push(p(2), 1000);
    let a = q.poll_send(1000).unwrap();
    assert_eq!((a.payload.node_id.as_str(), a.attempt), ("node-1", 1));
    assert_eq!(q.poll_send(1000), None, "one in flight");
    assert_eq!(q.poll_timeout(), None);
    // The first failure starts an episode; the second says nothing.
    let e = q.on_result(1000, Err("connection refused".into()), 0);
    assert_eq!(
        e,
        Some(Episode::Failing {
            error: "connection refused".into()
        })
    );
    assert_eq!(q.poll_timeout(), Some(1500), "0.5 s without jitter");
    assert_eq!(q.poll_send(1499), None);
    let a = q.poll_send(1500).unwrap();
    assert_eq!((a.payload.node_id.as_str(), a.attempt), ("node-1", 2));
    assert_eq!(q.on_result(1500, Err("503".into()), 0), None);
    assert_eq!(q.poll_timeout(), Some(2500), "doubled");
    assert_eq!(q.status().failures, 2);
    assert_eq!(q.status().failing_since_ms, Some(1000));
    // Success ends the episode with one line, and the next delivery is due at once.
    q.poll_send(2500).unwrap();
    assert_eq!(
        q.on_result(2600, Ok(()), 0),
        Some(Episode::Recovered {
            since: 1000,
            failures: 2
        })
    );
    let s = q.status();
    assert_eq!(
        (s.delivered, s.queued, s.failures, s.failing_since_ms),
        (1, 1, 0, None)
    );
    assert_eq!(q.poll_send(2600).unwrap().payload.node_id, "node-2");
}

#[test]
fn attempts_and_the_queue_are_bounded() {
    let mut q = Queue::new();
    q.push(p(0), 0);
    let mut now = 0;
    for _ in 0..MAX_ATTEMPTS {
        now = q.poll_timeout().unwrap();
        q.poll_send(now).unwrap();
        q.on_result(now, Err("down".into()), u16::MAX);
    }
    assert_eq!(q.status().given_up, 1);
    assert_eq!(q.poll_timeout(), None);
    for n in 0..(QUEUE_CAPACITY as u32 + 5) {
        q.push(p(n), now);
    }
    assert_eq!(q.status().queued, QUEUE_CAPACITY);
    assert_eq!(q.status().dropped, 5);
    assert_eq!(
        q.poll_send(now).unwrap().payload.node_id,
        "node-5",
        "the oldest went"
    );
}

#[test]
fn closing_makes_every_waiting_delivery_due_for_one_last_attempt() {
    let mut q = Queue::new();
    q.push(p(1), 1000);
    q.push(p(2), 1000);
    q.push(p(3), 1000);
    // The first fails and waits out its backoff.
    assert!(q.poll_send(1000).is_some());
    q.on_result(1000, Err("503".into()), 0);
    assert!(q.poll_timeout().unwrap() > 1000);
    assert_eq!(q.poll_send(1000), None);

    q.closing(1001);
    let a = q.poll_send(1001).unwrap();
    assert_eq!(
        (a.payload.node_id.as_str(), a.attempt),
        ("node-1", MAX_ATTEMPTS)
    );
    // A failure on the last attempt gives it up; the next is due at once.
    q.on_result(1001, Err("503".into()), 0);
    assert_eq!(q.status().given_up, 1);
    let b = q.poll_send(1001).unwrap();
    assert_eq!(b.payload.node_id.as_str(), "node-2");
    q.on_result(1001, Ok(()), 0);
    assert_eq!(
        q.poll_send(1001).unwrap().payload.node_id.as_str(),
        "node-3"
    );
    q.on_result(1001, Ok(()), 0);
    assert_eq!(q.poll_send(1001), None);
    assert_eq!((q.status().delivered, q.status().queued), (2, 0));
}
