//! Round robin (`ip_vs_rr.c`): a cursor into the destination list; each connection takes the
//! next available server after the cursor, wrapping past the list head once.

use std::net::SocketAddrV4;

use super::super::dest::Dest;

/// The cursor (`svc->sched_data`): the last chosen server, `None` = the list head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rr {
    cursor: Option<SocketAddrV4>,
}

impl Rr {
    /// `ip_vs_rr_schedule`.
    pub fn schedule(&mut self, dests: &[Dest]) -> Option<usize> {
        let pos = self.cursor.and_then(|c| dests.iter().position(|d| d.server.addr == c));
        // From after the cursor to the end; then, unless the cursor was the head, from the
        // start up to and including the cursor.
        let order: Vec<usize> = match pos {
            None => (0..dests.len()).collect(),
            Some(p) => (p + 1..dests.len()).chain(0..=p).collect(),
        };
        let hit = order.into_iter().find(|&i| dests[i].available())?;
        self.cursor = Some(dests[hit].server.addr);
        Some(hit)
    }

    /// `ip_vs_rr_del_dest`: a cursor on the removed server moves to the one before it.
    pub fn del_dest(&mut self, dests: &[Dest], index: usize) {
        if self.cursor == Some(dests[index].server.addr) {
            self.cursor = index.checked_sub(1).map(|i| dests[i].server.addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn rotates_in_list_order_and_skips_quiescent() {
        let mut d = dests(&[1, 1, 1]);
        let mut rr = Rr::default();
        let picks: Vec<usize> = (0..6).filter_map(|_| rr.schedule(&d)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
        d[1].server.weight = 0;
        let picks: Vec<usize> = (0..4).filter_map(|_| rr.schedule(&d)).collect();
        assert_eq!(picks, [0, 2, 0, 2]);
        for x in &mut d {
            x.server.weight = 0;
        }
        assert_eq!(rr.schedule(&d), None);
    }

    #[test]
    fn deleting_the_cursor_moves_it_back() {
        let d = dests(&[1, 1, 1]);
        let mut rr = Rr::default();
        assert_eq!(rr.schedule(&d), Some(0));
        assert_eq!(rr.schedule(&d), Some(1));
        rr.del_dest(&d, 1);
        let after: Vec<Dest> = vec![d[0].clone(), d[2].clone()];
        // The cursor is now 10.0.0.1 (index 0): the next is 10.0.0.3.
        assert_eq!(rr.schedule(&after), Some(1));
    }
}
