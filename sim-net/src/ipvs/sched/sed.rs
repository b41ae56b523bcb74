//! Shortest expected delay (`ip_vs_sed.c`): the server with the smallest
//! `(activeconns + 1) / weight`; inactive connections do not count.

use super::super::dest::Dest;
use super::weighted_least;

/// `ip_vs_sed_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    weighted_least(dests, |d| u64::from(d.active_conns) + 1)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn expected_delay() {
        let mut d = dests(&[1, 2]);
        // (0+1)/1 = 1 vs (0+1)/2 = 0.5: the heavier one even when both are idle.
        assert_eq!(schedule(&d), Some(1));
        d[1].active_conns = 2; // 3/2 = 1.5 > 1
        assert_eq!(schedule(&d), Some(0));
    }
}
