//! How an approval came about: the paired record's `approvedVia`, and the setup code or key behind it.

/// How an approval came about: the record's `approvedVia`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via<'a> {
    /// A person approved it (`node.pair.approve`, `device.pair.approve`): OpenClaw's `owner`.
    Owner,
    /// `--auto-approve-local`: a loopback device, approved by the gateway.
    Local,
    /// A setup code or enrollment key (its id, and who issued it): a person approved when they
    /// issued it.
    Enrolled(crate::enroll::EnrollKind, &'a str, &'a str),
}

impl<'a> Via<'a> {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Via::Owner => "owner",
            Via::Local => "local",
            Via::Enrolled(kind, ..) => kind.as_str(),
        }
    }

    /// The record's `approvedBy`: who approved, or for a setup code or key, it and who issued it.
    pub(crate) fn approver(self, by: &crate::audit::Actor) -> String {
        match self {
            Via::Enrolled(kind, id, issued_by) => {
                format!("{} {id} issued by {issued_by}", kind.as_str())
            }
            Via::Owner | Via::Local => by.approver(self.as_str()),
        }
    }

    /// The setup code or key it came through, if any.
    pub(crate) fn enrollment(self) -> Option<&'a str> {
        match self {
            Via::Enrolled(_, id, _) => Some(id),
            Via::Owner | Via::Local => None,
        }
    }
}
