//! The rule lines kube-proxy writes most, read without the general option parser.
//!
//! A node's initial restore at 10,000 services has 330,000 rules, 300,000 of them in four
//! fixed word orders: an endpoint chain's `-s IP -j KUBE-MARK-MASQ` and `-m tcp -p tcp -j
//! DNAT --to-destination IP:PORT`, a service chain's `-m statistic --mode random
//! --probability P -j KUBE-SEP-…` branches and its last `-j KUBE-SEP-…`. The general parser
//! ([`super::parse_args`]) spends most of a line's time on its option dispatch and its
//! bookkeeping of what was given; here a line of one of these shapes is matched as a whole and
//! built with the general parser's own helpers, in its order, so the command is the one it
//! makes (a proptest compares the two on random lines of these shapes). Any other line — another
//! order, a `!`, a comment, a value a helper refuses — is left to the general parser, which also
//! words every error.

use super::{
    Args, CommandLine, ListFlags, Match, Op, ProtoMatch, Protocol, Rule, StatisticMode, TableName,
    any_is_none, finish_target, match_option, new_match, new_target, parse_addr_mask, statistic_check,
    target_option, validate_matches,
};
use crate::netfilter::rule::AddrMatch;

/// The command of `argv` if it is `-A CHAIN` and one of the shapes above; `None` otherwise
/// (then the general parser reads it).
pub(super) fn parse(argv: &[&str]) -> Option<CommandLine> {
    let [op, chain, rest @ ..] = argv else { return None };
    if *op != "-A" {
        return None;
    }
    let mut rule = Rule::new();
    let target = match rest {
        ["-j", t] => new_target(t, false).ok()?,
        ["-s", addr, "-j", t] => {
            if addr.contains(',') {
                return None;
            }
            let (a, mask) = parse_addr_mask(addr).ok()?;
            rule.src = any_is_none(AddrMatch::with_mask(a, mask, false));
            new_target(t, false).ok()?
        }
        ["-m", "statistic", "--mode", "random", "--probability", p, "-j", t] => {
            let mut m = new_match("statistic").ok()?;
            option(&mut m, "--mode", "random")?;
            option(&mut m, "--probability", p)?;
            let Match::Statistic(st) = &m else { return None };
            if !matches!(st.mode, StatisticMode::Random { .. }) {
                return None;
            }
            statistic_check(st, Some(false), |o| matches!(o, "--probability" | "--mode")).ok()?;
            rule.matches.push(m);
            new_target(t, false).ok()?
        }
        ["-m", m @ ("tcp" | "udp"), "-p", p, "-j", "DNAT", "--to-destination", to] if m == p => {
            rule.matches.push(new_match(m).ok()?);
            rule.proto = Some(ProtoMatch { proto: Protocol::parse(p)?, invert: false });
            let mut tb = new_target("DNAT", false).ok()?;
            let v = [*to];
            if !target_option(&mut tb, "--to-destination", false, &mut Args { v: &v, i: 0 }).ok()? {
                return None;
            }
            tb
        }
        _ => return None,
    };
    rule.target = finish_target(target, &rule).ok()?;
    validate_matches(&rule).ok()?;
    Some(CommandLine {
        table: TableName::Filter,
        op: Op::Append((*chain).to_string()),
        rule,
        has_spec: true,
        flags: ListFlags::default(),
        addrs: Default::default(),
    })
}

