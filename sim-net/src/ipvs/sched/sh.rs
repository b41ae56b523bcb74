//! Source hashing (`ip_vs_sh.c`): a 256-bucket table (`CONFIG_IP_VS_SH_TAB_BITS` = 8) filled
//! by walking the destination list, each server taking `weight` consecutive buckets (a
//! weight-0 server still takes one); the client address picks a bucket with
//! `hash_32(addr, 8)`. A bucket whose server is unavailable gives no server (no fallback).

use super::super::dest::Dest;
use super::SchedInput;

/// Buckets (`IP_VS_SH_TAB_SIZE`).
pub const TAB_SIZE: usize = 256;

/// `GOLDEN_RATIO_32` of `include/linux/hash.h`.
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)`: the top `bits` bits of `val * GOLDEN_RATIO_32`.
pub fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The bucket table: indices into the destination list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sh {
    buckets: Vec<Option<usize>>,
}

impl Sh {
    /// `ip_vs_sh_reassign`.
    pub fn new(dests: &[Dest]) -> Sh {
        let mut buckets = vec![None; TAB_SIZE];
        if !dests.is_empty() {
            let (mut p, mut count) = (0usize, 0u32);
            for b in &mut buckets {
                *b = Some(p);
                count += 1;
                if count >= dests[p].server.weight {
                    p = (p + 1) % dests.len();
                    count = 0;
                }
            }
        }
        Sh { buckets }
    }

    /// `ip_vs_sh_hashkey` without the port (`sh-port` is not modelled).
    pub fn bucket(addr: std::net::Ipv4Addr) -> usize {
        hash_32(u32::from(addr), 8) as usize % TAB_SIZE
    }

    /// `ip_vs_sh_schedule`.
    pub fn schedule(&self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        let i = self.buckets.get(Sh::bucket(input.saddr)).copied().flatten()?;
        dests.get(i).filter(|d| d.available()).map(|_| i)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::SimTime;

    use super::super::testutil::dests;
    use super::*;

    fn input(a: Ipv4Addr) -> SchedInput {
        SchedInput { saddr: a, daddr: Ipv4Addr::new(10, 96, 0, 1), now: SimTime::ZERO }
    }

    #[test]
    fn table_follows_weights_and_hash_is_the_kernels() {
        let d = dests(&[2, 1]);
        let sh = Sh::new(&d);
        assert_eq!(&sh.buckets[..6], &[Some(0), Some(0), Some(1), Some(0), Some(0), Some(1)]);
        // 10.244.1.5 = 0x0af40105; * 0x61c88647 mod 2^32 = 0x731ce663 → bucket 0x73 = 115.
        assert_eq!(Sh::bucket(Ipv4Addr::new(10, 244, 1, 5)), 0x73);
        // 115 = 3 * 38 + 1: the second bucket of a (0, 0, 1) group.
        assert_eq!(sh.schedule(&d, &input(Ipv4Addr::new(10, 244, 1, 5))), Some(0));
    }

    #[test]
    fn same_source_same_server_and_quiescent_gives_none() {
        let mut d = dests(&[1, 1, 1]);
        let sh = Sh::new(&d);
        let c = Ipv4Addr::new(192, 168, 1, 77);
        let first = sh.schedule(&d, &input(c));
        for _ in 0..5 {
            assert_eq!(sh.schedule(&d, &input(c)), first);
        }
        let i = first.unwrap_or(0);
        d[i].server.weight = 0;
        let sh = Sh::new(&d);
        // The quiesced server keeps one bucket per round, and a client hashed there gets none.
        let hits: Vec<Option<usize>> =
            (0..=255u8).map(|x| sh.schedule(&d, &input(Ipv4Addr::new(192, 168, 1, x)))).collect();
        assert!(hits.iter().all(|h| *h != Some(i)));
        assert!(hits.contains(&None));
    }
}
