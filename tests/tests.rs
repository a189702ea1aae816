//! The cross-crate suites of openclaw-pairing, compiled as one integration binary.

// Insta transcript snapshots of every scenario under tests/fixtures.
mod transcripts;
// The typed protocol records read every gateway frame of the transcripts and write it back equal.
mod protocol_records;
// Same seed and inputs give identical transcripts.
mod determinism;
// The gateway in-process over loopback: flows, restart, files, limits.
mod gateway;
// Real processes: the built openclaw binary as gateway, operator and node.
mod e2e;
// The openclaw binary without a gateway: every --help, one-line refusals.
mod cli_smoke;
// Snapshots of the CLI's human and --json output against a real gateway.
mod cli_output;
// `openclaw nodes audit [--verify]` on a real gateway's trail and on hand-made broken ones.
mod cli_audit;
// `openclaw devices …` and `gateway --auto-approve-local` against OpenClaw-style node hosts.
mod cli_devices;
// Operator ergonomics: completions, approve with no argument, watch output.
mod cli_ergonomics;
// `nodes watch --auto-approve-silent --ssh HOST` with a stand-in ssh: only the request's own key passes.
mod cli_ssh_approval;
// Issue #14's CLI items: durations need a unit, re-pairs keep names, failures on stderr, no token logged.
mod cli_hardening;
// Issue #16's CLI points: exit 64, short ids and name prefixes, 80 columns, dashboard, doctor on the gateway host.
mod cli_nits;
// Approving by code or name a request that changed (system.run added) after it was listed.
mod cli_approve;
// An OpenClaw 2026.4 device store imported at first start: its node keeps connecting.
mod import;
// Setup codes and enrollment keys (issue #16): qr, keys, node pair --setup-code, the QR decoded.
mod setup_code;
// Issue #16: `nodes prune --unseen` previews stale nodes and removes them with --yes, audited.
mod cli_prune;
// Issue #16: `openclaw import --from DIR` of OpenClaw 2026.7+ SQLite state, malformed rows named.
mod cli_import;
// The same with a state the real openclaw@2026.9.6 gateway wrote when its node host paired with it.
mod cli_import_real;
// Seeded workloads with faults and crashes, invariants after every step.
mod simulation;
// Crash safety of the real binary: SIGKILL during bursts of approvals, restart, nothing lost.
mod crash;
// Floods over loopback: held connections, half-open sockets, bad frames, pairing floods.
mod flood;
// Issue #14: one device alternating key encodings and commands cannot flood requests.
mod request_flood;
// Hostile sockets (issue #14): floods of idle and partial sockets, lingering closes, Host checks,
// per-address caps, pipelining and slow consumers.
mod hostile;
// TLS end to end: wss:// pairing with a self-signed certificate, https page, wrong CA, refusals.
mod tls;
// `--bind lan` with no certificate: generated, pinned by fingerprint, reused, renewed and audited.
mod tls_selfsigned;
// `--notify-webhook`: signed, retried after failures, never a token; the status doctor reads.
mod webhook;
// `nodes watch --exec CMD`: once per event, stdin and env, failures reported, the watch goes on.
mod watch_exec;
// One gateway per state directory; no links followed, no loose modes kept in it.
mod state_dir;
// Storage under pressure: the audit trail bounded under a flood, a full disk backed off and recovered.
mod store_limits;
// The operator token: the CLI checks the gateway's proof before sending it; rotate-token; weak tokens.
mod operator_token;
