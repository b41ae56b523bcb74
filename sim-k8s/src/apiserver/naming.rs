//! Server-generated identifiers: `generateName` suffixes and ReplicaSet pod-template hashes in
//! the alphabet of `k8s.io/apimachinery/pkg/util/rand` (`bcdfghjklmnpqrstvwxz2456789`, no
//! vowels so no words), UIDs in RFC 4122 v4 layout, and RFC 3339 creation timestamps from
//! simulated time. All randomness comes from a `SimRng` stream. Left out: hash collisions
//! (`collisionCount`), which the simulated controllers never hit.

use sim_core::{SimRng, SimTime};

/// The alphabet of `rand.String` and `rand.SafeEncodeString`.
pub const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `rand.String(n)`: `n` random characters from [`ALPHANUMS`] (the 5-char pod-name suffix).
pub fn random_suffix(rng: &mut SimRng, n: usize) -> String {
    (0..n).map(|_| ALPHANUMS[rng.index(ALPHANUMS.len())] as char).collect()
}

/// The longest `generateName` prefix kept (`names.MaxGeneratedNameLength`: 63 less the 5
/// random characters).
pub const MAX_GENERATED_NAME_LENGTH: usize = 58;

/// `names.SimpleNameGenerator.GenerateName`: the prefix, cut to
/// [`MAX_GENERATED_NAME_LENGTH`] bytes, and 5 random characters.
pub fn generated_name(base: &str, rng: &mut SimRng) -> String {
    let mut cut = base.len().min(MAX_GENERATED_NAME_LENGTH);
    // Go cuts bytes; a name that is not ASCII is refused by validation either way.
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = String::with_capacity(cut + 5);
    name.push_str(&base[..cut]);
    name.push_str(&random_suffix(rng, 5));
    name
}

/// `rand.SafeEncodeString`: maps each byte onto [`ALPHANUMS`].
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char).collect()
}

/// FNV-1a 32-bit, the hash `controller.ComputeHash` feeds the template through.
pub fn fnv32a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A pod-template-hash in the real shape: `SafeEncodeString(fmt.Sprint(fnv32a(template)))`,
/// computed over netsim's canonical JSON of the template (so it is stable per template but
/// not byte-equal to what a real controller would print).
pub fn pod_template_hash(canonical_template: &[u8]) -> String {
    safe_encode(&fnv32a(canonical_template).to_string())
}

/// A random UID in v4 layout (`8-4-4-4-12` lower-case hex).
pub fn uid(rng: &mut SimRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    // Written digit by digit: every object created gets one (16 `format!` calls were 10,000
    // instructions a UID).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The month's abbreviation as Go's `Jan` layout prints it (1 = January; out of range: `Jan`
/// or `Dec` at the nearer end).
pub fn month_abbrev(month: u32) -> &'static str {
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    MONTHS[(month as usize).saturating_sub(1).min(11)]
}

/// Days since 1970-01-01 to (year, month, day) — Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// RFC 3339 text (`2024-01-01T00:00:05Z`) for simulated time `t` after the Unix time `epoch`.
pub fn timestamp(epoch_unix_secs: i64, t: SimTime) -> String {
    let secs = epoch_unix_secs + t.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60);
    }
    // Every write stamps a time (managedFields, conditions): digits by hand, not `format!`.
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, m);
    put(8, 2, d);
    let rem = rem as u32;
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    // ASCII digits and separators only.
    std::str::from_utf8(&b).map(str::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_use_the_safe_alphabet_and_are_seeded() {
        let mut a = SimRng::new(1).fork("apiserver/names");
        let mut b = SimRng::new(1).fork("apiserver/names");
        let s = random_suffix(&mut a, 5);
        assert_eq!(s.len(), 5);
        assert!(s.bytes().all(|c| ALPHANUMS.contains(&c)));
        assert_eq!(s, random_suffix(&mut b, 5));
    }

    #[test]
    fn fnv_and_safe_encode_vectors() {
        // FNV-1a test vectors (Fowler/Noll/Vo reference): "" and "a".
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        // SafeEncodeString maps the digit bytes '0'..'9' (48..57) mod 27.
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        assert!(pod_template_hash(b"{}").len() <= 10);
    }

    #[test]
    fn uid_layout() {
        let mut r = SimRng::new(7);
        let u = uid(&mut r);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0, SimTime::ZERO), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_704_067_200, SimTime::from_nanos(65_000_000_000)), "2024-01-01T00:01:05Z");
        assert_eq!(timestamp(951_782_400, SimTime::ZERO), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn generated_names_cut_the_prefix_to_58_bytes() {
        let mut r = SimRng::new(7);
        assert_eq!(generated_name("web-", &mut r).len(), 9);
        let long = "a".repeat(70);
        let name = generated_name(&long, &mut r);
        assert_eq!(name.len(), 63);
        assert!(name.starts_with(&"a".repeat(58)));
        assert!(!name[58..].contains('a'));
    }
}
