//! The page's "Pair a device" dialog: it issues a setup code (`enroll.create`, with the gateway's
//! SVG QR code of it), shows it as a QR code
//! with the code to copy and a countdown, and says "Used by (device)" when a device redeems it
//! (`device.pair.setup.completed`) — nothing a person has to approve afterwards.
//!
//! It sits beside the page's model and shares its socket: the glue hands every frame to
//! [`PairDialog::observe`] before the model, and sends the frame [`PairDialog::open`] returns. Its
//! requests carry ids of their own (`pair-dialog-N`), which the model ignores. The code lives only in
//! this object: closing the dialog forgets it (the gateway keeps only its hash).

use pairing_core::Event;
use pairing_core::enroll::EnrollKind;
use pairing_core::format::{ago, countdown_to};
use pairing_core::protocol::{EnrollIssued, EnrollParams, SetupCompleted};
use pairing_core::wire::{Incoming, request_frame};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// What the dialog is doing.
#[derive(Clone, Debug, Default, PartialEq)]
enum State {
    /// Closed.
    #[default]
    Closed,
    /// Waiting for the gateway to issue the code.
    Issuing(String),
    /// Showing the code.
    Shown(Box<EnrollIssued>),
    /// The gateway refused (in plain words).
    Failed(String),
}

/// What the page shows of the dialog.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialogView {
    /// Whether the dialog is open.
    pub open: bool,
    /// `issuing`, `shown`, `used`, `expired` or `failed`.
    pub state: &'static str,
    /// The setup code (to copy), while shown.
    pub code: String,
    /// The `oc-pair://` link.
    pub link: String,
    /// The QR code as SVG markup.
    pub qr_svg: String,
    /// "expires in 9:55" (or "expired").
    pub expires: String,
    /// "Used by kitchen-pi just now", once a device redeemed it.
    pub used_by: String,
    /// The gateway URL the code points at.
    pub gateway_url: String,
    /// The command to run on a headless device.
    pub command: String,
    /// Why it could not be issued.
    pub error: String,
    /// "Copied." for a few seconds after a copy.
    pub copied: String,
}

/// The dialog (JavaScript: `new PairDialog()`).
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct PairDialog {
    state: State,
    next: u64,
    used: Option<SetupCompleted>,
    copied_at: Option<u64>,
}

#[wasm_bindgen]
impl PairDialog {
    /// A closed dialog.
    #[wasm_bindgen(constructor)]
    pub fn new() -> PairDialog {
        PairDialog::default()
    }

    /// Opens the dialog and returns the frame asking the gateway for a setup code (`limited`: no
    /// admin-sensitive commands).
    pub fn open(&mut self, limited: bool) -> String {
        self.next += 1;
        let id = format!("pair-dialog-{}", self.next);
        let params = EnrollParams {
            kind: Some(EnrollKind::SetupCode),
            limited,
            label: Some("page".to_owned()),
            include_qr: true,
            ..EnrollParams::default()
        };
        let frame = request_frame(&id, pairing_core::Method::EnrollCreate.as_str(), &params);
        self.state = State::Issuing(id);
        self.used = None;
        self.copied_at = None;
        frame
    }

    /// Closes the dialog and forgets the code.
    pub fn close(&mut self) {
        *self = PairDialog {
            next: self.next,
            ..PairDialog::default()
        };
    }

    /// The code was copied to the clipboard at `now`.
    pub fn copied(&mut self, now: f64) {
        self.copied_at = Some(now.max(0.0) as u64);
    }

    /// Looks at a frame from the gateway; `true` when it changed the dialog.
    pub fn observe(&mut self, text: &str) -> bool {
        let Some(frame) = Incoming::parse(text) else {
            return false;
        };
        match (&self.state, &frame) {
            (State::Issuing(want), Incoming::Response { id, ok, error, .. }) if id == want => {
                self.state = match (ok, frame.payload_as::<EnrollIssued>(), error) {
                    (true, Some(issued), _) => State::Shown(Box::new(issued)),
                    (_, _, Some(e)) => State::Failed(crate::words::explain(e)),
                    _ => State::Failed("The gateway's answer could not be read.".to_owned()),
                };
                true
            }
            (State::Shown(issued), Incoming::Event { event, .. })
                if Event::parse(event) == Some(Event::DevicePairSetupCompleted) =>
            {
                match frame.payload_as::<SetupCompleted>() {
                    Some(done) if done.setup_id == issued.setup_id => {
                        self.used = Some(done);
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// What to show at `now` (ms since the epoch), as a plain object.
    pub fn view(&self, now: f64) -> Result<JsValue, JsValue> {
        let text = serde_json::to_string(&self.view_at(now.max(0.0) as u64))
            .map_err(crate::bindings::js_error)?;
        js_sys::JSON::parse(&text)
    }
}

impl PairDialog {
    /// [`PairDialog::view`] as a Rust value.
    pub fn view_at(&self, now: u64) -> DialogView {
        let copied = match self.copied_at {
            Some(at) if now.saturating_sub(at) < 3_000 => "Copied.".to_owned(),
            _ => String::new(),
        };
        match &self.state {
            State::Closed => DialogView::default(),
            State::Issuing(_) => DialogView {
                open: true,
                state: "issuing",
                ..DialogView::default()
            },
            State::Failed(why) => DialogView {
                open: true,
                state: "failed",
                error: why.clone(),
                ..DialogView::default()
            },
            State::Shown(i) => {
                let left = countdown_to(i.expires_at_ms, now);
                let state = match (&self.used, &left) {
                    (Some(_), _) => "used",
                    (None, None) => "expired",
                    (None, Some(_)) => "shown",
                };
                let used_by = self.used.as_ref().map_or_else(String::new, |u| {
                    let name = u.device_name.as_deref().unwrap_or(&u.device_id);
                    format!("Used by {name} {}", ago(u.ts, now))
                });
                let qr_svg = i.qr_svg.clone().unwrap_or_default();
                DialogView {
                    open: true,
                    state,
                    code: i.setup_code.clone(),
                    link: i.link.clone(),
                    qr_svg,
                    expires: left
                        .map_or_else(|| "expired".to_owned(), |l| format!("expires in {l}")),
                    used_by,
                    gateway_url: i.gateway_url.clone(),
                    command: format!("openclaw node run --pair '{}'", i.link),
                    error: String::new(),
                    copied,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
