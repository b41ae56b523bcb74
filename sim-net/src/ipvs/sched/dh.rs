//! Destination hashing (`ip_vs_dh.c`): a 256-bucket table filled round robin over the
//! destination list (weights ignored); the destination address picks a bucket with
//! `(addr * 2654435761) & 255`.

use std::net::Ipv4Addr;

use super::super::dest::Dest;
use super::SchedInput;

/// Buckets (`IP_VS_DH_TAB_SIZE`).
pub const TAB_SIZE: usize = 256;

/// The bucket table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dh {
    buckets: Vec<Option<usize>>,
}

impl Dh {
    /// `ip_vs_dh_reassign`.
    pub fn new(dests: &[Dest]) -> Dh {
        let n = dests.len();
        let buckets = (0..TAB_SIZE).map(|i| (n > 0).then(|| i % n)).collect();
        Dh { buckets }
    }

    /// `ip_vs_dh_hashkey`.
    pub fn bucket(addr: Ipv4Addr) -> usize {
        (u64::from(u32::from(addr)).wrapping_mul(2_654_435_761) & 0xff) as usize
    }

    /// `ip_vs_dh_schedule`.
    pub fn schedule(&self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        let i = self.buckets.get(Dh::bucket(input.daddr)).copied().flatten()?;
        dests.get(i).filter(|d| d.available()).map(|_| i)
    }
}

#[cfg(test)]
mod tests {
    use sim_core::SimTime;

    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn by_destination() {
        let d = dests(&[1, 1, 1]);
        let dh = Dh::new(&d);
        // 10.96.0.1 = 0x0a600001; low byte of 0x0a600001 * 2654435761 is 0xb1 = 177; 177 % 3 = 0.
        assert_eq!(Dh::bucket(Ipv4Addr::new(10, 96, 0, 1)), 0xb1);
        let input = SchedInput {
            saddr: Ipv4Addr::new(1, 2, 3, 4),
            daddr: Ipv4Addr::new(10, 96, 0, 1),
            now: SimTime::ZERO,
        };
        assert_eq!(dh.schedule(&d, &input), Some(0));
    }
}
