//! `netsim nft list ...` and `netsim nft trace` against upstream's TestOverallNFTablesRules
//! ruleset (sim-net/tests/data/nft/kube-proxy.nft), and `--proxy-mode`.

use crate::support::netsim;

const GOLDEN: &str = "sim-net/tests/data/nft/kube-proxy.nft";

fn tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("netsim-cli-nft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn list_ruleset_prints_what_the_engine_loads_and_reloads_to_itself() {
    let out = netsim(&["nft", "list", "ruleset", "--rules", GOLDEN]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut nft = sim_net::nftables::Nftables::new();
    nft.apply_file(GOLDEN, &std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    assert_eq!(out.stdout, nft.list_ruleset());
    // `nft list ruleset` output is itself a loadable file that lists the same.
    let again = netsim(&["nft", "list", "ruleset", "--rules", &tmp("listed.nft", &out.stdout)]);
    assert_eq!(again.stdout, out.stdout);
    let chain = netsim(&["nft", "list", "chain", "ip", "kube-proxy", "services", "--rules", GOLDEN]);
    assert_eq!(chain.code, 0, "{}", chain.stderr);
    assert!(chain.stdout.contains("\tchain services {\n"), "{}", chain.stdout);
    let missing = netsim(&["nft", "list", "table", "ip", "nope", "--rules", GOLDEN]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.starts_with("Error: No such file or directory"), "{}", missing.stderr);
}

#[test]
fn a_bad_file_gets_nfts_error_with_line_and_column() {
    let path = tmp("bad.nft", "table ip t {\n\tchain c { tcp dport 80 frobnicate; }\n}\n");
    let out = netsim(&["nft", "list", "ruleset", "--rules", &path]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with(&format!("{path}:2:")), "{}", out.stderr);
    assert!(out.stderr.contains("Error: "), "{}", out.stderr);
}

#[test]
fn trace_lists_both_endpoints_with_the_map_elements_that_decided() {
    let out = netsim(&[
        "nft",
        "trace",
        "--rules",
        GOLDEN,
        "--src",
        "10.0.0.2",
        "--dst",
        "172.30.0.44:80",
        "--all-paths",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let paths = v["paths"].as_array().unwrap();
    let dnats: Vec<&str> = paths.iter().map(|p| p["dnat"].as_str().unwrap_or("")).collect();
    assert_eq!(dnats, ["10.180.0.4:80", "10.180.0.5:80"]);
    for p in paths {
        assert!((p["probability"].as_f64().unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(p["masquerade"], false);
        let rules: Vec<&str> = p["rules"].as_array().unwrap().iter().filter_map(|r| r.as_str()).collect();
        assert!(
            rules.iter().any(|r| r.starts_with("ip kube-proxy services: @service-ips element 172.30.0.44 . tcp . 80")),
            "{rules:?}"
        );
    }
    // From outside the pod network the same service is masqueraded.
    let out = netsim(&["nft", "trace", "--rules", GOLDEN, "--src", "192.168.0.9", "--dst", "172.30.0.41:80"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("DNAT to 10.180.0.1:80, masqueraded"), "{}", out.stdout);
    // No endpoints: upstream rejects.
    let out = netsim(&["nft", "trace", "--rules", GOLDEN, "--src", "10.0.0.2", "--dst", "172.30.0.46:80"]);
    assert!(out.stdout.contains("REJECT"), "{}", out.stdout);
}

#[test]
fn list_a_simulated_nodes_table_and_refuse_unknown_modes() {
    let out = netsim(&[
        "nft",
        "list",
        "ruleset",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--node",
        "node01",
        "--proxy-mode",
        "nftables",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("elements = { tcp . 30380 : goto external-"), "{}", out.stdout);
    let out = netsim(&["kubectl", "--proxy-mode", "userspace", "get", "svc"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("valid modes: iptables, ipvs, nftables"), "{}", out.stderr);
}
