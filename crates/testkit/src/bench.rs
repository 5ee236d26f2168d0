//! What the benches' command lines and reports share.

use std::time::Duration;

/// The value after `name` on the command line (`--clients 8`).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The number after `name` on the command line, or `default`.
pub fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match arg(name) {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}: not a number: {v}")),
        None => default,
    }
}

/// The `p` quantile (0..=1) of sorted samples (nearest rank).
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_of_five_is_the_third() {
        assert_eq!(super::percentile(&[1, 2, 3, 4, 5], 0.5), 3);
        assert_eq!(super::percentile(&[1, 2, 3, 4, 5], 1.0), 5);
    }
}
