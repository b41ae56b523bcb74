//! Weighted round robin (`ip_vs_wrr.c`): a current weight `cw` stepping down from the
//! maximum weight by the weights' gcd; each pass over the list picks the servers whose weight
//! is at least `cw`. Any change of the destinations resets the position to the list head and
//! adjusts `cw` as `ip_vs_wrr_dest_changed` does.

use super::super::dest::Dest;

/// The mark (`struct ip_vs_wrr_mark`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrr {
    /// Last chosen position, `None` = the list head.
    cl: Option<usize>,
    /// Current weight.
    cw: i64,
    /// Maximum weight minus (gcd - 1).
    mw: i64,
    /// The gcd of the positive weights (1 if none).
    di: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn gcd_weight(dests: &[Dest]) -> i64 {
    let g = dests.iter().map(|d| i64::from(d.server.weight)).filter(|w| *w > 0).fold(0, gcd);
    if g == 0 { 1 } else { g }
}

fn max_weight(dests: &[Dest]) -> i64 {
    dests.iter().map(|d| i64::from(d.server.weight)).max().unwrap_or(0)
}

impl Wrr {
    /// `ip_vs_wrr_init_svc`.
    pub fn new(dests: &[Dest]) -> Wrr {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        Wrr { cl: None, cw: mw, mw, di }
    }

    /// `ip_vs_wrr_dest_changed`.
    pub fn dest_changed(&mut self, dests: &[Dest]) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// `ip_vs_wrr_schedule`.
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        if self.mw <= 0 {
            return None;
        }
        let last = self.cl.filter(|&i| i < dests.len());
        let mut pos = last;
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        loop {
            let start = pos.map_or(0, |p| p + 1);
            for (i, d) in dests.iter().enumerate().skip(start) {
                if i64::from(d.server.weight) >= self.cw {
                    self.cl = Some(i);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(i);
                    return None;
                }
            }
            pos = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn weights_4_3_2_in_list_order() {
        // List order A(4), B(3), C(2), state as right after init with all three present:
        // cw = mw = 4. One cycle is A; A B; A B C; A B C (cw = 4, 3, 2, 1).
        let d = dests(&[4, 3, 2]);
        let mut w = Wrr::new(&d);
        let picks: Vec<usize> = (0..18).filter_map(|_| w.schedule(&d)).collect();
        assert_eq!(picks, [0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn gcd_steps_and_all_zero_means_none() {
        let d = dests(&[4, 2]);
        let mut w = Wrr::new(&d);
        // di = 2, mw = 4 - 1 = 3: cw 3 picks A; cw 1 picks A, B.
        let picks: Vec<usize> = (0..6).filter_map(|_| w.schedule(&d)).collect();
        assert_eq!(picks, [0, 0, 1, 0, 0, 1]);
        let z = dests(&[0, 0]);
        assert_eq!(Wrr::new(&z).schedule(&z), None);
    }
}
