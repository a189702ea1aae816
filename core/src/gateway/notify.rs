//! Fan-out of decisions: `seq`-numbered broadcasts to operators, the audit entry and notice of each
//! decision, and the decision sent to the node that asked (now, or from the mailbox later).

use super::{Gateway, Held, Kind, Output};
use crate::audit::{Action, Actor, AuditEntry, key_fingerprint};
use crate::event::Event;
use crate::ids::{ConnId, NodeId, RequestId};
use crate::memory::{Decision, Mail};
use crate::notice::{Notice, What};
use crate::record::PendingRequest;
use crate::secret::Token;
use crate::store::Store;
use crate::wire::event_frame;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResolvedPayload<'a> {
    request_id: &'a str,
    node_id: &'a NodeId,
    decision: Decision,
    ts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

impl<S: Store> Gateway<S> {
    /// Broadcasts an event to operators allowed to see pairing events, with the next `seq`.
    pub(crate) fn broadcast(&mut self, build: impl FnOnce(&Self, u64) -> Arc<str>) {
        self.seq += 1;
        if self.subscribers.is_empty() {
            return;
        }
        let text = build(self, self.seq);
        let to = self
            .subscriber_list
            .get_or_insert_with(|| self.subscribers.iter().copied().collect())
            .clone();
        self.held
            .push(Held::Out(Output::Broadcast { to, text }, Kind::Event));
    }

    /// Broadcasts `node.pair.resolved`.
    pub(crate) fn broadcast_resolved(
        &mut self,
        request_id: &str,
        node_id: &NodeId,
        decision: Decision,
    ) {
        let ts = self.now;
        self.broadcast(|_, seq| {
            event_frame(
                Event::NodePairResolved.as_str(),
                &ResolvedPayload {
                    request_id,
                    node_id,
                    decision,
                    ts,
                    token: None,
                },
                Some(seq),
            )
        });
    }

    /// Removes a pending request as `decision` (expired, rejected, superseded): remembers why, tells
    /// operators, and tells the node that made it.
    pub(crate) fn resolve_pending(
        &mut self,
        by: &Actor,
        id: &RequestId,
        decision: Decision,
    ) -> Option<PendingRequest> {
        let code = self.state.code(id).map(str::to_owned);
        let req = self.state.delete_pending(id)?;
        self.audit(
            by,
            decision.into(),
            Some(id),
            &req.node_id,
            req.public_key.as_deref(),
            req.meta.display_name.as_deref(),
        );
        self.mark_device_notice(req.device.is_some());
        let by_text = by.approver("gateway");
        self.resolved
            .remember(id, code.as_deref(), decision, by_text, self.now);
        self.broadcast_resolved(id.as_str(), &req.node_id, decision);
        self.notify_node(&req, decision, None);
        if req.device.is_some() {
            self.broadcast_device_resolved(id.as_str(), &req.node_id, decision);
            self.after_device_resolved(by, &req, decision);
        }
        Some(req)
    }

    /// Marks the notice just staged as about a device-made request (when `device`).
    pub(crate) fn mark_device_notice(&mut self, device: bool) {
        if let Some(Held::Notice(n)) = self.held.last_mut() {
            n.device = device;
        }
    }

    /// Stages the audit entry of a decision made now `by` someone (and its notice for the host).
    pub(crate) fn audit(
        &mut self,
        by: &Actor,
        action: Action,
        request_id: Option<&RequestId>,
        node_id: &NodeId,
        public_key: Option<&str>,
        display_name: Option<&str>,
    ) {
        let entry = self.entry(by, action, request_id, node_id, public_key, display_name);
        self.stage_audit(entry);
    }

    /// [`Gateway::audit`] of an approval, with how it came about (`via`).
    pub(crate) fn audit_approval(
        &mut self,
        by: &Actor,
        request_id: &RequestId,
        node_id: &NodeId,
        public_key: Option<&str>,
        display_name: Option<&str>,
        (via, enrollment): (&str, Option<&str>),
    ) {
        let mut entry = self.entry(
            by,
            Action::Approved,
            Some(request_id),
            node_id,
            public_key,
            display_name,
        );
        entry.approved_via = Some(via.to_owned());
        entry.enrollment = enrollment.map(str::to_owned);
        self.stage_audit(entry);
    }

