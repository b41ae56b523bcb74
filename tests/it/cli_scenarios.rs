//! `netsim run` on invalid scenarios (exit 2, `file:line:column: message`), on a failing
//! expectation (exit 1), and `netsim kubectl` / `iptables-save -f --node` against the default
//! cluster.

use crate::support::{netsim, netsim_with_input};

#[test]
fn invalid_scenarios_exit_2_with_positions() {
    let mut report = String::new();
    let mut files: Vec<_> = std::fs::read_dir("tests/data/bad-scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("failing.yaml"))
        .collect();
    files.sort();
    for f in files {
        let out = netsim(&["run", f.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{}: {}{}", f.display(), out.stdout, out.stderr);
        assert!(out.stdout.is_empty(), "{}: printed a transcript", f.display());
        report.push_str(&out.stderr);
    }
    insta::assert_snapshot!(report);
}

#[test]
fn a_failed_expectation_exits_1_and_says_what_happened() {
    let out = netsim(&["run", "tests/data/bad-scenarios/failing.yaml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("! expectation failed: expected the output to contain \"nope\""));
    assert_eq!(
        out.stderr,
        "tests/data/bad-scenarios/failing.yaml:4: steps[0]: expected the output to contain \"nope\"\n"
    );
}

#[test]
fn netsim_test_ends_with_the_counts_line() {
    let out = netsim(&["test", "scenarios/quickstart.yaml", "tests/data/bad-scenarios/failing.yaml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.ends_with("1 passed, 1 failed\n"), "{}", out.stdout);
}

#[test]
fn kubectl_against_the_default_cluster() {
    let out = netsim(&["kubectl", "-f", "scenarios/manifests/my-nginx.yaml", "get", "svc", "-o", "wide"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
    let out = netsim(&["kubectl", "-f", "scenarios/manifests/my-nginx.yaml", "get", "nodes"]);
    assert!(out.stdout.contains("master"), "{}", out.stdout);
    let out = netsim(&["kubectl", "-f", "scenarios/manifests/my-nginx.yaml", "get", "frobs"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the server doesn't have a resource type \"frobs\""), "{}", out.stderr);
}

#[test]
fn generated_rules_of_a_node_appear_as_iptables_save_prints_them() {
    let out = netsim(&[
        "iptables-save",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--node",
        "node01",
        "-t",
        "nat",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Article 004's shapes: the NodePort jump and the masquerade on mark 0x4000.
    assert!(out.stdout.contains(
        "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/my-nginx\" -m tcp --dport 30380 -j KUBE-EXT-"
    ));
    assert!(out.stdout.contains("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"));
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn the_shell_runs_typed_commands_on_the_scenario_cluster() {
    let out = crate::support::netsim_with_input(
        &["shell", "scenarios/quickstart.yaml"],
        "ssh pod/busybox\ncat /etc/resolv.conf\nexit\nssh node02\nip route\nexit\nexit\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn a_trace_draws_as_a_mermaid_sequence_diagram() {
    let out = netsim(&[
        "trace",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--from",
        "client",
        "--to",
        "10.32.1.149:30380",
        "--diagram",
        "mermaid",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("sequenceDiagram\n  participant h0 as client\n"), "{}", out.stdout);
    // The SYN reaches the pod masqueraded to node02's cni0 address.
    assert!(out.stdout.contains("10.244.2.1."), "{}", out.stdout);
}

#[test]
fn a_service_cidr_object_sets_where_cluster_ips_come_from() {
    let dir = std::env::temp_dir().join(format!("netsim-sc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("sc.yaml");
    std::fs::write(
        &f,
        "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: kubernetes}\nspec:\n  cidrs: [10.43.0.0/16]\n",
    )
    .unwrap();
    let out = netsim(&["kubectl", "-f", f.to_str().unwrap(), "get", "svc", "-n", "kube-system"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("kube-dns   ClusterIP   10.43.0.10"), "{}", out.stdout);
}

#[test]
fn a_dns_trace_lists_every_query_the_resolver_sends() {
    let out = crate::support::netsim_with_input(
        &["shell", "scenarios/quickstart.yaml"],
        "trace pod/busybox -> my-nginx dns\nexit\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("A? my-nginx.default.svc.cluster.local."), "{}", out.stdout);
    assert!(out.stdout.contains("result: Found after 2 queries"), "{}", out.stdout);
}

/// A dump of a running cluster (`netsim generate --shape dump`: Nodes, running Pods with
/// status, EndpointSlices) loads as the cluster it describes: every pod keeps its node and IP,
/// and the cluster's own add-ons (CoreDNS) are given addresses no dumped pod has.
#[test]
fn a_cluster_dump_keeps_its_pods_addresses_and_nodes() {
    let dump = netsim(&["generate", "--nodes", "4", "--services", "3", "--pods", "6", "--shape", "dump"]);
    assert_eq!(dump.code, 0, "{}", dump.stderr);
    let mut want = std::collections::BTreeMap::new();
    let (mut name, mut node) = (String::new(), String::new());
    for line in dump.stdout.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("name: ").filter(|n| n.matches('-').count() == 2) {
            name = n.to_string();
        } else if let Some(n) = line.strip_prefix("nodeName: ") {
            node = n.to_string();
        } else if let Some(ip) = line.strip_prefix("podIP: ") {
            want.insert(name.clone(), (node.clone(), ip.to_string()));
        }
    }
    assert_eq!(want.len(), 6, "{want:?}");
    let out = netsim_with_input(&["kubectl", "-f", "-", "get", "pods", "-A", "-o", "wide"], &dump.stdout);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut ips = std::collections::BTreeSet::new();
    for line in out.stdout.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (pod, ip, node) = (cols[1], cols[6], cols[7]);
        assert!(ips.insert(ip.to_string()), "{ip} given twice:\n{}", out.stdout);
        if let Some((want_node, want_ip)) = want.get(pod) {
            assert_eq!((node, ip), (want_node.as_str(), want_ip.as_str()), "{pod}");
        }
    }
    assert_eq!(ips.len(), 8, "six dumped pods and two CoreDNS replicas:\n{}", out.stdout);
}
