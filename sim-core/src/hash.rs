//! A fixed, fast hasher for in-memory lookup tables.
//!
//! std's `HashMap` seeds SipHash from the OS (banned here: iteration order would change from
//! run to run). [`FxBuildHasher`] is the multiply-rotate hash rustc uses for its own tables
//! (`rustc-hash`'s FxHasher): unseeded, so two runs hash alike, and a few instructions per
//! word. Use it with `indexmap::IndexMap`, whose iteration order is insertion order whatever
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
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
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

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
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
}