/// One option of a match and its value, taken as the general parser takes it.
fn option(m: &mut Match, opt: &str, value: &str) -> Option<()> {
    let v = [value];
    match_option(m, opt, false, &mut Args { v: &v, i: 0 }, None).ok()?.then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the general parser makes of `line`.
    fn general(line: &str) -> Option<CommandLine> {
        let argv: Vec<&str> = line.split(' ').collect();
        super::super::parse_args(&argv, false).ok()
    }

    fn fast(line: &str) -> Option<CommandLine> {
        let argv: Vec<&str> = line.split(' ').collect();
        parse(&argv)
    }

    #[test]
    fn kube_proxys_lines_take_the_fast_path() {
        for line in [
            "-A KUBE-SEP-2Q6PNIWUEDMKL2I7 -s 10.0.0.10 -j KUBE-MARK-MASQ",
            "-A KUBE-SEP-2Q6PNIWUEDMKL2I7 -m tcp -p tcp -j DNAT --to-destination 10.0.0.10:8080",
            "-A KUBE-SEP-2Q6PNIWUEDMKL2I7 -m udp -p udp -j DNAT --to-destination 10.0.0.10:53",
            "-A KUBE-SVC-K7ZVFMM3TUXRXRZR -m statistic --mode random --probability 0.1000000000 -j KUBE-SEP-X",
            "-A KUBE-SVC-K7ZVFMM3TUXRXRZR -j KUBE-SEP-2Q6PNIWUEDMKL2I7",
        ] {
            let f = fast(line);
            assert!(f.is_some(), "{line}");
            assert_eq!(f, general(line), "{line}");
        }
    }

    #[test]
    fn other_lines_are_left_to_the_general_parser() {
        for line in [
            "-A X ! -s 10.0.0.10 -j Y",
            "-A X -s 10.0.0.1,10.0.0.2 -j Y",
            "-A X -m statistic --mode nth --probability 0.5 -j Y",
            "-A X -m tcp -p udp -j DNAT --to-destination 10.0.0.1:80",
            "-A X -j DNAT",
            "-A X -j MARK",
            "-A X -j CLASSIFY",
            "-A X -m statistic --mode random --probability 2 -j Y",
            "-I X -j Y",
        ] {
            assert_eq!(fast(line), None, "{line}");
        }
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("KUBE-MARK-MASQ".to_string()),
            Just("ACCEPT".to_string()),
            Just("DROP".to_string()),
            Just("RETURN".to_string()),
            Just("REJECT".to_string()),
            Just("LOG".to_string()),
            Just("DNAT".to_string()),
            Just("MASQUERADE".to_string()),
            Just("-j".to_string()),
            Just("!".to_string()),
            "[A-Z][A-Z0-9-]{0,30}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "(25[0-6]|2[0-4][0-9]|1?[0-9]?[0-9])\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?",
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}:[0-9x+-]{0,6}",
            "0\\.[0-9]{1,10}",
            "[01]\\.?[0-9]{0,3}",
            "[0-9a-z.:,/-]{0,12}",
        ]
    }

    proptest! {
        /// Wherever the fast path answers, it answers as the general parser does.
        #[test]
        fn the_fast_path_agrees_with_the_general_parser(
            shape in 0usize..4,
            chain in word(),
            target in word(),
            v in value(),
            proto in prop_oneof![Just("tcp"), Just("udp"), Just("sctp"), Just("TCP")],
            proto2 in prop_oneof![Just("tcp"), Just("udp")],
        ) {
            let line = match shape {
                0 => format!("-A {chain} -j {target}"),
                1 => format!("-A {chain} -s {v} -j {target}"),
                2 => format!("-A {chain} -m statistic --mode random --probability {v} -j {target}"),
                _ => format!("-A {chain} -m {proto} -p {proto2} -j DNAT --to-destination {v}"),
            };
            if let Some(f) = fast(&line) {
                prop_assert_eq!(Some(f), general(&line), "{}", line);
            }
        }

        /// Well-formed lines of the four shapes all take the fast path, to the same command.
        #[test]
        fn well_formed_lines_take_the_fast_path(
            shape in 0usize..4,
            chain in "KUBE-(SVC|SEP)-[A-Z2-7]{16}",
            target in "KUBE-(SEP-[A-Z2-7]{16}|MARK-MASQ)",
            ip: [u8; 4],
            prefix in proptest::option::of(0u8..=32),
            port: u16,
            p in 0.0f64..1.0,
            proto in prop_oneof![Just("tcp"), Just("udp")],
        ) {
            let ip = std::net::Ipv4Addr::from(ip);
            let line = match shape {
                0 => format!("-A {chain} -j {target}"),
                1 => match prefix {
                    Some(n) => format!("-A {chain} -s {ip}/{n} -j {target}"),
                    None => format!("-A {chain} -s {ip} -j {target}"),
                },
                2 => format!("-A {chain} -m statistic --mode random --probability {p:.10} -j {target}"),
                _ => format!("-A {chain} -m {proto} -p {proto} -j DNAT --to-destination {ip}:{port}"),
            };
            let f = fast(&line);
            prop_assert!(f.is_some(), "{}", line);
            prop_assert_eq!(f, general(&line), "{}", line);
        }
    }
}
