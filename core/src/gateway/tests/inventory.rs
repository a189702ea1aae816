//! Issue #16's inventory fields: who approved a node, and the description an operator sets.

use super::*;
use crate::audit::Action;

/// A gateway with node `[1; 32]` paired by an operator; returns it, the operator and the node id.
fn paired_node() -> (Gateway<MemoryStore>, ConnId, String) {
    let mut g = gateway();
    let op = operator(&mut g);
    let (n, id) = node(&mut g, T0, [1; 32]);
    call(&mut g, T0, n, "node.pair.request", json!({"nodeId": id}));
    let (sent, _) = round(&mut g);
    let rid = sent[1].1["payload"]["request"]["requestId"].clone();
    call(
        &mut g,
        T0,
        op,
        "node.pair.approve",
        json!({"requestId": rid}),
    );
    round(&mut g);
    (g, op, id)
}

fn answer(sent: &Sent, id: &str) -> Value {
    sent.iter()
        .find(|(_, f)| f["id"] == id)
        .map(|(_, f)| f.clone())
        .unwrap_or_else(|| panic!("no answer {id}: {sent:?}"))
}

#[test]
fn an_approval_records_who_approved_and_lists_show_it() {
    let (mut g, op, id) = paired_node();
    let record = g.state().paired(&NodeId(id.clone())).unwrap().clone();
    assert_eq!(record.approved_via.as_deref(), Some("owner"));
    assert_eq!(record.approved_by.as_deref(), Some("operator cli@10.0.0.1"));
    call(&mut g, T0, op, "node.pair.list", json!({}));
    call(&mut g, T0, op, "node.list", json!({}));
    let (sent, _) = round(&mut g);
    let list = answer(&sent, "node.pair.list");
    assert_eq!(
        list["payload"]["paired"][0]["approvedBy"],
        "operator cli@10.0.0.1"
    );
    let nodes = answer(&sent, "node.list");
    assert_eq!(
        nodes["payload"]["nodes"][0]["approvedBy"],
        "operator cli@10.0.0.1"
    );
}

#[test]
fn a_description_is_set_cleared_audited_and_checked_like_a_name() {
    let (mut g, op, id) = paired_node();
    let before = g.store().audit().len();
    call(
        &mut g,
        T0 + 1,
        op,
        "node.description.set",
        json!({"nodeId": id, "description": "  camera above the stove "}),
    );
    let (sent, _) = round(&mut g);
    let set = answer(&sent, "node.description.set");
    assert_eq!(
        set["payload"]["description"], "camera above the stove",
        "{set}"
    );
    let record = g.state().paired(&NodeId(id.clone())).unwrap().clone();
    assert_eq!(
        record.description.as_deref(),
        Some("camera above the stove")
    );
    let audit = &g.store().audit()[before..];
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, Action::Described);
    assert_eq!(audit[0].node_id.as_str(), id);
    assert!(matches!(
        &audit[0].actor,
        crate::audit::Actor::Conn {
            role: "operator",
            ..
        }
    ));

    call(&mut g, T0 + 2, op, "node.describe", json!({"nodeId": id}));
    let (sent, _) = round(&mut g);
    assert_eq!(
        answer(&sent, "node.describe")["payload"]["description"],
        "camera above the stove"
    );

    // Refused like a name: bidi overrides, invisible characters, too long; nothing changes.
    for bad in [
        json!("evil\u{202E}txt.exe"),
        json!("zero\u{200B}width"),
        json!("x".repeat(crate::record::MAX_DESCRIPTION_CHARS + 1)),
        json!(7),
    ] {
        call(
            &mut g,
            T0 + 3,
            op,
            "node.description.set",
            json!({"nodeId": id, "description": bad}),
        );
        let (sent, _) = round(&mut g);
        let e = answer(&sent, "node.description.set");
        assert_eq!(e["error"]["details"]["field"], "description", "{e}");
    }
    // Absent is an error (not a silent clear); unknown nodes are named.
    call(
        &mut g,
        T0 + 3,
        op,
        "node.description.set",
        json!({"nodeId": id}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(answer(&sent, "node.description.set")["ok"], false);
    call(
        &mut g,
        T0 + 3,
        op,
        "node.description.set",
        json!({"nodeId": "nobody", "description": "x"}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(
        answer(&sent, "node.description.set")["error"]["details"]["code"],
        "UNKNOWN_NODE"
    );
    let record = g.state().paired(&NodeId(id.clone())).unwrap().clone();
    assert_eq!(
        record.description.as_deref(),
        Some("camera above the stove")
    );
    assert_eq!(
        g.store().audit().len(),
        before + 1,
        "refusals are not audited"
    );

    // null clears, audited too.
    call(
        &mut g,
        T0 + 4,
        op,
        "node.description.set",
        json!({"nodeId": id, "description": null}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(
        answer(&sent, "node.description.set")["payload"]["description"],
        Value::Null
    );
    assert_eq!(g.state().paired(&NodeId(id)).unwrap().description, None);
    assert_eq!(g.store().audit().len(), before + 2);
}

#[test]
fn a_node_may_not_describe_itself() {
    let (mut g, _, id) = paired_node();
    let (n, _) = node(&mut g, T0 + 1, [1; 32]);
    call(
        &mut g,
        T0 + 1,
        n,
        "node.description.set",
        json!({"nodeId": id, "description": "trust me"}),
    );
    let (sent, _) = round(&mut g);
    assert_eq!(answer(&sent, "node.description.set")["ok"], false);
    assert_eq!(g.state().paired(&NodeId(id)).unwrap().description, None);
}

#[test]
fn a_conditional_removal_keeps_a_node_seen_since_the_cutoff_or_connected() {
    let (mut g, op, id) = paired_node();
    let approved = g
        .state()
        .paired(&NodeId(id.clone()))
        .unwrap()
        .approved_at_ms;
    let remove = |g: &mut Gateway<MemoryStore>, cutoff: u64| {
        call(
            g,
            T0 + 10,
            op,
            "node.pair.remove",
            json!({"nodeId": id, "ifUnseenSinceMs": cutoff}),
        );
        let (sent, _) = round(g);
        answer(&sent, "node.pair.remove")
    };
    // Connected: kept, whatever the cutoff.
    let kept = remove(&mut g, approved + 1);
    assert_eq!(kept["ok"], false, "{kept}");
    assert_eq!(kept["error"]["details"]["code"], "NODE_SEEN", "{kept}");
    assert_eq!(kept["error"]["details"]["reason"], "connected", "{kept}");
    // Gone offline, seen (approved) at or after the cutoff: kept.
    let conns: Vec<ConnId> = g.nodes_online[&NodeId(id.clone())]
        .iter()
        .copied()
        .collect();
    for c in conns {
        g.closed(T0 + 5, c);
    }
    round(&mut g);
    let kept = remove(&mut g, approved);
    assert_eq!(kept["error"]["details"]["reason"], "seen", "{kept}");
    assert!(g.state().paired(&NodeId(id.clone())).is_some());
    // Unseen since before the cutoff: removed, as an unconditional removal would be.
    let gone = remove(&mut g, approved + 1);
    assert_eq!(gone["ok"], true, "{gone}");
    assert!(g.state().paired(&NodeId(id.clone())).is_none());
    // Removed already: the usual unknown node.
    let again = remove(&mut g, approved + 1);
    assert_eq!(again["error"]["details"]["code"], "UNKNOWN_NODE", "{again}");
}
