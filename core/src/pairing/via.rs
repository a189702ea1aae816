//! How an approval came about: the paired record's `approvedVia`, and the setup code or key behind it.

/// How an approval came about: the record's `approvedVia`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via<'a> {
    /// A person approved it (`node.pair.approve`, `device.pair.approve`): OpenClaw's `owner`.
    Owner,
    /// `--auto-approve-local`: a loopback device, approved by the gateway.
    Local,
    /// A setup code or enrollment key (its id): a person approved when they issued it.
    Enrolled(crate::enroll::EnrollKind, &'a str),
}

impl<'a> Via<'a> {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Via::Owner => "owner",
            Via::Local => "local",
            Via::Enrolled(kind, _) => kind.as_str(),
        }
    }

    /// The setup code or key it came through, if any.
    pub(crate) fn enrollment(self) -> Option<&'a str> {
        match self {
            Via::Enrolled(_, id) => Some(id),
            Via::Owner | Via::Local => None,
        }
    }
}
