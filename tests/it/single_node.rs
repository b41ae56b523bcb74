//! Single-node verdicts of kube-proxy's generated rules, as kube-proxy's own tests check them
//! (`netsim trace -f ... --node NAME --src IP --to IP:PORT --all-paths --format json`). The
//! cluster is a dump from a larger one: Node objects, fixed cluster IPs, EndpointSlices
//! without pods, one of them naming a node (`node-z`) this cluster does not have.

use crate::support::netsim;

struct Case {
    what: &'static str,
    node: &'static str,
    src: &'static str,
    to: &'static str,
    proto: &'static str,
    /// (disposition, dnat) of every path, in order.
    paths: &'static [(&'static str, Option<&'static str>)],
    masquerade: bool,
}

const CASES: &[Case] = &[
    Case {
        what: "ClusterIP from a local pod: three endpoints, one third each, no SNAT",
        node: "node-a",
        src: "10.244.0.7",
        to: "10.96.100.1:80",
        proto: "tcp",
        paths: &[
            ("dnat", Some("10.244.0.5:8080")),
            ("dnat", Some("10.244.1.5:8080")),
            ("dnat", Some("10.244.7.5:8080")),
        ],
        masquerade: false,
    },
    Case {
        what: "ClusterIP from outside the cluster CIDR is masqueraded",
        node: "node-a",
        src: "192.168.0.99",
        to: "10.96.100.1:80",
        proto: "tcp",
        paths: &[
            ("dnat", Some("10.244.0.5:8080")),
            ("dnat", Some("10.244.1.5:8080")),
            ("dnat", Some("10.244.7.5:8080")),
        ],
        masquerade: true,
    },
    Case {
        what: "a service without endpoints is rejected in the filter table",
        node: "node-a",
        src: "10.244.0.7",
        to: "10.96.100.2:80",
        proto: "tcp",
        paths: &[("reject", None)],
        masquerade: false,
    },
    Case {
        what: "externalTrafficPolicy Local: a node without a local endpoint drops external traffic",
        node: "node-a",
        src: "192.168.0.99",
        to: "192.168.0.10:30080",
        proto: "tcp",
        paths: &[("drop", None)],
        masquerade: false,
    },
    Case {
        what: "externalTrafficPolicy Local: the node with the endpoint keeps the client address",
        node: "node-b",
        src: "192.168.0.99",
        to: "192.168.0.11:30080",
        proto: "tcp",
        paths: &[("dnat", Some("10.244.1.9:80"))],
        masquerade: false,
    },
    Case {
        what: "externalIPs from outside: DNAT and masquerade",
        node: "node-a",
        src: "192.168.0.99",
        to: "80.11.12.10:80",
        proto: "tcp",
        paths: &[("dnat", Some("10.244.1.5:8080"))],
        masquerade: true,
    },
    Case {
        what: "an address no rule knows: no kube-proxy rule applied",
        node: "node-a",
        src: "10.244.0.7",
        to: "10.96.200.200:80",
        proto: "tcp",
        paths: &[("none", None)],
        masquerade: false,
    },
];

#[test]
fn single_node_verdicts_for_each_service_feature() {
    for c in CASES {
        let out = netsim(&[
            "trace",
            "-f",
            "tests/data/single-node/cluster.yaml",
            "--node",
            c.node,
            "--src",
            c.src,
            "--to",
            c.to,
            "--proto",
            c.proto,
            "--all-paths",
            "--format",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}: {}", c.what, out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let paths = v["paths"].as_array().unwrap();
        let got: Vec<(String, Option<String>)> = paths
            .iter()
            .map(|p| (p["disposition"].as_str().unwrap().to_string(), p["dnat"].as_str().map(str::to_string)))
            .collect();
        let want: Vec<(String, Option<String>)> =
            c.paths.iter().map(|(d, n)| (d.to_string(), n.map(str::to_string))).collect();
        assert_eq!(got, want, "{}", c.what);
        let total: f64 = paths.iter().map(|p| p["probability"].as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{}: probabilities sum to {total}", c.what);
        for p in paths {
            assert_eq!(p["masquerade"], c.masquerade, "{}", c.what);
        }
        if c.paths.len() == 3 {
            for p in paths {
                assert!(
                    (p["probability"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
                    "{}: uneven split",
                    c.what
                );
            }
        }
    }
}
