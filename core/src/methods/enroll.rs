//! `enroll.create` (and OpenClaw's `device.pair.setupCode`), `enroll.list`, `enroll.revoke` and
//! `device.pair.setupStatus`: issuing, listing and ending setup codes and enrollment keys (module
//! `enroll`). Redeeming one happens at `connect` (module `admission`).

use crate::audit::{Action, Actor};
use crate::enroll::{
    self, EnrollKind, Enrollment, KEY_TTL_MS, MAX_ENROLLMENTS, MAX_TTL_MS, MAX_URLS, MAX_USES,
    Profile, SETUP_CODE_TTL_MS, SetupPayload, normalize_gateway_url,
};
use crate::gateway::Gateway;
use crate::method::Method;
use crate::params::Params;
use crate::protocol::{EnrollEntry, EnrollIssued, EnrollList};
use crate::store::Store;
use crate::wire::{ApiError, ok_frame};
use serde_json::Value;

use super::{Caller, Reply};

/// Ended setup codes and keys are forgotten this long after they ended (when one is issued).
const KEEP_ENDED_MS: u64 = 7 * 24 * 3_600_000;
/// The shortest life one may be given.
const MIN_TTL_MS: u64 = 10_000;
/// The longest label and name prefix.
const MAX_LABEL_CHARS: usize = 64;
const MAX_PREFIX_CHARS: usize = 32;

/// Who issued something, as lists show it: the operator client and its address.
pub(crate) fn actor_label(actor: &Actor) -> String {
    match actor {
        Actor::Gateway => "gateway".to_owned(),
        Actor::Conn {
            client_id,
            remote_ip,
            ..
        } => format!("{client_id}@{remote_ip}"),
    }
}

