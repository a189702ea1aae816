//! Every frame the gateway sent in the transcript snapshots reads into the core's typed records and back.
//! (Lives here, not in pairing-core, because it reads files and the core has no I/O.)

use pairing_core::protocol::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Reads `value` as `T` and writes it back: it must come out equal.
fn round_trip<T: Serialize + DeserializeOwned>(value: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| format!("parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("write: {e}"))?;
    if &back == value {
        Ok(())
    } else {
        Err(format!("written back as {back}"))
    }
}

fn result_round_trip(method: &str, payload: &Value) -> Option<Result<(), String>> {
    Some(match method {
        "connect" => round_trip::<HelloOk>(payload),
        "node.pair.request" => round_trip::<RequestResult>(payload),
        "node.pair.list" => round_trip::<NodePairList>(payload),
        "node.pair.approve" => round_trip::<NodeApproved>(payload),
        "node.pair.reject" => round_trip::<NodeRejected>(payload),
        "node.pair.verify" => round_trip::<NodeVerified>(payload),
        "node.pair.remove" => round_trip::<NodeRemoved>(payload),
        "node.rename" => round_trip::<NodeRenamed>(payload),
        "node.list" => round_trip::<NodeList>(payload),
        "node.describe" => round_trip::<NodeDescribed>(payload),
        "device.pair.list" => round_trip::<DevicePairList>(payload),
        "device.pair.approve" => round_trip::<DeviceApproved>(payload),
        "device.pair.reject" => round_trip::<DeviceRejected>(payload),
        "device.pair.remove" => round_trip::<DeviceRemoved>(payload),
        "device.token.rotate" => round_trip::<DeviceTokenRotated>(payload),
        "device.token.revoke" => round_trip::<DeviceTokenRevoked>(payload),
        _ => return None,
    })
}

fn event_round_trip(event: &str, payload: &Value) -> Option<Result<(), String>> {
    Some(match event {
        "connect.challenge" => round_trip::<Challenge>(payload),
        "tick" => round_trip::<Tick>(payload),
        "node.pair.requested" => round_trip::<NodePending>(payload),
        "node.pair.resolved" => round_trip::<PairResolved>(payload),
        "device.pair.requested" => round_trip::<DevicePending>(payload),
        "device.pair.resolved" => round_trip::<DeviceResolved>(payload),
        _ => return None,
    })
}

/// Every frame the gateway sent in every transcript snapshot (`tests/snapshots`) reads into its typed
/// record and writes back equal: the records clients use are the gateway's shapes, field for field.
/// Also every `connect` a scenario sends reads as [`ConnectParams`].
#[test]
fn every_gateway_frame_in_the_transcripts_reads_into_its_record_and_back() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/snapshots");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/snapshots") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("tests__transcripts__") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let json = text.splitn(3, "---").nth(2).expect("snapshot header");
        let snap: Value = serde_json::from_str(json).expect("snapshot is JSON");
        // (connection, request id) -> method, from the frames the scenario sent.
        let mut methods = std::collections::HashMap::new();
        for step in snap["transcript"].as_array().into_iter().flatten() {
            let frame = &step["frame"];
            if let Some(conn) = step["in"].as_str() {
                if let (Some(id), Some(m)) = (frame["id"].as_str(), frame["method"].as_str()) {
                    methods.insert((conn.to_owned(), id.to_owned()), m.to_owned());
                    if m == "connect" && frame["params"]["role"].is_string() {
                        let p: Result<ConnectParams, _> =
                            serde_json::from_value(frame["params"].clone());
                        if p.is_err() && frame["params"]["client"].is_object() {
                            failures.push(format!("{name}: connect params {p:?}"));
                        }
                    }
                }
                continue;
            }
            let Some(conn) = step["out"].as_str().or(step["broadcast"].as_str()) else {
                continue;
            };
            let outcome = match frame["type"].as_str() {
                Some("res") => {
                    let method = frame["id"]
                        .as_str()
                        .and_then(|id| methods.get(&(conn.to_owned(), id.to_owned())));
                    if frame["ok"] == true {
                        method.and_then(|m| result_round_trip(m, &frame["payload"]))
                    } else {
                        let details = &frame["error"]["details"];
                        let typed = serde_json::from_value::<ErrorDetails>(details.clone());
                        Some(
                            round_trip::<ApiError>(&frame["error"]).and_then(|()| match typed {
                                Err(e) if !details.is_null() => Err(format!("details: {e}")),
                                _ => Ok(()),
                            }),
                        )
                    }
                }
                Some("event") => frame["event"]
                    .as_str()
                    .and_then(|e| event_round_trip(e, &frame["payload"])),
                _ => None,
            };
            match outcome {
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => failures.push(format!("{name}: {frame}: {e}")),
                None => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{checked} frames checked");
    assert!(checked > 500, "only {checked} frames checked");
}
