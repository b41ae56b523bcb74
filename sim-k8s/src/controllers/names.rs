//! Generated object names as Kubernetes makes them: the `pod-template-hash` (FNV-32a over the
//! pod template, printed in decimal and mapped through `rand.SafeEncodeString`, as
//! `controller.ComputeHash` does) and the 5-character random suffix of `generateName`
//! (`utilrand.String(5)`), drawn from a seeded `SimRng` stream. Both use kube's 27-character
//! alphabet without vowels or confusable digits. Left out: hash collision counts — real kube
//! hashes the Go struct dump, netsim hashes the template's canonical JSON, so the hash values
//! differ from a real cluster's while keeping the same shape and stability.

use sim_core::SimRng;

use crate::api::PodTemplateSpec;

/// `k8s.io/apimachinery/pkg/util/rand` alphanumerics: no vowels, no 0/1/3.
pub const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32-bit.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// `rand.SafeEncodeString`: every byte mapped to `ALPHANUMS[b % 27]`.
pub fn safe_encode_string(s: &str) -> String {
    s.bytes().map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()])).collect()
}

/// The `pod-template-hash` of a template (stable across runs and seeds).
pub fn pod_template_hash(template: &PodTemplateSpec) -> String {
    // Serialization of these plain data types cannot fail; fall back to Debug just in case.
    let json = serde_json::to_string(template).unwrap_or_else(|_| format!("{template:?}"));
    safe_encode_string(&fnv32a(json.as_bytes()).to_string())
}

/// `utilrand.String(n)` from a seeded stream.
pub fn random_suffix(rng: &mut SimRng, n: usize) -> String {
    (0..n).map(|_| char::from(ALPHANUMS[rng.index(ALPHANUMS.len())])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_golden_vectors() {
        // Published FNV-1a 32 test vectors.
        assert_eq!(fnv32a(b""), 0x811c9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn safe_encode_maps_digits_like_kube() {
        // Digits map 0→4 1→5 2→6 3→7 4→8 5→9 6→b 7→c 8→d 9→f, which is why real hashes such
        // as `6799fc88d8` only ever use those ten characters.
        assert_eq!(safe_encode_string("0123456789"), "456789bcdf");
        assert_eq!(safe_encode_string("1233008836"), "567744dd7b");
    }

    #[test]
    fn hash_is_stable_and_shaped() {
        let t = PodTemplateSpec::default();
        let h = pod_template_hash(&t);
        assert_eq!(h, pod_template_hash(&t));
        assert!(h.len() <= 10 && h.bytes().all(|b| ALPHANUMS.contains(&b)));
        let mut rng = SimRng::new(1).fork("controllers/replicaset");
        let s = random_suffix(&mut rng, 5);
        assert_eq!(s.len(), 5);
    }
}
