//! What `/proc` says about the gateway, this process and the machine: RSS, CPU seconds, thread
//! run/wait times, listen-queue counters, the open-file limit.

use pairing_tests::process::rss_kib;
use std::collections::BTreeMap;

/// The process and its descendants (OpenClaw's CLI may run the gateway in a child).
fn tree(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(pp) = stat_fields(p).and_then(|f| f.get(1).and_then(|s| s.parse().ok())) {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == cur)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out
}

/// Fields of `/proc/<pid>/stat` after the command name: [state, ppid, …]; utime is index 11.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// RSS (KiB) and CPU seconds (utime + stime, at USER_HZ = 100) of a process tree.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    /// Resident set, KiB.
    pub rss_kib: u64,
    /// CPU seconds since the process started.
    pub cpu_s: f64,
}

/// [`Usage`] of `pid` and its descendants (`None` without a pid).
pub(crate) fn usage(pid: Option<u32>) -> Option<Usage> {
    let pid = pid?;
    let mut u = Usage::default();
    for p in tree(pid) {
        u.rss_kib += rss_kib(p).unwrap_or(0);
        if let Some(f) = stat_fields(p) {
            let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
            u.cpu_s += ticks as f64 / 100.0;
        }
    }
    Some(u)
}

/// The soft limit on open files of this process (the gateway it starts inherits it).
pub(crate) fn open_files_limit() -> Option<(u64, String)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut f = line["Max open files".len()..].split_whitespace();
    let soft = f.next()?;
    let hard = f.next()?.to_owned();
    Some((soft.parse().unwrap_or(u64::MAX), hard))
}

/// Counters of `/proc/net/netstat` (`TcpExt`) that say whether the listen queue overflowed.
pub(crate) fn listen_counters() -> Vec<(String, u64)> {
    const NAMES: [&str; 5] = [
        "ListenOverflows",
        "ListenDrops",
        "TCPReqQFullDoCookies",
        "TCPReqQFullDrop",
        "SyncookiesSent",
    ];
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return Vec::new();
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(n, _)| NAMES.contains(n))
        .map(|(n, v)| (n.to_owned(), v.parse().unwrap_or(0)))
        .collect()
}

/// Machine-wide CPU seconds from `/proc/stat`: (busy = user + nice + system + irq + softirq +
/// steal, iowait), at USER_HZ = 100.
pub(crate) fn machine_cpu_s() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let at = |i: usize| f.get(i).copied().unwrap_or(0) as f64 / 100.0;
    (at(0) + at(1) + at(2) + at(5) + at(6) + at(7), at(4))
}

/// Per thread name of process `pid`: (ns on a CPU, ns runnable but waiting for one), summed over
/// its threads of that name (`/proc/PID/task/*/schedstat`).
pub(crate) fn thread_times(pid: u32) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let path = t.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let sched = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        let mut f = sched
            .split_whitespace()
            .map(|x| x.parse::<u64>().unwrap_or(0));
        let (run, wait) = (f.next().unwrap_or(0), f.next().unwrap_or(0));
        let e: &mut (u64, u64) = out.entry(comm.trim().to_owned()).or_default();
        e.0 += run;
        e.1 += wait;
    }
    out
}

/// Peak resident set (`VmHWM`, KiB) of a process.
pub(crate) fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (utime + stime) of this process alone (the gateway is its child).
pub(crate) fn own_cpu_s() -> f64 {
    stat_fields(std::process::id()).map_or(0.0, |f| {
        let ticks: u64 = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
        ticks as f64 / 100.0
    })
}