    /// Stages the audit entry of an enrollment issued or revoked: a decision about no node, named by
    /// its id and label (never its secret).
    pub(crate) fn audit_enrollment(
        &mut self,
        by: &Actor,
        action: Action,
        e: &crate::enroll::Enrollment,
    ) {
        // Named as a person reads it in the trail's name column and the log.
        let what = match e.kind {
            crate::enroll::EnrollKind::SetupCode => "setup code",
            crate::enroll::EnrollKind::Key => "enrollment key",
        };
        let label = match &e.label {
            Some(l) => format!("{what} {l:?}"),
            None => what.to_owned(),
        };
        let mut entry = self.entry(by, action, None, &NodeId::default(), None, Some(&label));
        entry.enrollment = Some(e.id.clone());
        self.stage_audit(entry);
    }

    /// An audit entry made now, not yet sealed.
    fn entry(
        &self,
        by: &Actor,
        action: Action,
        request_id: Option<&RequestId>,
        node_id: &NodeId,
        public_key: Option<&str>,
        display_name: Option<&str>,
    ) -> AuditEntry {
        AuditEntry {
            action,
            actor: by.clone(),
            approved_via: None,
            display_name: display_name.map(str::to_owned),
            enrollment: None,
            hash: String::new(),
            key_fingerprint: public_key.map(key_fingerprint),
            node_id: node_id.clone(),
            prev_hash: String::new(),
            request_id: request_id.cloned(),
            seq: 0,
            ts: self.now,
        }
    }

    /// Stages `entry` with the state change it records, and its notice for the host.
    fn stage_audit(&mut self, entry: AuditEntry) {
        self.held.push(Held::Notice(Notice {
            what: What::Decision(entry.action),
            node_id: entry.node_id.clone(),
            request_id: entry.request_id.clone(),
            display_name: entry.display_name.clone(),
            remote_ip: None,
            code: None,
            by: entry.actor.clone(),
            approved_via: entry.approved_via.clone(),
            enrollment: entry.enrollment.clone(),
            device: false,
        }));
        self.state.audit(entry);
    }

    /// Node connections of `node` that proved `public_key`.
    fn key_proven(&self, node: &NodeId, public_key: &str) -> Vec<ConnId> {
        self.device_conns(node, Some(public_key), None)
    }

    /// Sends a decision to the node that made `req` (if a node made it): now, on every connection that
    /// proved its key, or on its next such connection within the delivery window.
    pub(crate) fn notify_node(
        &mut self,
        req: &PendingRequest,
        decision: Decision,
        token: Option<Token>,
    ) {
        let Some(key) = &req.public_key else {
            return;
        };
        let online = self.key_proven(&req.node_id, key);
        let mail = Mail {
            request_id: req.request_id.clone(),
            decision,
            ts: self.now,
            token,
            public_key: key.clone(),
            expires_at: self
                .now
                .saturating_add(self.config.token_delivery_window_ms),
        };
        if online.is_empty() {
            self.held.push(Held::Mail(req.node_id.clone(), mail));
        } else {
            for conn in online {
                self.held
                    .push(Held::Direct(conn, req.node_id.clone(), mail.clone()));
            }
        }
    }

    /// After a node's `hello-ok`: delivers a decision waiting for it, from the mailbox or from this very
    /// batch (a decision made before the commit that admitted this connection).
    pub(crate) fn deliver_mail(&mut self, conn: ConnId, node: &NodeId, public_key: &str) {
        if let Some(mail) = self.mailbox.take(node, public_key, self.now) {
            self.emit(conn, mail_frame(node, &mail), Kind::Plain);
            return;
        }
        let pos = self
            .held
            .iter()
            .position(|h| matches!(h, Held::Mail(n, m) if n == node && m.public_key == public_key));
        if let Some(pos) = pos
            && let Held::Mail(_, mail) = self.held.remove(pos)
        {
            self.emit(conn, mail_frame(node, &mail), Kind::Event);
        }
    }
}

pub(super) fn mail_frame(node: &NodeId, mail: &Mail) -> Arc<str> {
    event_frame(
        Event::NodePairResolved.as_str(),
        &ResolvedPayload {
            request_id: mail.request_id.as_str(),
            node_id: node,
            decision: mail.decision,
            ts: mail.ts,
            token: mail.token.as_ref().map(Token::expose),
        },
        None,
    )
}
