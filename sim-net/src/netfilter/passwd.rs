//! The user and group databases (`/etc/passwd`, `/etc/group`) as `-m owner` reads them, from a
//! fixed table instead of the machine's files, so that a rule set means the same wherever
//! netsim runs.
//!
//! The tables are the static entries Debian's base-passwd 3.6.1 gives every node (its
//! `passwd.master` and `group.master`); accounts packages or people add later are not there.
//! libxt_owner.c looks the whole `--uid-owner`/`--gid-owner` value up with `getpwnam` /
//! `getgrnam` before reading it as a number or a range, so `root` is 0 and `root-5` is a bad
//! value. Names are compared exactly. Measured with iptables v1.8.9
//! (`sim-net/tests/xtables_backends.rs`).

/// base-passwd 3.6.1's users: name and uid.
pub const USERS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("_apt", 42),
    ("nobody", 65534),
];

/// base-passwd 3.6.1's groups: name and gid.
pub const GROUPS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

/// `getpwnam(name)`'s uid.
pub fn uid_by_name(name: &str) -> Option<u32> {
    USERS.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

/// `getgrnam(name)`'s gid.
pub fn gid_by_name(name: &str) -> Option<u32> {
    GROUPS.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_names() {
        assert_eq!(uid_by_name("root"), Some(0));
        assert_eq!(uid_by_name("nobody"), Some(65534));
        assert_eq!(uid_by_name("nogroup"), None);
        assert_eq!(gid_by_name("nogroup"), Some(65534));
        assert_eq!(gid_by_name("nobody"), None);
        assert_eq!(uid_by_name("Root"), None);
    }
}
