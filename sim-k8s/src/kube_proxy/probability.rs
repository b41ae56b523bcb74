//! The `-m statistic --mode random --probability p` values kube-proxy writes to spread
//! connections over endpoints. Rule i of n (0-based, all but the last) matches with
//! probability 1/(n−i), so each endpoint gets 1/n overall. kube-proxy formats the value with
//! Go's `%0.10f` (`computeProbability` in `pkg/proxy/iptables/proxier.go`); the kernel stores
//! it as a u32 fraction of 2^31 and `iptables-save` prints that back with `%.11f`
//! (`libxt_statistic.c`), so the saved text differs from the written text (1/3 is written
//! `0.3333333333`, saved `0.33333333349`). Both forms are provided here.

/// The probability text kube-proxy writes for the rule that must pick 1 of `n` remaining
/// endpoints (`n >= 1`; `n == 0` is treated as 1, which upstream never asks for).
pub fn compute_probability(n: usize) -> String {
    // Rust's `{:.10}` rounds the exact binary value half-to-even, like Go's `%0.10f`.
    format!("{:.10}", 1.0 / n.max(1) as f64)
}

/// The kernel's stored form of a written probability: `lround(p * 2^31)` (as iptables'
/// `statistic` extension parses it), saturated to the u32 range.
pub fn kernel_probability(written: f64) -> u32 {
    let scaled = (written * 2_147_483_648.0).round();
    if scaled <= 0.0 {
        0
    } else if scaled >= u32::MAX as f64 {
        u32::MAX
    } else {
        scaled as u32
    }
}

/// How `iptables-save` prints a probability kube-proxy wrote as `written` (`%.11f` of the
/// stored u32 over 2^31). Returns `None` if `written` is not a number.
pub fn saved_probability(written: &str) -> Option<String> {
    let p: f64 = written.parse().ok()?;
    Some(format!("{:.11}", f64::from(kernel_probability(p)) / 2_147_483_648.0))
}

/// Caches the written probability strings for 1/n, as upstream's `precomputedProbabilities`
/// does: formatting floats is a measurable part of a large sync.
#[derive(Debug, Default)]
pub struct ProbabilityCache {
    values: Vec<String>,
}

impl ProbabilityCache {
    /// The text for 1/`n`.
    pub fn get(&mut self, n: usize) -> &str {
        while self.values.len() <= n {
            let i = self.values.len();
            self.values.push(compute_probability(i));
        }
        &self.values[n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn written_values_match_upstream_fixtures() {
        // proxier_test.go fixtures write these exact strings.
        assert_eq!(compute_probability(2), "0.5000000000");
        assert_eq!(compute_probability(3), "0.3333333333");
        assert_eq!(compute_probability(4), "0.2500000000");
        assert_eq!(compute_probability(1), "1.0000000000");
    }

    #[test]
    fn saved_values_match_real_iptables_save() {
        // formats.md §1.1: real iptables-save output for 1/2 … 1/7.
        let want = [
            (2, "0.50000000000"),
            (3, "0.33333333349"),
            (4, "0.25000000000"),
            (5, "0.20000000019"),
            (6, "0.16666666651"),
            (7, "0.14285714272"),
        ];
        for (n, saved) in want {
            assert_eq!(saved_probability(&compute_probability(n)).as_deref(), Some(saved), "1/{n}");
        }
    }

    #[test]
    fn ties_round_half_to_even_like_go() {
        // 1/2048 = 0.00048828125 exactly; Go's %0.10f gives ...812.
        assert_eq!(compute_probability(2048), "0.0004882812");
    }

    #[test]
    fn cache_agrees_with_direct_computation() {
        let mut cache = ProbabilityCache::default();
        assert_eq!(cache.get(7), compute_probability(7));
        assert_eq!(cache.get(3), compute_probability(3));
    }

    proptest! {
        // For n endpoints, endpoint i is chosen with probability
        // (1/(n-i)) * prod_{j<i} (1 - 1/(n-j)); with the written (rounded) values that product
        // must be 1/n to well within the 10-digit rounding error.
        #[test]
        fn spread_is_uniform(n in 1usize..400) {
            let mut remaining = 1.0f64;
            for i in 0..n {
                let p = if i + 1 == n { 1.0 } else { compute_probability(n - i).parse::<f64>().unwrap() };
                let share = remaining * p;
                prop_assert!((share - 1.0 / n as f64).abs() < 1e-8, "endpoint {} of {}: {}", i, n, share);
                remaining *= 1.0 - p;
            }
            prop_assert!(remaining.abs() < 1e-12);
        }
    }
}
