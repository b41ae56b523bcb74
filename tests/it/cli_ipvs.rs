//! `--proxy-mode ipvs` on the command line: the IPVS-mode rules of a simulated node, and the
//! refusal of modes netsim does not simulate.

use crate::support::netsim;

const LAB: &str = "scenarios/labs/001-layer4-proxy";

#[test]
fn iptables_save_shows_the_ipvs_mode_rules() {
    let pods = format!("{LAB}/pod_nodeport.yaml");
    let svc = format!("{LAB}/service_nodeport.yaml");
    let out = netsim(&["iptables-save", "-f", &pods, "-f", &svc, "--proxy-mode", "ipvs", "--node", "master"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for rule in [
        "-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ",
        "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ",
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT",
    ] {
        assert!(out.stdout.contains(rule), "{rule}\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("KUBE-SVC-"), "no per-service chains in IPVS mode");
    // iptables stays the default.
    let out = netsim(&["iptables-save", "-f", &pods, "-f", &svc, "--node", "master"]);
    assert!(out.stdout.contains("KUBE-SVC-"), "{}", out.stdout);
}

#[test]
fn unknown_proxy_modes_are_refused_with_the_valid_ones() {
    let svc = format!("{LAB}/service_nodeport.yaml");
    let out = netsim(&["iptables-save", "-f", &svc, "--proxy-mode", "userspace", "--node", "master"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "error: --proxy-mode: unknown proxy mode \"userspace\"; valid modes: iptables, ipvs, nftables\n"
    );
}

#[test]
fn an_unknown_ipvs_scheduler_is_refused_in_kube_proxys_words() {
    // kube-proxy's config validation runs before the cluster starts, with upstream's path
    // (`Scheduler.Scheduler`: both the caller and validateIPVSSchedulerMethod add the child),
    // at the field's line and column.
    let out = netsim(&[
        "iptables-save",
        "-f",
        "sim-k8s/tests/bad_inputs/kube-proxy-config-ipvs-scheduler.yaml",
        "--node",
        "master",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "sim-k8s/tests/bad_inputs/kube-proxy-config-ipvs-scheduler.yaml:5:3: KubeProxyConfiguration.KubeProxyIPVSConfiguration.Scheduler.Scheduler: Invalid value: \"roundrobin\": must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ], blank means the default algorithm method (currently rr)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_ipvs_section_is_validated_in_the_mode_the_flag_selects() {
    // The document says iptables (its ipvs: section is then not checked); --proxy-mode ipvs
    // makes kube-proxy read it, and refuse the negative timeout and the bad CIDR.
    let dir = std::env::temp_dir().join(format!("netsim-ipvs-cfg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("kpc.yaml");
    let text = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nipvs:\n  tcpTimeout: -1s\n  excludeCIDRs: [10.1.2.3]\n";
    std::fs::write(&path, text).unwrap();
    let file = path.display().to_string();
    let ok = netsim(&["iptables-save", "-f", &file, "--node", "master"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let out = netsim(&["iptables-save", "-f", &file, "--proxy-mode", "ipvs", "--node", "master"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "{file}:5:3: KubeProxyConfiguration.KubeProxyIPVSConfiguration.TCPTimeout: Invalid value: v1.Duration{{Duration:-1000000000}}: must be greater than or equal to 0"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "{file}:6:3: KubeProxyConfiguration.KubeProxyIPVSConfiguration.ExcludeCidrs: Invalid value: []string{{\"10.1.2.3\"}}: must be a valid IP block"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_scenarios_inline_kube_proxy_configuration_is_validated_at_its_position() {
    let dir = std::env::temp_dir().join(format!("netsim-ipvs-scn-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bad.yaml");
    let text = "name: bad\nseed: 1\nmanifests:\n  - inline: |\n      apiVersion: kubeproxy.config.k8s.io/v1alpha1\n      kind: KubeProxyConfiguration\n      mode: ipvs\n      ipvs:\n        scheduler: mh\nsteps:\n  - note: x\n";
    std::fs::write(&path, text).unwrap();
    let file = path.display().to_string();
    let out = netsim(&["run", &file]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "{file}:9:9: KubeProxyConfiguration.KubeProxyIPVSConfiguration.Scheduler.Scheduler: Invalid value: \"mh\""
        )),
        "{}",
        out.stderr
    );
}
