//! `netsim iptables trace` and `netsim iptables-save` against a real kube-proxy dump
//! (tests/data/kube-dns.rules: the verbatim kube-dns excerpt of a kubeadm + flannel node,
//! iptables v1.8.4, from shared/formats.md §1.1).

use crate::support::netsim;

#[test]
fn iptables_save_round_trips_a_real_dump_byte_for_byte() {
    let out = netsim(&["iptables-save", "--rules", "tests/data/kube-dns.rules"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let original = std::fs::read_to_string("tests/data/kube-dns.rules").unwrap();
    assert_eq!(out.stdout, original);
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
    let out = netsim(&["iptables-save", "--rules", bad.to_str().unwrap()]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains(":3: "), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}
