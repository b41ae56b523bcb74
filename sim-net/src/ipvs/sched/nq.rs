//! Never queue (`ip_vs_nq.c`): an idle server (no active connections) at once, in list
//! order; otherwise shortest expected delay.

use super::super::dest::Dest;

/// `ip_vs_nq_schedule`.
pub fn schedule(dests: &[Dest]) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if !d.available() {
            continue;
        }
        let doh = u64::from(d.active_conns) + 1;
        if d.active_conns == 0 {
            return Some(i);
        }
        let better = match least {
            None => true,
            Some((l, loh)) => {
                u128::from(loh) * u128::from(d.server.weight)
                    > u128::from(doh) * u128::from(dests[l].server.weight)
            }
        };
        if better {
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
    fn idle_first_then_sed() {
        let mut d = dests(&[1, 4, 1]);
        d[0].active_conns = 1;
        // 10.0.0.2 is idle.
        assert_eq!(schedule(&d), Some(1));
        d[1].active_conns = 8; // 9/4 = 2.25 vs 2/1 for [0]
        d[2].active_conns = 3; // 4/1
        assert_eq!(schedule(&d), Some(0));
    }
}
