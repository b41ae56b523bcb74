//! Maglev hashing (`ip_vs_mh.c`): each server gets a preference order over a 4093-slot
//! lookup table (`CONFIG_IP_VS_MH_TAB_INDEX` = 12, the default, picks the prime 4093), from an
//! offset and a skip hashed from its address and port; the table is filled by taking turns in
//! list order, each server `(last_weight / gcd) >> rshift` slots per turn. The client address
//! hashed the same way picks the slot. An unavailable server in the slot gives no server (no
//! fallback).
//!
//! The hash is the kernel's `hsiphash` with the fixed keys of `generate_hash_secret`, as on a
//! 64-bit little-endian kernel (where hsiphash is SipHash-1-3 truncated to 32 bits).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::super::dest::Dest;
use super::SchedInput;

/// The lookup table size (`primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]`).
pub const TAB_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS` (`CONFIG_IP_VS_MH_TAB_INDEX / 2`).
pub const TAB_BITS: u32 = 6;

const HASH1: [u64; 2] = [2_654_435_761, 2_654_435_761];
const HASH2: [u64; 2] = [2_654_446_892, 2_654_446_892];

/// `hsiphash(&v, 4, key)` on a 64-bit kernel: SipHash-1-3 of the 4 little-endian bytes of `v`,
/// truncated to 32 bits (`__hsiphash_aligned` with `HSIPROUND` = `SIPROUND`).
pub fn hsiphash_u32(v: u32, key: [u64; 2]) -> u32 {
    siphash_u32(v, key, 1, 3) as u32
}

/// SipHash-c-d of the 4 little-endian bytes of `v` (one final block: length 4 in the top byte).
fn siphash_u32(v: u32, key: [u64; 2], c: usize, d: usize) -> u64 {
    let mut s = [
        0x736f_6d65_7073_6575u64 ^ key[0],
        0x646f_7261_6e64_6f6du64 ^ key[1],
        0x6c79_6765_6e65_7261u64 ^ key[0],
        0x7465_6462_7974_6573u64 ^ key[1],
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13);
        v[1] ^= v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16);
        v[3] ^= v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21);
        v[3] ^= v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17);
        v[1] ^= v[2];
        v[2] = v[2].rotate_left(32);
    }
    let b = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    for _ in 0..c {
        round(&mut s);
    }
    s[0] ^= b;
    s[2] ^= 0xff;
    for _ in 0..d {
        round(&mut s);
    }
    (s[0] ^ s[1]) ^ (s[2] ^ s[3])
}

/// `ip_vs_mh_hashkey` for IPv4.
fn hashkey(addr: Ipv4Addr, port: u16, key: [u64; 2], offset: u32) -> u32 {
    hsiphash_u32(offset.wrapping_add(u32::from(port)).wrapping_add(u32::from(addr)), key)
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The lookup table: indices into the destination list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mh {
    lookup: Vec<Option<usize>>,
}

impl Mh {
    /// `ip_vs_mh_reassign` (via `ip_vs_mh_permutate` and `ip_vs_mh_populate`).
    pub fn new(dests: &[Dest]) -> Mh {
        let mut lookup = vec![None; TAB_SIZE];
        let g = dests.iter().map(|d| d.last_weight).filter(|w| *w > 0).fold(0, gcd);
        if g == 0 {
            return Mh { lookup };
        }
        let mw = dests.iter().map(|d| d.last_weight).max().unwrap_or(0) / g;
        let fls = 32 - mw.leading_zeros();
        let rshift = fls.saturating_sub(TAB_BITS);
        struct Setup {
            skip: usize,
            perm: usize,
            turns: u32,
        }
        let mut setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let a: SocketAddrV4 = d.server.addr;
                let offset = hashkey(*a.ip(), a.port(), HASH1, 0) as usize % TAB_SIZE;
                let skip = hashkey(*a.ip(), a.port(), HASH2, 0) as usize % (TAB_SIZE - 1) + 1;
                let lw = d.last_weight;
                let t = (lw / g) >> rshift;
                Setup { skip, perm: offset, turns: if t > 0 { t } else { u32::from(lw != 0) } }
            })
            .collect();
        let mut taken = vec![false; TAB_SIZE];
        let (mut n, mut dt_count) = (0usize, 0u32);
        while n < TAB_SIZE {
            let mut i = 0;
            while i < setup.len() {
                let ds = &mut setup[i];
                if ds.turns < 1 {
                    i += 1;
                    continue;
                }
                while taken[ds.perm] {
                    ds.perm += ds.skip;
                    if ds.perm >= TAB_SIZE {
                        ds.perm -= TAB_SIZE;
                    }
                }
                taken[ds.perm] = true;
                lookup[ds.perm] = Some(i);
                n += 1;
                if n == TAB_SIZE {
                    return Mh { lookup };
                }
                dt_count += 1;
                if dt_count >= ds.turns {
                    dt_count = 0;
                    i += 1;
                }
            }
        }
        Mh { lookup }
    }

    /// `ip_vs_mh_schedule` (no port, no fallback).
    pub fn schedule(&self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        let slot = hashkey(input.saddr, 0, HASH1, 0) as usize % TAB_SIZE;
        let i = self.lookup.get(slot).copied().flatten()?;
        dests.get(i).filter(|d| d.available()).map(|_| i)
    }

    /// How many slots each destination holds (for tests and inspection).
    pub fn slots(&self, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for i in self.lookup.iter().flatten() {
            if let Some(x) = c.get_mut(*i) {
                *x += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use sim_core::SimTime;

    use super::super::testutil::dests;
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn the_sip_rounds_match_std_siphash_2_4() {
        // The same code with 2 and 4 rounds is SipHash-2-4, which std still ships: checking
        // it against std checks the rounds, the key schedule and the length block that
        // SipHash-1-3 shares.
        use std::hash::Hasher;
        for (v, key) in [(0u32, [0u64, 0]), (0x0a01_000b, HASH1), (0xdead_beef, HASH2), (7, [1, 2])] {
            let mut h = std::hash::SipHasher::new_with_keys(key[0], key[1]);
            h.write(&v.to_le_bytes());
            assert_eq!(siphash_u32(v, key, 2, 4), h.finish());
        }
        assert_ne!(hsiphash_u32(1, HASH1), hsiphash_u32(1, HASH2));
    }

    #[test]
    fn table_is_full_weighted_and_stable_when_quiescing() {
        let mut d = dests(&[1, 1, 2]);
        let mh = Mh::new(&d);
        let slots = mh.slots(3);
        assert_eq!(slots.iter().sum::<usize>(), TAB_SIZE);
        // Turns 1, 1, 2 per round: 4093 = 1023 rounds of 4 + 1.
        assert_eq!(slots, [1024, 1023, 2046]);
        // Quiescing keeps last_weight, so the table does not move; the slot just gives none.
        d[0].server.weight = 0;
        assert_eq!(Mh::new(&d), mh);
        let hit = (0..=255u8)
            .map(|x| SchedInput {
                saddr: Ipv4Addr::new(172, 16, 0, x),
                daddr: Ipv4Addr::UNSPECIFIED,
                now: SimTime::ZERO,
            })
            .map(|i| mh.schedule(&d, &i))
            .collect::<Vec<_>>();
        assert!(hit.iter().all(|h| *h != Some(0)));
    }
}
