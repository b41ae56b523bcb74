//! Seeded random streams. Every random choice in netsim (endpoint pick, pod-name suffix, IP or
//! nodePort allocation, `-m statistic`) draws from a [`SimRng`].
//!
//! Streams are split by name: `root.fork("kube-proxy/node01")` derives a child seed from the
//! root seed and the label path alone (SHA-256), never from the parent's draw position, so
//! adding a component or drawing more in one never shifts another component's draws.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// A named, seeded ChaCha8 stream.
///
/// The cipher's state (about 300 bytes with its block buffer) is set up at the first draw, from
/// the key derived when the stream was named: a network namespace or a component that never
/// draws holds only its key. The draws are the same either way.
#[derive(Clone, Debug)]
pub struct SimRng {
    seed: u64,
    path: String,
    key: [u8; 32],
    inner: Option<Box<ChaCha8Rng>>,
}

impl SimRng {
    /// The root stream of a simulation.
    pub fn new(seed: u64) -> Self {
        Self::derive(seed, String::new())
    }

    /// A child stream named `label`, independent of this stream's position.
    pub fn fork(&self, label: &str) -> SimRng {
        let path = if self.path.is_empty() { label.to_string() } else { format!("{}/{label}", self.path) };
        Self::derive(self.seed, path)
    }

    fn derive(seed: u64, path: String) -> Self {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        h.update(path.as_bytes());
        let digest = h.finalize();
        let mut key = [0u8; 32];
        key.copy_from_slice(&digest);
        SimRng { seed, path, key, inner: None }
    }

    fn cipher(&mut self) -> &mut ChaCha8Rng {
        let key = self.key;
        self.inner.get_or_insert_with(|| Box::new(ChaCha8Rng::from_seed(key)))
    }

    /// The root seed this stream descends from (printed in every transcript).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The label path of this stream (`""` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A uniform `u32`.
    pub fn next_u32(&mut self) -> u32 {
        self.cipher().next_u32()
    }

    /// A uniform `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.cipher().next_u64()
    }

    /// A uniform integer in `lo..hi` (Lemire's unbiased method). Returns `lo` if the range is empty.
    pub fn below(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        // Widening multiply with rejection of the biased low zone.
        let threshold = span.wrapping_neg() % span;
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (span as u128);
            if (m as u64) >= threshold {
                return lo + (m >> 64) as u64;
            }
        }
    }

    /// An index into a slice of length `n` (`n > 0`).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(0, n as u64) as usize
    }

    /// A uniform `u32` threshold test with the kernel's fixed-point semantics: true with
    /// probability `p_u32 / 2^31`, as `xt_statistic` compares `get_random_u32() & 0x7FFFFFFF`
    /// against the stored probability.
    pub fn kernel_probability(&mut self, p_u32: u32) -> bool {
        (self.next_u32() & 0x7FFF_FFFF) < p_u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SimRng::new(7).fork("x");
        let mut b = SimRng::new(7).fork("x");
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn forks_do_not_depend_on_parent_position() {
        let mut parent = SimRng::new(7);
        let before = parent.fork("kube-proxy/node01").next_u64();
        for _ in 0..10 {
            parent.next_u64();
        }
        let after = parent.fork("kube-proxy/node01").next_u64();
        assert_eq!(before, after);
        assert_ne!(before, SimRng::new(7).fork("kube-proxy/node02").next_u64());
        assert_ne!(before, SimRng::new(8).fork("kube-proxy/node01").next_u64());
    }

    #[test]
    fn nested_fork_equals_path_fork() {
        let r = SimRng::new(1);
        assert_eq!(r.fork("a").fork("b").next_u64(), r.fork("a/b").next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SimRng::new(3);
        for _ in 0..1000 {
            let v = r.below(30000, 32768);
            assert!((30000..32768).contains(&v));
        }
        assert_eq!(r.below(5, 5), 5);
    }
}
