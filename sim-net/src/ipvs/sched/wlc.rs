//! Weighted least connection (`ip_vs_wlc.c`): the server with the smallest
//! `(activeconns * 256 + inactconns) / weight`, compared by cross-multiplication.

use super::super::dest::Dest;
use super::weighted_least;

/// `ip_vs_wlc_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    weighted_least(dests, Dest::conn_overhead)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn overhead_per_weight() {
        let mut d = dests(&[1, 3, 2]);
        // No connections: all overheads 0, the first available wins.
        assert_eq!(schedule(&d), Some(0));
        d[0].active_conns = 1; // 256 / 1
        d[1].active_conns = 2; // 512 / 3 = 170.7
        d[2].active_conns = 1; // 256 / 2 = 128
        assert_eq!(schedule(&d), Some(2));
        d[2].inact_conns = 100; // 356 / 2 = 178 > 170.7
        assert_eq!(schedule(&d), Some(1));
        d[1].server.weight = 0;
        assert_eq!(schedule(&d), Some(2));
    }
}