impl<S: Store> Gateway<S> {
    /// `enroll.create`, or `device.pair.setupCode` when `m` says so (OpenClaw's params: a setup code,
    /// `bootstrapProfile` `node` or `limited`).
    pub(super) fn enroll_create(
        &mut self,
        caller: &Caller,
        m: Method,
        id: &str,
        params: Value,
    ) -> Reply {
        const OURS: [&str; 9] = [
            "kind",
            "uses",
            "expiresInMs",
            "commands",
            "limited",
            "namePrefix",
            "label",
            "publicUrl",
            "includeQr",
        ];
        const OPENCLAW: [&str; 5] = [
            "publicUrl",
            "bootstrapProfile",
            "preferRemoteUrl",
            "includeQr",
            "joinUrl",
        ];
        let allowed: &[&str] = if m == Method::DevicePairSetupCode {
            &OPENCLAW
        } else {
            &OURS
        };
        let p = Params::new(m.as_str(), params, allowed, &self.config.limits)?;
        if !self.config.pairing_enabled {
            return Err(ApiError::pairing_disabled());
        }
        let kind = match p.opt_str_max("kind", 16)? {
            None => EnrollKind::SetupCode,
            Some(k) => EnrollKind::parse(&k)
                .ok_or_else(|| ApiError::invalid("kind must be \"setup-code\" or \"key\""))?,
        };
        let uses = match (kind, p.opt_u64("uses")?) {
            (_, None) | (EnrollKind::SetupCode, Some(1)) => 1,
            (EnrollKind::SetupCode, Some(_)) => {
                return Err(ApiError::invalid(
                    "a setup code pairs one device; issue a key (kind \"key\") for more",
                ));
            }
            (EnrollKind::Key, Some(n)) if (1..=u64::from(MAX_USES)).contains(&n) => n as u32,
            (EnrollKind::Key, Some(_)) => {
                return Err(ApiError::invalid(format!(
                    "uses must be between 1 and {MAX_USES}"
                )));
            }
        };
        let ttl = p.opt_u64("expiresInMs")?.unwrap_or(match kind {
            EnrollKind::SetupCode => SETUP_CODE_TTL_MS,
            EnrollKind::Key => KEY_TTL_MS,
        });
        if !(MIN_TTL_MS..=MAX_TTL_MS).contains(&ttl) {
            return Err(ApiError::invalid(
                "expiresInMs must be between 10 seconds and 365 days",
            ));
        }
        let mut limited = p.opt_bool("limited")?.unwrap_or(false);
        match p.opt_str_max("bootstrapProfile", 16)?.as_deref() {
            None | Some("node") => {}
            Some("limited") => limited = true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "bootstrapProfile must be \"node\" or \"limited\"",
                ));
            }
        }
        let profile = Profile {
            commands: p.opt_list("commands")?,
            limited,
            name_prefix: p.opt_str_max("namePrefix", MAX_PREFIX_CHARS)?,
        };
        let label = p.opt_str_max("label", MAX_LABEL_CHARS)?;
        let public_url = p.opt_str_max("publicUrl", self.config.limits.max_string_chars)?;
        let include_qr = p.opt_bool("includeQr")?.unwrap_or(false);
        let mut issued = self.issue(caller, kind, uses, ttl, profile, label, public_url)?;
        if include_qr {
            issued.qr_svg =
                enroll::qr::svg(&issued.setup_code, 240, "QR code of the setup code").ok();
        }
        Ok(ok_frame(id, &issued))
    }

    /// Issues an enrollment and makes its setup code.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &mut self,
        caller: &Caller,
        kind: EnrollKind,
        max_uses: u32,
        ttl: u64,
        mut profile: Profile,
        label: Option<String>,
        public_url: Option<String>,
    ) -> Result<EnrollIssued, ApiError> {
        let own = public_url.is_none();
        let urls: Vec<String> = match public_url {
            Some(u) => vec![normalize_gateway_url(&u).ok_or_else(|| {
                ApiError::invalid("publicUrl must be a ws:// or wss:// URL (host, optional port)")
            })?],
            None => self
                .config
                .public_urls
                .iter()
                .filter_map(|u| normalize_gateway_url(u))
                .take(MAX_URLS)
                .collect(),
        };
        let Some(url) = urls.first().cloned() else {
            return Err(ApiError::invalid(
                "the gateway knows no URL a device could reach it at; pass publicUrl",
            ));
        };
        // A pin only for a certificate this gateway serves itself, never one behind a proxy.
        let tls_fingerprint = (own && url.starts_with("wss://"))
            .then(|| self.config.tls_fingerprint.clone())
            .flatten();
        let downgraded = (!profile.limited && enroll::plaintext_beyond_loopback(&url)).then(|| {
            profile.limited = true;
            format!(
                "{url} is plaintext beyond loopback: anyone on the path can read the code, so it \
                 grants no admin-sensitive command; serve TLS for full access"
            )
        });
        self.make_room()?;
        let enrollment_id = loop {
            let candidate: String = self
                .rng
                .bytes::<4>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if !self.state.all_enrollments().contains_key(&candidate) {
                break candidate;
            }
        };
        let secret = self.rng.token();
        let e = Enrollment {
            id: enrollment_id.clone(),
            kind,
            secret_hash: secret.hash(),
            label,
            profile: profile.clone(),
            max_uses,
            uses: 0,
            created_at_ms: self.now,
            expires_at_ms: self.now.saturating_add(ttl),
            issued_by: actor_label(&caller.actor),
            revoked_at_ms: None,
            redeemed_by: Vec::new(),
        };
        self.audit_enrollment(&caller.actor, Action::EnrollCreated, &e);
        self.state.put_enrollment(e.clone());
        let payload = SetupPayload {
            url: url.clone(),
            urls: (urls.len() > 1).then(|| urls.clone()),
            bootstrap_token: secret.expose().to_owned(),
            expires_at_ms: Some(e.expires_at_ms),
            tls_fingerprint: tls_fingerprint.clone(),
        };
        Ok(EnrollIssued {
            setup_id: enrollment_id,
            kind,
            setup_code: payload.encode(),
            link: payload.link(),
            gateway_url: url,
            gateway_urls: urls,
            tls_fingerprint,
            expires_at_ms: e.expires_at_ms,
            max_uses,
            access: profile.access().to_owned(),
            profile,
            downgraded,
            qr_svg: None,
        })
    }

    /// Forgets enrollments that ended over a week ago, then, at the cap, the oldest ended ones; refuses
    /// when every one kept is still active.
    fn make_room(&mut self) -> Result<(), ApiError> {
        let now = self.now;
        let mut ended: Vec<(u64, String)> = self
            .state
            .all_enrollments()
            .values()
            .filter_map(|e| Some((e.ended_at(now)?, e.id.clone())))
            .collect();
        ended.sort();
        let mut count = self.state.all_enrollments().len();
        for (at, id) in ended {
            if now.saturating_sub(at) < KEEP_ENDED_MS && count < MAX_ENROLLMENTS {
                break;
            }
            self.state.delete_enrollment(&id);
            count -= 1;
        }
        if count >= MAX_ENROLLMENTS {
            return Err(ApiError::invalid(format!(
                "{MAX_ENROLLMENTS} setup codes and keys are active; revoke some first \
                 (openclaw keys list, openclaw keys revoke ID)"
            )));
        }
        Ok(())
    }

    /// `enroll.list`: every enrollment kept, newest first.
    pub(super) fn enroll_list(&self, id: &str, params: Value) -> Reply {
        Params::new(
            Method::EnrollList.as_str(),
            params,
            &[],
            &self.config.limits,
        )?;
        let mut list: Vec<&Enrollment> = self.state.all_enrollments().values().collect();
        list.sort_by(|a, b| b.created_at_ms.cmp(&a.created_at_ms).then(a.id.cmp(&b.id)));
        let enrollments = list
            .into_iter()
            .map(|e| EnrollEntry::of(e, self.now))
            .collect();
        Ok(ok_frame(
            id,
            &EnrollList {
                ts: self.now,
                enrollments,
            },
        ))
    }

    /// The enrollment an `id`/`setupId` names: its whole id, or a prefix of at least 4 characters
    /// that only it has.
    fn enrollment_named(&self, m: Method, params: Value) -> Result<Enrollment, ApiError> {
        let p = Params::new(m.as_str(), params, &["id", "setupId"], &self.config.limits)?;
        let wanted = match (p.opt_str_max("id", 64)?, p.opt_str_max("setupId", 64)?) {
            (Some(x), _) | (None, Some(x)) => x.to_ascii_lowercase(),
            (None, None) => return Err(ApiError::invalid("id is required")),
        };
        let all = self.state.all_enrollments();
        if let Some(e) = all.get(&wanted) {
            return Ok(e.clone());
        }
        let mut matches = all.values().filter(|e| e.id.starts_with(&wanted));
        match (wanted.len() >= 4, matches.next(), matches.next()) {
            (true, Some(e), None) => Ok(e.clone()),
            _ => Err(ApiError::unknown_enrollment(&wanted)),
        }
    }

    /// `enroll.revoke`: ends an enrollment now. Devices it paired stay paired (remove them
    /// separately). Revoking one already revoked changes nothing.
    pub(super) fn enroll_revoke(&mut self, caller: &Caller, id: &str, params: Value) -> Reply {
        let mut e = self.enrollment_named(Method::EnrollRevoke, params)?;
        if e.revoked_at_ms.is_none() {
            e.revoked_at_ms = Some(self.now);
            self.audit_enrollment(&caller.actor, Action::EnrollRevoked, &e);
            self.state.put_enrollment(e.clone());
        }
        Ok(ok_frame(id, &EnrollEntry::of(&e, self.now)))
    }

    /// `device.pair.setupStatus`: one enrollment, as lists show it.
    pub(super) fn setup_status(&self, id: &str, params: Value) -> Reply {
        let e = self.enrollment_named(Method::DevicePairSetupStatus, params)?;
        Ok(ok_frame(id, &EnrollEntry::of(&e, self.now)))
    }
}
