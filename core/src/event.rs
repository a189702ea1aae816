//! The events of the protocol: one name each, and who receives it.
//!
//! The gateway sends events with [`Event::as_str`] as the `event` name; `hello-ok` lists
//! [`Event::OPERATOR`] or [`Event::NODE`] as its `features.events`. Clients tell an event apart with
//! [`Event::parse`], so no event name is spelled twice.

use serde::{Serialize, Serializer};
use std::fmt;

/// An event the gateway sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// `connect.challenge`: the nonce a device signs, sent when a socket opens.
    ConnectChallenge,
    /// `tick`: the gateway's heartbeat with its clock.
    Tick,
    /// `node.pair.requested`: a node asks to pair (operators only).
    NodePairRequested,
    /// `node.pair.resolved`: a request was decided or expired (operators, and the node it was for).
    NodePairResolved,
    /// `device.pair.requested`: the device-shaped twin of `node.pair.requested` (operators only).
    DevicePairRequested,
    /// `device.pair.resolved`: the device-shaped twin of `node.pair.resolved` (operators only).
    DevicePairResolved,
    /// `device.pair.setup.completed`: a setup code or enrollment key paired a device (operators only).
    DevicePairSetupCompleted,
}

impl Event {
    /// The events an operator connection receives, in the order `hello-ok` lists them.
    pub const OPERATOR: [Event; 7] = [
        Event::ConnectChallenge,
        Event::Tick,
        Event::NodePairRequested,
        Event::NodePairResolved,
        Event::DevicePairRequested,
        Event::DevicePairResolved,
        Event::DevicePairSetupCompleted,
    ];

    /// The events a node connection receives, in the order `hello-ok` lists them.
    pub const NODE: [Event; 3] = [
        Event::ConnectChallenge,
        Event::Tick,
        Event::NodePairResolved,
    ];

    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Event::ConnectChallenge => "connect.challenge",
            Event::Tick => "tick",
            Event::NodePairRequested => "node.pair.requested",
            Event::NodePairResolved => "node.pair.resolved",
            Event::DevicePairRequested => "device.pair.requested",
            Event::DevicePairResolved => "device.pair.resolved",
            Event::DevicePairSetupCompleted => "device.pair.setup.completed",
        }
    }

    /// The event named `name`, or `None` for one this version does not know (a client ignores it).
    pub fn parse(name: &str) -> Option<Event> {
        Event::OPERATOR.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Event;

    #[test]
    fn every_event_parses_from_its_name_and_nodes_get_a_subset() {
        for e in Event::OPERATOR {
            assert_eq!(Event::parse(e.as_str()), Some(e));
            assert_eq!(e.to_string(), e.as_str());
        }
        assert!(Event::NODE.iter().all(|e| Event::OPERATOR.contains(e)));
        assert_eq!(Event::parse("node.invoke"), None);
    }
}
