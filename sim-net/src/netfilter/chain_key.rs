//! A chain's name as its table's key.
//!
//! Every iptables backend refuses a chain name over 28 bytes (`XT_EXTENSION_MAXNAMELEN` is
//! 29 with the NUL), so a name fits in the key itself: looking a chain up by name compares
//! bytes held in the hash table's own entry, with no pointer to follow to the name. With
//! 110,000 chains (kube-proxy at 10,000 services) that chase was a cache miss on most of the
//! restore's name lookups. A longer name (only a caller past every check could make one) is
//! kept on the heap.

use std::hash::{Hash, Hasher};

use indexmap::Equivalent;

/// How many bytes of a name are held inline.
const INLINE: usize = 30;

/// A chain name as a table's key: compared, ordered and hashed as the name's bytes.
#[derive(Clone, Debug)]
pub(super) enum ChainKey {
    /// `len` bytes of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A name longer than [`INLINE`] bytes.
    Long(Box<[u8]>),
}

impl ChainKey {
    pub(super) fn new(name: &str) -> ChainKey {
        let b = name.as_bytes();
        if b.len() > INLINE {
            return ChainKey::Long(b.into());
        }
        let mut bytes = [0u8; INLINE];
        bytes[..b.len()].copy_from_slice(b);
        ChainKey::Inline { len: b.len() as u8, bytes }
    }

    /// The name's bytes.
    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        match self {
            ChainKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            ChainKey::Long(b) => b,
        }
    }
}

impl PartialEq for ChainKey {
    fn eq(&self, other: &ChainKey) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for ChainKey {}

impl PartialOrd for ChainKey {
    fn partial_cmp(&self, other: &ChainKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte order, which is `str`'s order. Two inline names compare as two pairs of 128-bit
/// numbers and their lengths (no `memcmp` call: the table's sort makes millions of these): the
/// zero padding after a name sorts before any byte but a NUL, and where the padded bytes are
/// equal the shorter name, a prefix of the other, comes first.
impl Ord for ChainKey {
    fn cmp(&self, other: &ChainKey) -> std::cmp::Ordering {
        match (self, other) {
            (ChainKey::Inline { len: la, bytes: a }, ChainKey::Inline { len: lb, bytes: b }) => {
                words(a).cmp(&words(b)).then(la.cmp(lb))
            }
            _ => self.bytes().cmp(other.bytes()),
        }
    }
}

/// A key that sorts as [`ChainKey`] does, computed once per chain by the table's sort: the
/// first [`INLINE`] bytes as two numbers, the rest of a long name, then the length.
pub(super) type SortKey = (u128, u128, Box<[u8]>, usize);

impl ChainKey {
    pub(super) fn sort_key(&self) -> SortKey {
        match self {
            ChainKey::Inline { len, bytes } => {
                let (hi, lo) = words(bytes);
                (hi, lo, Box::default(), usize::from(*len))
            }
            ChainKey::Long(b) => {
                let mut head = [0u8; INLINE];
                head.copy_from_slice(&b[..INLINE]);
                let (hi, lo) = words(&head);
                (hi, lo, b[INLINE..].into(), b.len())
            }
        }
    }
}

/// The inline bytes as two big-endian numbers.
#[inline]
fn words(b: &[u8; INLINE]) -> (u128, u128) {
    let mut hi = [0u8; 16];
    let mut lo = [0u8; 16];
    hi.copy_from_slice(&b[..16]);
    lo[..INLINE - 16].copy_from_slice(&b[16..]);
    (u128::from_be_bytes(hi), u128::from_be_bytes(lo))
}

/// Hashed as [`Name`] hashes, so that a name looks its key up.
impl Hash for ChainKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_name(self.bytes(), state);
    }
}

/// A name to look a [`ChainKey`] up by.
#[derive(Clone, Copy, Debug)]
pub(super) struct Name<'a>(pub &'a str);

impl Hash for Name<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_name(self.0.as_bytes(), state);
    }
}

impl Equivalent<ChainKey> for Name<'_> {
    #[inline]
    fn equivalent(&self, key: &ChainKey) -> bool {
        self.0.as_bytes() == key.bytes()
    }
}

/// The bytes and a terminator, as `str` hashes itself (so `"ab", "c"` and `"a", "bc"` differ
/// in a hashed tuple).
fn hash_name<H: Hasher>(b: &[u8], state: &mut H) {
    state.write(b);
    state.write_u8(0xff);
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn names_find_their_keys_inline_or_long() {
        let long = "X".repeat(40);
        let mut m: IndexMap<ChainKey, u32, sim_core::hash::FxBuildHasher> = IndexMap::default();
        for (i, n) in
            ["", "INPUT", "KUBE-SEP-2Q6PNIWUEDMKL2I7", &"Y".repeat(INLINE), &long].iter().enumerate()
        {
            m.insert(ChainKey::new(n), i as u32);
        }
        assert_eq!(m.get(&Name("KUBE-SEP-2Q6PNIWUEDMKL2I7")), Some(&2));
        assert_eq!(m.get(&Name(&"Y".repeat(INLINE))), Some(&3));
        assert_eq!(m.get(&Name(&long)), Some(&4));
        assert_eq!(m.get(&Name("")), Some(&0));
        assert_eq!(m.get(&Name("KUBE-SEP-2Q6PNIWUEDMKL2I")), None);
        assert!(matches!(ChainKey::new(&long), ChainKey::Long(_)));
    }

    proptest::proptest! {
        #[test]
        fn keys_order_as_their_names(a in "[A-Z\\x00-]{0,40}", b in "[A-Z\\x00-]{0,40}") {
            proptest::prop_assert_eq!(ChainKey::new(&a).cmp(&ChainKey::new(&b)), a.cmp(&b));
            proptest::prop_assert_eq!(ChainKey::new(&a) == ChainKey::new(&b), a == b);
            proptest::prop_assert_eq!(ChainKey::new(&a).sort_key().cmp(&ChainKey::new(&b).sort_key()), a.cmp(&b));
        }
    }
}
