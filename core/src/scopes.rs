//! Operator scopes, and which of them an approval needs.

/// A set of operator scopes. Unknown scopes are ignored when parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes(u8);

/// `operator.admin`: satisfies every requirement.
pub const ADMIN: &str = "operator.admin";
/// `operator.pairing`: the pairing methods and events.
pub const PAIRING: &str = "operator.pairing";
/// `operator.read`: `node.list`, `node.describe`.
pub const READ: &str = "operator.read";
/// `operator.write`: approving nodes that expose commands; also satisfies read.
pub const WRITE: &str = "operator.write";

const BITS: [(&str, u8); 4] = [(ADMIN, 1), (PAIRING, 2), (READ, 4), (WRITE, 8)];

impl Scopes {
    /// Parses the scopes a client asked for.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut bits = 0;
        for n in names {
            if let Some((_, b)) = BITS.iter().find(|(name, _)| *name == n.trim()) {
                bits |= b;
            }
        }
        Scopes(bits)
    }

    fn has(self, name: &str) -> bool {
        BITS.iter().any(|(n, b)| *n == name && self.0 & b != 0)
    }

    /// Whether this set satisfies a required scope: admin satisfies all, write satisfies read.
    pub fn satisfies(self, required: &str) -> bool {
        self.has(ADMIN) || self.has(required) || (required == READ && self.has(WRITE))
    }

    /// The names of the scopes in this set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        BITS.iter()
            .filter(move |(_, b)| self.0 & b != 0)
            .map(|(n, _)| *n)
    }

    /// Whether the holder receives pairing events.
    pub fn sees_pairing_events(self) -> bool {
        self.has(ADMIN) || self.has(PAIRING)
    }
}

/// Commands whose approval needs `operator.admin`: OpenClaw 2026.9.6's admin-sensitive list (SPEC §11).
pub const ADMIN_COMMANDS: [&str; 8] = [
    "system.run",
    "system.run.prepare",
    "system.which",
    "system.execApprovals.get",
    "system.execApprovals.set",
    "browser.proxy",
    "browser.proxy.upload.v1",
    "fs.listDir",
];

/// The scopes an approval needs, from the commands the node asks for (as OpenClaw): admin-sensitive
/// commands ([`ADMIN_COMMANDS`]) need admin, any other command needs write, none needs pairing alone.
pub fn required_approve_scopes(commands: Option<&[String]>) -> &'static [&'static str] {
    let commands = commands.unwrap_or_default();
    if commands.iter().any(|c| {
        ADMIN_COMMANDS
            .iter()
            .any(|e| c.trim().eq_ignore_ascii_case(e))
    }) {
        &[PAIRING, ADMIN]
    } else if !commands.is_empty() {
        &[PAIRING, WRITE]
    } else {
        &[PAIRING]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_scopes_follow_commands() {
        let v = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(required_approve_scopes(None), &[PAIRING]);
        assert_eq!(
            required_approve_scopes(Some(&v(&["canvas.present"]))),
            &[PAIRING, WRITE]
        );
        assert_eq!(
            required_approve_scopes(Some(&v(&["a", "system.which"]))),
            &[PAIRING, ADMIN]
        );
        assert_eq!(
            required_approve_scopes(Some(&v(&["System.Run"]))),
            &[PAIRING, ADMIN]
        );
        for c in ["browser.proxy", "fs.listDir", "system.execApprovals.set"] {
            assert_eq!(required_approve_scopes(Some(&v(&[c]))), &[PAIRING, ADMIN]);
        }
    }

    #[test]
    fn satisfaction_rules() {
        let s = Scopes::parse(["operator.write", "operator.approvals"]);
        assert!(s.satisfies(READ));
        assert!(!s.satisfies(PAIRING));
        assert!(Scopes::parse([ADMIN]).satisfies(PAIRING));
        assert!(!Scopes::parse([READ]).satisfies(WRITE));
        assert!(Scopes::parse([PAIRING]).sees_pairing_events());
        assert!(!Scopes::parse([READ]).sees_pairing_events());
    }
}
