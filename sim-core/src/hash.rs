//! A fixed, fast hasher for in-memory lookup tables.
//!
//! std's `HashMap` seeds SipHash from the OS (banned here: iteration order would change from
//! run to run). [`FxBuildHasher`] is the multiply-rotate hash rustc uses for its own tables
//! (`rustc-hash`'s FxHasher) with MurmurHash3's finaliser: unseeded, so two runs hash alike,
//! and a few instructions per word. Use it with `indexmap::IndexMap`, whose iteration order is insertion order whatever
//! the hash; nothing may depend on a table's bucket order.

use std::hash::{BuildHasherDefault, Hasher};

/// The multiply-rotate word hash (`rustc-hash` 1.x FxHasher).
#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The zero-padded little-endian tail word, assembled byte by byte: a copy of a
            // variable length would be a call to `memcpy` for at most seven bytes.
            let w = rest.iter().enumerate().fold(0u64, |w, (i, b)| w | (u64::from(*b) << (8 * i)));
            self.add(w);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// The word hash mixes only upwards (a product's low bits depend on its operands' low bits),
    /// so keys that differ in the upper bytes of a word — pod names that differ in their
    /// suffix — would share their low bits, which pick a table's bucket. MurmurHash3's fmix64
    /// finaliser spreads every bit over the whole word.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Builds [`FxHasher`]s: `IndexMap<K, V, FxBuildHasher>`.
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(t: T) -> u64 {
        FxBuildHasher::default().hash_one(t)
    }

    #[test]
    fn unseeded_and_sensitive_to_content() {
        assert_eq!(h("kube-system/coredns"), h("kube-system/coredns"));
        assert_ne!(h("kube-system/coredns"), h("kube-system/corednt"));
        // A str and a String of the same text hash alike (borrowed lookups rely on it).
        assert_eq!(h("abc"), h(String::from("abc")));
        assert_ne!(h(("a", "bc")), h(("ab", "c")));
    }

    #[test]
    fn names_that_differ_in_their_suffix_spread_over_the_low_bits() {
        // 4,096 names that differ only in the top three bytes of their last word must land in
        // many of a 4,096-bucket table's slots (the unfinalised word hash put them in at most 32).
        let mut used = std::collections::BTreeSet::new();
        for i in 0..4096u32 {
            used.insert(h(format!("web-6f7c9d8b5{i:03x}")) & 4095);
        }
        assert!(used.len() > 2000, "{} buckets used", used.len());
    }

    #[test]
    fn the_tail_word_is_the_zero_padded_little_endian_bytes() {
        // The word-at-a-time definition, with the tail copied into a zeroed word.
        fn reference(bytes: &[u8]) -> u64 {
            let mut r = FxHasher::default();
            for c in bytes.chunks(8) {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                r.add(u64::from_le_bytes(w));
            }
            r.finish()
        }
        let text = b"kube-system/coredns-799cc6bdc6-4rzmp";
        for n in 0..text.len() {
            let mut f = FxHasher::default();
            f.write(&text[..n]);
            assert_eq!(f.finish(), reference(&text[..n]), "{n} bytes");
        }
    }
}
