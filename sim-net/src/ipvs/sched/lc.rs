//! Least connection (`ip_vs_lc.c`): the available server with the smallest
//! `activeconns * 256 + inactconns`; ties keep the earlier one in the list.

use super::super::dest::Dest;

/// `ip_vs_lc_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if !d.available() {
            continue;
        }
        let doh = d.conn_overhead();
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn fewest_connections_weight_ignored_but_zero_skipped() {
        let mut d = dests(&[1, 5, 1]);
        d[0].active_conns = 1; // 256
        d[1].inact_conns = 300; // 300
        d[2].active_conns = 1;
        d[2].inact_conns = 1; // 257
        assert_eq!(schedule(&d), Some(0));
        d[0].server.weight = 0;
        assert_eq!(schedule(&d), Some(2));
    }
}
