//! `netsim iptables trace` and `netsim iptables-save` against a real kube-proxy dump
//! (tests/data/kube-dns.rules: the verbatim kube-dns excerpt of a kubeadm + flannel node,
//! iptables v1.8.4, from shared/formats.md §1.1).

use crate::support::netsim;

#[test]
fn iptables_save_round_trips_a_real_dump_byte_for_byte() {
    let out = netsim(&["iptables-save", "--rules", "tests/data/kube-dns.rules"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // iptables-restore without -c zeroes the chains' counters (`:PREROUTING ACCEPT [3:330]`
    // reprints as `[0:0]`), as the real iptables-nft-restore/-save v1.8.9 do with this file.
    let original = std::fs::read_to_string("tests/data/kube-dns.rules").unwrap();
    let zeroed: String = original
        .lines()
        .map(|l| match (l.starts_with(':'), l.rfind(" [")) {
            (true, Some(i)) => format!("{} [0:0]\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect();
    assert_eq!(out.stdout, zeroed);
}

#[test]
fn trace_lists_both_kube_dns_endpoints_at_one_half() {
    let out = netsim(&[
        "iptables",
        "trace",
        "--rules",
        "tests/data/kube-dns.rules",
        "--src",
        "10.244.1.5:40000",
        "--dst",
        "10.96.0.10:53",
        "--proto",
        "udp",
        "--all-paths",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn trace_json_has_the_documented_fields() {
    let out = netsim(&[
        "iptables",
        "trace",
        "--rules",
        "tests/data/kube-dns.rules",
        "--src",
        "10.0.0.1",
        "--dst",
        "10.96.0.10:53",
        "--proto",
        "udp",
        "--all-paths",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    let total: f64 = paths.iter().map(|p| p["probability"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9);
    let dnats: Vec<&str> = paths.iter().map(|p| p["dnat"].as_str().unwrap()).collect();
    assert_eq!(dnats, ["10.244.0.8:53", "10.244.0.9:53"]);
    for p in paths {
        assert_eq!(p["disposition"], "dnat");
        // 10.0.0.1 is outside the cluster CIDR: KUBE-SVC marks it for masquerade, and
        // KUBE-POSTROUTING masquerades it on the way out.
        assert_eq!(p["masquerade"], true);
        assert!(p["snat"].is_null());
        assert!(p["rules"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("MASQUERADE")));
    }
}

#[test]
fn a_packet_no_rule_matches_is_accepted_by_policy() {
    let out = netsim(&[
        "iptables",
        "trace",
        "--rules",
        "tests/data/kube-dns.rules",
        "--src",
        "10.244.1.5",
        "--dst",
        "10.244.2.7:80",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["paths"][0]["disposition"], "none");
    assert!(v["paths"][0]["dnat"].is_null());
}

#[test]
fn invalid_dumps_name_the_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("netsim-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.rules");
    std::fs::write(&bad, "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE-NOPE\nCOMMIT\n").unwrap();
    // The default backend, nft, finds the missing chain at COMMIT (line 4), as the real
    // iptables-nft-restore does; legacy at the rule's line.
    let out = netsim(&["iptables-save", "--rules", bad.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(":4: Chain 'KUBE-NOPE' does not exist"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = netsim(&["iptables-save", "--rules", bad.to_str().unwrap(), "--backend", "legacy"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(":3: Couldn't load target `KUBE-NOPE'"), "{}", out.stderr);
}

/// A file under a temp dir of this test process.
fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("netsim-it-xt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

/// As `iptables-restore FILE; iptables-save -c` (no `-c` on the restore): every counter is
/// zero, and iptables 1.4's loose forms load (what the real v1.8.9 did with this file).
#[test]
fn a_dump_reprints_with_zero_counters_as_iptables_restore_without_c() {
    let f = temp_file(
        "counters.rules",
        "*nat\n:PREROUTING ACCEPT [1234:5678]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [5:6]\n:POSTROUTING ACCEPT [0:0]\n[10:20] -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90 \n#-A PREROUTING -j ACCEPT\nCOMMIT\n",
    );
    let out = netsim(&["iptables-save", "--rules", &f, "-c"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n[0:0] -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90\nCOMMIT\n"
    );
    // The kernel's choice in the range for this client: jhash2 of the addresses (the
    // formula checked against the real kernel in rule.rs), the port kept as it is in range.
    let out = netsim(&["iptables", "trace", "--rules", &f, "--src", "192.168.5.1", "--dst", "1.1.1.1:80"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(": DNAT to 10.0.0.2:80\n"), "{}", out.stdout);
}

#[test]
fn payload_matches_need_an_assumption_and_the_trace_says_where_it_decided() {
    let f = temp_file(
        "payload.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -m string --string \"GET /admin\" --algo bm -j DROP\nCOMMIT\n",
    );
    let args = [
        "iptables",
        "trace",
        "--rules",
        &f,
        "--src",
        "10.0.0.5",
        "--dst",
        "10.0.0.1:80",
        "--local-ip",
        "10.0.0.1",
    ];
    let out = netsim(&args);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(":3: match 'string' reads the packet's payload, which netsim does not evaluate"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--assume match or --assume nomatch"), "{}", out.stderr);
    let mut with = args.to_vec();
    with.extend(["--assume", "match"]);
    let out = netsim(&with);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(": DROP\n"), "{}", out.stdout);
    assert!(out.stdout.contains("  assumed at INPUT / filter: -A INPUT -p tcp -m tcp --dport 80 -m string --string \"GET /admin\" --algo bm -j DROP (string: payload match not evaluated: assumed to match)\n"), "{}", out.stdout);
    let mut without = args.to_vec();
    without.extend(["--assume", "nomatch"]);
    let out = netsim(&without);
    assert!(out.stdout.contains("no rule applied"), "{}", out.stdout);
}

#[test]
fn unknown_matches_are_named_with_a_hint_and_skip_unknown_lists_them() {
    let f = temp_file(
        "unknown.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m quota2 --name q --quota 100 -j DROP\nCOMMIT\n",
    );
    let out = netsim(&["iptables-save", "--rules", &f]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(":3: match `quota2' is not simulated by netsim"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: --skip-unknown"), "{}", out.stderr);
    let out = netsim(&["iptables-save", "--rules", &f, "--skip-unknown"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("-A INPUT -m quota2 --name q --quota 100 -j DROP\n"), "{}", out.stdout);
    let out = netsim(&[
        "iptables",
        "trace",
        "--rules",
        &f,
        "--skip-unknown",
        "--src",
        "10.0.0.5",
        "--dst",
        "10.0.0.1:80",
        "--local-ip",
        "10.0.0.1",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("no rule applied"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "assumed at INPUT / filter: -A INPUT -m quota2 --name q --quota 100 -j DROP (unknown: "
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn the_backends_accept_what_the_real_binaries_accept() {
    let f = temp_file(
        "backend.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ! -p udp -m udp --sport 53 -j ACCEPT\nCOMMIT\n",
    );
    let out = netsim(&["iptables-save", "--rules", &f]);
    assert_eq!(out.code, 0, "nft (the default) loads it: {}", out.stderr);
    let out = netsim(&["iptables-save", "--rules", &f, "--backend", "legacy"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(
            ":4: line 4 failed: the kernel refused the rule at line 3 (udp match: only valid for protocol 17)"
        ),
        "{}",
        out.stderr
    );
    let f = temp_file(
        "nft-refuses.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m udp --sport 53 -j ACCEPT\nCOMMIT\n",
    );
    let out = netsim(&["iptables-save", "--rules", &f]);
    assert!(out.stderr.contains(":3: UDP match requires '-p udp'"), "{}", out.stderr);
}

#[test]
fn ipsets_come_from_an_ipset_save_dump() {
    let sets = temp_file(
        "sets.ipsets",
        "create BLOCK hash:net family inet hashsize 1024 maxelem 65536\nadd BLOCK 10.9.0.0/16\n",
    );
    let f = temp_file(
        "sets.rules",
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set BLOCK src -j DROP\nCOMMIT\n",
    );
    let out = netsim(&["iptables-save", "--rules", &f]);
    assert_eq!(out.code, 2, "no set without --ipsets");
    assert!(out.stderr.contains("Set BLOCK doesn't exist."), "{}", out.stderr);
    let trace = |src: &str| {
        netsim(&[
            "iptables",
            "trace",
            "--rules",
            &f,
            "--ipsets",
            &sets,
            "--src",
            src,
            "--dst",
            "10.0.0.1:80",
            "--local-ip",
            "10.0.0.1",
        ])
    };
    assert!(trace("10.9.1.1").stdout.contains(": DROP\n"));
    assert!(trace("10.8.1.1").stdout.contains("no rule applied"));
}

/// `--proto sctp`: an SCTP INIT through kube-proxy's SCTP rules (two endpoints at one half
/// each, and a Service without endpoints rejected).
#[test]
fn trace_proto_sctp_through_kube_proxy_sctp_rules() {
    let args = |dst: &'static str| {
        [
            "iptables",
            "trace",
            "--rules",
            "tests/data/kube-proxy-sctp.rules",
            "--src",
            "10.244.1.5:40000",
            "--dst",
            dst,
            "--proto",
            "sctp",
            "--all-paths",
        ]
    };
    let out = netsim(&args("172.30.0.41:3868"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("path 1 of 2: probability 0.5000: DNAT to 10.180.0.1:3868"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("path 2 of 2: probability 0.5000: DNAT to 10.180.0.2:3868"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("sctp (1) [INIT]"), "{}", out.stdout);
    let out = netsim(&args("172.30.0.42:9"));
    assert!(
        out.stdout.contains("REJECT") && out.stdout.contains("ns1/svc2:p9 has no endpoints"),
        "{}",
        out.stdout
    );
}
