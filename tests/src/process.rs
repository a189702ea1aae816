//! Real processes for end-to-end tests: the built `openclaw` binary as gateway, operator and node.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

/// The `openclaw` binary of this build (`target/<profile>/openclaw`), built on first use if missing.
pub fn openclaw() -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/tests-<hash> → target/<profile>/openclaw
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("openclaw");
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "openclaw-cli", "--bin", "openclaw"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building openclaw failed");
    });
    bin
}

/// A running `openclaw gateway` child with its own state directory and log file.
pub struct GatewayProcess {
    /// The child.
    pub child: Child,
    /// `ws://127.0.0.1:PORT/` (`wss://` with TLS): the first WebSocket URL it printed.
    pub url: String,
    /// The state directory.
    pub state: PathBuf,
    /// Where its stderr (the logs) goes.
    pub log: PathBuf,
    /// Its stdout lines so far (read by a thread until it closes).
    printed: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl GatewayProcess {
    /// Starts `openclaw gateway --port 0 ARGS…` on `state` and waits until it prints its URL.
    pub fn start(state: &Path, args: &[&str]) -> anyhow::Result<GatewayProcess> {
        Self::start_with_env(state, args, &[])
    }

    /// Like [`GatewayProcess::start`], with extra environment variables.
    pub fn start_with_env(
        state: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<GatewayProcess> {
        let log = state.with_extension("log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut child = Command::new(openclaw())
            .args(["gateway", "--port", "0"])
            .args(args)
            .env("OPENCLAW_STATE_DIR", state)
            .env("RUST_LOG", "trace")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .context("cannot start openclaw gateway")?;
        let stdout = child.stdout.take().context("stdout")?;
        let printed = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let lines = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.0.lock().expect("lock").push(line);
                lines.1.notify_all();
            }
        });
        let mut gw = GatewayProcess {
            child,
            url: String::new(),
            state: state.to_path_buf(),
            log,
            printed,
        };
        let url = gw.printed_line(|line| {
            let i = line.find("wss://").or_else(|| line.find("ws://"))?;
            Some(line[i..].split_whitespace().next().unwrap_or("").to_owned())
        });
        match url {
            Some(url) => {
                gw.url = url;
                Ok(gw)
            }
            None => {
                let _ = gw.child.kill();
                let status = gw.child.wait()?;
                bail!(
                    "gateway did not print a URL (exit {status}); log: {}",
                    std::fs::read_to_string(&gw.log).unwrap_or_default()
                )
            }
        }
    }

    /// The first line it printed (or prints within 20 s) that `pick` takes, as `pick` returns it.
    pub fn printed_line<T>(&self, pick: impl Fn(&str) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let (lines, more) = &*self.printed;
        let mut lines = lines.lock().expect("lock");
        loop {
            if let Some(found) = lines.iter().find_map(|l| pick(l)) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            lines = more.wait_timeout(lines, left).expect("lock").0;
        }
    }

    /// The rest of the first printed line that starts with `prefix` (trimmed), waiting up to 20 s.
    pub fn printed_after(&self, prefix: &str) -> anyhow::Result<String> {
        self.printed_line(|l| l.strip_prefix(prefix).map(|r| r.trim().to_owned()))
            .with_context(|| format!("the gateway printed no line starting {prefix:?}"))
    }

    /// The operator token from the gateway's `openclaw.json`.
    pub fn token(&self) -> String {
        pairing_host::gateway_config::read(&self.state)
            .ok()
            .flatten()
            .and_then(|g| g.token)
            .expect("openclaw.json has a token")
    }

    /// Resident memory of the gateway process, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        signal(self.child.id(), libc_sigterm())?;
        wait_timeout(&mut self.child, Duration::from_secs(10))
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for GatewayProcess {
    /// A test that fails before stopping its gateway must not leave it running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn libc_sigterm() -> &'static str {
    "TERM"
}

fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -{sig} {pid} failed");
    Ok(())
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Waits for a child with a bound.
pub fn wait_timeout(
    child: &mut Child,
    limit: Duration,
) -> anyhow::Result<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            bail!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `openclaw ARGS…` with `state` as its state directory, bounded in time.
pub fn run_cli(state: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let mut child = Command::new(openclaw())
        .args(args)
        .env("OPENCLAW_STATE_DIR", state)
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut stderr = child.stderr.take().context("stderr")?;
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let status = wait_timeout(&mut child, Duration::from_secs(30))?;
    Ok(Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    })
}

/// A background `openclaw node pair` whose stdout is collected line by line.
pub struct NodePair {
    /// The child.
    pub child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stdout line so far.
    pub seen: Vec<String>,
}

impl NodePair {
    /// Starts `openclaw node pair --url URL ARGS…` with `state` as the node's state directory.
    pub fn start(state: &Path, url: &str, args: &[&str]) -> anyhow::Result<NodePair> {
        let mut child = Command::new(openclaw())
            .args(["node", "pair", "--url", url])
            .args(args)
            .env("OPENCLAW_STATE_DIR", state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (tx, lines) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().context("stdout")?) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().context("stderr")?),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Ok(NodePair {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// Waits for an output line for which `pick` returns something.
    pub fn wait_for<T>(&mut self, mut pick: impl FnMut(&str) -> Option<T>) -> anyhow::Result<T> {
        for line in &self.seen {
            if let Some(t) = pick(line) {
                return Ok(t);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(t) = pick(&line) {
                        return Ok(t);
                    }
                }
                Err(_) => break,
            }
        }
        bail!("expected output not seen; got: {:#?}", self.seen)
    }

    /// Waits for the verification code (`1234-5678`) the node prints.
    pub fn code(&mut self) -> anyhow::Result<String> {
        self.wait_for(find_code)
    }

    /// Waits for the exit code.
    pub fn exit_code(&mut self) -> anyhow::Result<i32> {
        let s = wait_timeout(&mut self.child, Duration::from_secs(30))?;
        Ok(s.code().unwrap_or(-1))
    }
}

/// Finds a `dddd-dddd` verification code in a line.
pub fn find_code(line: &str) -> Option<String> {
    let b = line.as_bytes();
    (0..b.len().saturating_sub(8)).find_map(|i| {
        let w = &b[i..i + 9];
        let ok = w[4] == b'-'
            && w[..4].iter().chain(&w[5..]).all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 9).is_none_or(|c| !c.is_ascii_digit());
        ok.then(|| line[i..i + 9].to_owned())
    })
}

/// Every file directly in `dir` with its bytes, sorted by name: compare two of them to check that a
/// directory was left untouched.
pub fn dir_contents(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)?
        .map(|e| {
            let e = e?;
            Ok((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path())?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_codes() {
        assert_eq!(
            super::find_code("Code: 1234-5678 ok").as_deref(),
            Some("1234-5678")
        );
        assert_eq!(super::find_code("1234-5678").as_deref(), Some("1234-5678"));
        assert_eq!(super::find_code("2026-11-24T10"), None);
        assert_eq!(super::find_code("no code"), None);
    }
}
