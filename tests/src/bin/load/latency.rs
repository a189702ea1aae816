//! Latency samples: per call name, microseconds, and their percentiles.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Latencies (µs) per call name.
pub(crate) type Lat = BTreeMap<&'static str, Vec<u32>>;

/// The `p`-quantile (0..=1) of sorted latencies, in ms.
pub(crate) fn pct(v: &[u32], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    f64::from(v[i]) / 1000.0
}

/// Microseconds since `t`, saturating.
pub(crate) fn micros(t: Instant) -> u32 {
    u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// Awaits `call` and records its latency under `method`.
pub(crate) async fn timed<R>(
    lat: &mut Lat,
    method: &'static str,
    call: impl std::future::Future<Output = R>,
) -> R {
    let t = Instant::now();
    let r = call.await;
    lat.entry(method).or_default().push(micros(t));
    r
}

/// Microseconds of `d`, saturating.
pub(crate) fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
