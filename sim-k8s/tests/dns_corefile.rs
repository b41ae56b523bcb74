//! CoreDNS configured by its Corefile: the kubernetes plugin's options as CoreDNS's own
//! `plugin/kubernetes/setup_test.go` parses them (same inputs, same error substrings), what
//! each option does to answers (`handler_case_test.go`'s case preservation, `namespaces`,
//! `ignore empty_service`, `noendpoints`, `fallthrough`, several zones), and the other plugins'
//! setup errors.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sim_k8s::dns::corefile::setup::{CorefileSetup, setup};
use sim_k8s::dns::corefile::{Corefile, CorefileError};
use sim_k8s::dns::message::{Message, Rcode, RecordType};
use sim_k8s::dns::name::Name;
use sim_k8s::dns::view::{ClusterDnsView, DnsService, Protocol};
use sim_k8s::dns::{CoreDns, CoreDnsConfig, PodMode, Upstream};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A `kubernetes` stanza as setup_test.go writes it, inside a `.:53` server block.
fn parse_stanza(stanza: &str) -> Result<CoreDnsConfig, CorefileError> {
    Ok(server(&format!(".:53 {{\n{stanza}\n}}\n"))?.servers.remove(0).config)
}

fn server(text: &str) -> Result<CorefileSetup, CorefileError> {
    let c = Corefile::parse("Corefile", text, &BTreeMap::new())?;
    let base = CoreDnsConfig {
        upstream: Upstream::default().with_address("example.com", ip("93.184.215.14")).unwrap(),
        ..CoreDnsConfig::default()
    };
    setup(&c, &base)
}

fn zones(c: &CoreDnsConfig) -> usize {
    c.kubernetes_zones().count()
}

/// One positive case: input, zones, namespaces, pod mode, fallthrough zones.
type PositiveCase = (&'static str, usize, usize, PodMode, Option<&'static [&'static str]>);

#[test]
fn kubernetes_parse_positive_cases_of_setup_test_go() {
    let cases: &[PositiveCase] = &[
        ("kubernetes coredns.local", 1, 0, PodMode::Disabled, None),
        ("kubernetes coredns.local test.local", 2, 0, PodMode::Disabled, None),
        ("kubernetes coredns.local {\n}", 1, 0, PodMode::Disabled, None),
        (
            "kubernetes coredns.local {\n\tendpoint http://localhost:9090 http://localhost:9091\n}",
            1,
            0,
            PodMode::Disabled,
            None,
        ),
        ("kubernetes coredns.local {\n\tnamespaces demo\n}", 1, 1, PodMode::Disabled, None),
        ("kubernetes coredns.local {\n\tnamespaces demo test\n}", 1, 2, PodMode::Disabled, None),
        ("kubernetes coredns.local {\n    labels environment=prod\n}", 1, 0, PodMode::Disabled, None),
        (
            "kubernetes coredns.local test.local {\n\tendpoint http://localhost:8080\n\tnamespaces demo test\n    labels environment in (production, staging, qa),application=nginx\n    fallthrough\n}",
            2,
            2,
            PodMode::Disabled,
            Some(&[]),
        ),
        ("kubernetes coredns.local {\n\tpods disabled\n}", 1, 0, PodMode::Disabled, None),
        ("kubernetes coredns.local {\n\tpods insecure\n}", 1, 0, PodMode::Insecure, None),
        ("kubernetes coredns.local {\n\tpods verified\n}", 1, 0, PodMode::Verified, None),
        (
            "kubernetes coredns.local {\n\tfallthrough ip6.arpa inaddr.arpa foo.com\n}",
            1,
            0,
            PodMode::Disabled,
            Some(&["ip6.arpa.", "inaddr.arpa.", "foo.com."]),
        ),
    ];
    for (input, z, ns, pods, fall) in cases {
        let c = parse_stanza(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(zones(&c), *z, "{input}");
        assert_eq!(c.namespaces.len(), *ns, "{input}");
        assert_eq!(c.pods, *pods, "{input}");
        let got: Option<Vec<String>> =
            c.fallthrough.as_ref().map(|f| f.iter().map(|n| n.to_string()).collect());
        let want: Option<Vec<String>> = fall.map(|f| f.iter().map(|s| s.to_string()).collect());
        assert_eq!(got, want, "{input}");
        // The plugin's own default TTL is 5.
        assert_eq!(c.ttl, 5, "{input}");
    }
}

#[test]
fn kubernetes_parse_negative_cases_of_setup_test_go() {
    let cases = [
        ("kubernetes coredns.local {\n    endpoint\n}", "rong argument count or unexpected line ending"),
        ("kubernetes coredns.local {\n\tnamespaces\n}", "rong argument count or unexpected line ending"),
        ("kubernetes coredns.local {\n    labels\n}", "rong argument count or unexpected line ending"),
        ("kubernetes coredns.local {\n\tpods giant_seed\n}", "rong value for pods"),
        (
            "kubernetes coredns.local {\n\tendpoint_pod_names giant_seed\n}",
            "rong argument count or unexpected",
        ),
        ("kubernetes coredns.local {\n\tttl -1\n}", "ttl must be in range [0, 3600]: -1"),
        ("kubernetes coredns.local {\n\tttl 3601\n}", "ttl must be in range [0, 3600]: 3601"),
        ("kubernetes coredns.local {\n\tignore foo\n}", "unable to parse ignore value: 'foo'"),
        ("kubernetes coredns.local {\n\tnoendpoints ok\n}", "rong argument count or unexpected"),
        ("kubernetes coredns.local {\n\tresyncperiod 15m\n}", "unknown property 'resyncperiod'"),
        ("kubernetes in-addr.arpa", "non-reverse zone name must be used"),
        (
            "kubernetes coredns.local\nkubernetes other.local",
            "this plugin can only be used once per Server Block",
        ),
    ];
    for (input, want) in cases {
        let err = parse_stanza(input).expect_err(input).to_string();
        assert!(err.starts_with("plugin/kubernetes: "), "{input}: {err}");
        assert!(err.contains(want), "{input}: {err}");
    }
    // Located errors carry file and line as Caddy's Dispenser words them.
    assert_eq!(
        parse_stanza("kubernetes coredns.local {\n\tnamespaces\n}").unwrap_err().to_string(),
        "plugin/kubernetes: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'namespaces'"
    );
}

#[test]
fn ttl_endpoint_pod_names_ignore_and_noendpoints_parse() {
    let c = parse_stanza("kubernetes coredns.local {\n\tttl 56\n}").unwrap();
    assert_eq!(c.ttl, 56);
    let c = parse_stanza("kubernetes coredns.local {\n\tttl 0\n}").unwrap();
    assert_eq!(c.ttl, 0);
    assert!(parse_stanza("kubernetes coredns.local {\n\tendpoint_pod_names\n}").unwrap().endpoint_pod_names);
    assert!(
        parse_stanza("kubernetes coredns.local {\n\tignore empty_service\n}").unwrap().ignore_empty_service
    );
    assert!(parse_stanza("kubernetes coredns.local {\n\tnoendpoints\n}").unwrap().noendpoints);
}

#[test]
fn other_plugins_setup_errors() {
    let e = |t: &str| server(t).unwrap_err().to_string();
    // The message a Corefile with a dangling `forward .` produces in real clusters.
    assert_eq!(
        e(".:53 {\n    forward .\n}"),
        "plugin/forward: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '.'"
    );
    assert_eq!(
        e(".:53 {\n    forward . 13.14.15.16orange\n}"),
        "plugin/forward: not an IP address or file: \"13.14.15.16orange\""
    );
    assert_eq!(
        e(".:53 {\n    forward . 8.8.8.8 {\n        policy fastest\n    }\n}"),
        "plugin/forward: unknown policy 'fastest'"
    );
    assert_eq!(e(".:53 {\n    cache 0\n}"), "plugin/cache: cache TTL can not be zero or negative: 0");
    // plugin/cache's setup.go answers an unknown option with `c.ArgErr()`.
    assert_eq!(
        e(".:53 {\n    cache {\n        bogus\n    }\n}"),
        "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'bogus'"
    );
    assert_eq!(
        e(".:53 {\n    cache\n    cache 30\n}"),
        "plugin/cache: this plugin can only be used once per Server Block"
    );
    assert_eq!(
        e(".:53 {\n    kubernets cluster.local\n}"),
        "Corefile:2 - Error during parsing: Unknown directive 'kubernets'"
    );
    // Accepted but not simulated: named, never dropped.
    let s = server(".:53 {\n    forward . 8.8.8.8 {\n        max_fails 3\n        policy sequential\n    }\n    cache 30 {\n        prefetch 10\n    }\n    dnstap /tmp/x\n}").unwrap();
    let notes: Vec<String> = s.notices.iter().map(|n| n.to_string()).collect();
    assert_eq!(
        notes,
        [
            "line 3: plugin/forward: max_fails is not simulated",
            "line 4: plugin/forward: policy is not simulated",
            "line 9: plugin/dnstap is not simulated",
        ]
    );
    let c = s.servers[0].config.cache.as_ref().unwrap();
    assert_eq!((c.success.max_ttl, c.denial.max_ttl, c.prefetch), (30, 30, 10));
    // `cache` without a TTL caps at 3600 s (maxTTL), denials at 1800 s.
    let c = server(".:53 {\n    cache\n}").unwrap().servers[0].config.cache.clone().unwrap();
    assert_eq!((c.success.max_ttl, c.denial.max_ttl), (3600, 1800));
}

fn view() -> ClusterDnsView {
    let mut v = ClusterDnsView::default();
    for ns in ["default", "kube-system", "testns"] {
        v.namespaces.insert(ns.to_string());
    }
    v.services = vec![
        DnsService::cluster_ip("default", "kubernetes", ip("10.96.0.1"))
            .with_port("https", Protocol::Tcp, 443)
            .with_endpoint_port("https", Protocol::Tcp, 6443)
            .with_endpoint(ip("10.32.1.147"), None, true),
        DnsService::cluster_ip("kube-system", "kube-dns", ip("10.96.0.10")).with_port(
            "dns",
            Protocol::Udp,
            53,
        ),
        DnsService::cluster_ip("testns", "svc1", ip("10.0.0.1"))
            .with_port("http", Protocol::Tcp, 80)
            .with_endpoint_port("http", Protocol::Tcp, 80)
            .with_endpoint(ip("172.0.0.2"), None, true),
        DnsService::cluster_ip("testns", "empty", ip("10.0.0.2")).with_port("http", Protocol::Tcp, 80),
        DnsService::headless("testns", "hdls")
            .with_port("http", Protocol::Tcp, 80)
            .with_endpoint_port("http", Protocol::Tcp, 80)
            .with_endpoint(ip("172.0.0.3"), Some("h0"), true),
    ];
    v
}

fn ask_with(corefile: &str, name: &str, qtype: RecordType) -> Message {
    let s = server(corefile).unwrap();
    let n = Name::parse(name).unwrap();
    let Some(srv) = s.server_for(&n, 53) else {
        let mut m = Message::query(1, n, qtype);
        m.header.rcode = Rcode::Refused;
        return m;
    };
    let v = view();
    let core = CoreDns { config: &srv.config, view: &v };
    let q = Message::query(1, n, qtype);
    Message::decode(&core.answer_bytes(&q.encode()).unwrap()).unwrap()
}

fn rrs(m: &Message) -> Vec<String> {
    // dig's layout, tabs between the fields as in CoreDNS's test.Case strings.
    m.answers
        .iter()
        .chain(&m.authority)
        .chain(&m.additional)
        .map(|r| format!("{}\t{}\tIN\t{}\t{}", r.name, r.ttl, r.rtype(), r.data))
        .collect()
}

const PLAIN: &str = ".:53 {\n    kubernetes cluster.local {\n        ignore empty_service\n    }\n}\n";

#[test]
fn case_is_preserved_as_handler_case_test_go_expects() {
    let m = ask_with(PLAIN, "not-a-service.testns.svc.ClUsTeR.lOcAl.", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert_eq!(
        rrs(&m),
        ["ClUsTeR.lOcAl.\t5\tIN\tSOA\tns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 1 7200 1800 86400 5"]
    );
    let m = ask_with(PLAIN, "SvC1.TeStNs.SvC.cLuStEr.LoCaL.", RecordType::A);
    assert_eq!(rrs(&m), ["SvC1.TeStNs.SvC.cLuStEr.LoCaL.\t5\tIN\tA\t10.0.0.1"]);
    let m = ask_with(PLAIN, "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.", RecordType::Srv);
    assert_eq!(
        rrs(&m),
        [
            "_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cLuStEr.LoCaL.",
            "svc1.testns.svc.cLuStEr.LoCaL.\t5\tIN\tA\t10.0.0.1",
        ]
    );
    let m = ask_with(PLAIN, "Cluster.local.", RecordType::Soa);
    assert_eq!(
        rrs(&m),
        ["Cluster.local.\t5\tIN\tSOA\tns.dns.Cluster.local. hostmaster.Cluster.local. 1 7200 1800 86400 5"]
    );
}

#[test]
fn namespaces_limit_what_is_exposed() {
    let cf = ".:53 {\n    kubernetes cluster.local {\n        namespaces testns\n    }\n}\n";
    assert_eq!(ask_with(cf, "svc1.testns.svc.cluster.local", RecordType::A).answers.len(), 1);
    let m = ask_with(cf, "kubernetes.default.svc.cluster.local", RecordType::A);
    assert_eq!((m.header.rcode, m.header.flags.aa), (Rcode::NxDomain, true));
}

#[test]
fn ignore_empty_service_and_noendpoints() {
    // A ClusterIP service without endpoints: an address normally, NXDOMAIN when ignored.
    let normal = ".:53 {\n    kubernetes cluster.local\n}\n";
    assert_eq!(ask_with(normal, "empty.testns.svc.cluster.local", RecordType::A).answers.len(), 1);
    assert_eq!(
        ask_with(PLAIN, "empty.testns.svc.cluster.local", RecordType::A).header.rcode,
        Rcode::NxDomain
    );
    assert_eq!(ask_with(PLAIN, "svc1.testns.svc.cluster.local", RecordType::A).answers.len(), 1);
    // noendpoints: no endpoint watch, so headless names and endpoint names do not exist.
    let noep = ".:53 {\n    kubernetes cluster.local {\n        noendpoints\n    }\n}\n";
    assert_eq!(ask_with(normal, "hdls.testns.svc.cluster.local", RecordType::A).answers.len(), 1);
    assert_eq!(ask_with(noep, "hdls.testns.svc.cluster.local", RecordType::A).header.rcode, Rcode::NxDomain);
    assert_eq!(
        ask_with(noep, "h0.hdls.testns.svc.cluster.local", RecordType::A).header.rcode,
        Rcode::NxDomain
    );
    assert_eq!(ask_with(noep, "svc1.testns.svc.cluster.local", RecordType::A).answers.len(), 1);
}

#[test]
fn fallthrough_forward_and_the_end_of_the_chain() {
    // No fallthrough: a missing service is the plugin's own NXDOMAIN (aa).
    let m = ask_with(
        ".:53 {\n    kubernetes cluster.local\n    forward . 8.8.8.8\n}\n",
        "nope.testns.svc.cluster.local",
        RecordType::A,
    );
    assert_eq!((m.header.rcode, m.header.flags.aa, m.header.flags.ra), (Rcode::NxDomain, true, false));
    // With fallthrough, the name goes on to forward (an upstream NXDOMAIN, ra, no aa).
    let m = ask_with(
        ".:53 {\n    kubernetes cluster.local {\n        fallthrough\n    }\n    forward . 8.8.8.8\n}\n",
        "nope.testns.svc.cluster.local",
        RecordType::A,
    );
    assert_eq!((m.header.rcode, m.header.flags.aa, m.header.flags.ra), (Rcode::NxDomain, false, true));
    // Names outside the kubernetes zones go to forward; without forward there is no next
    // plugin: SERVFAIL.
    let m = ask_with(
        ".:53 {\n    kubernetes cluster.local\n    forward . 8.8.8.8\n}\n",
        "example.com",
        RecordType::A,
    );
    assert_eq!(rrs(&m), ["example.com.\t300\tIN\tA\t93.184.215.14"]);
    let m = ask_with(".:53 {\n    kubernetes cluster.local\n}\n", "example.com", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::ServFail);
    // A server block for cluster.local only refuses everything else.
    let m = ask_with("cluster.local:53 {\n    kubernetes\n}\n", "example.com", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::Refused);
}

#[test]
fn several_zones_answer_under_each() {
    let cf = ".:53 {\n    kubernetes cluster.local corp.example {\n        ttl 30\n    }\n}\n";
    let m = ask_with(cf, "kubernetes.default.svc.corp.example", RecordType::A);
    assert_eq!(rrs(&m), ["kubernetes.default.svc.corp.example.\t30\tIN\tA\t10.96.0.1"]);
    let m = ask_with(cf, "nope.default.svc.corp.example", RecordType::A);
    assert_eq!(m.authority[0].name.to_string(), "corp.example.");
    // A narrower reverse zone: only that range's PTRs are the plugin's.
    let cf = ".:53 {\n    kubernetes cluster.local 10.96.0.0/16\n    forward . 8.8.8.8\n}\n";
    let m = ask_with(cf, "1.0.96.10.in-addr.arpa", RecordType::Ptr);
    assert_eq!(rrs(&m), ["1.0.96.10.in-addr.arpa.\t5\tIN\tPTR\tkubernetes.default.svc.cluster.local."]);
    let m = ask_with(cf, "2.0.0.10.in-addr.arpa", RecordType::Ptr);
    assert!(!m.header.flags.aa, "outside 96.10.in-addr.arpa the name is forwarded");
}

#[test]
fn hosts_inline_entries_answer_before_kubernetes() {
    let cf = ".:53 {\n    hosts {\n        10.0.0.53 db.corp.example\n        fd00::53 db.corp.example\n        fallthrough\n    }\n    kubernetes cluster.local\n    forward . 8.8.8.8\n}\n";
    let m = ask_with(cf, "db.corp.example", RecordType::A);
    assert_eq!(rrs(&m), ["db.corp.example.\t3600\tIN\tA\t10.0.0.53"]);
    assert!(m.header.flags.aa);
    let m = ask_with(cf, "db.corp.example", RecordType::Aaaa);
    assert_eq!(rrs(&m), ["db.corp.example.\t3600\tIN\tAAAA\tfd00::53"]);
    let m = ask_with(cf, "53.0.0.10.in-addr.arpa", RecordType::Ptr);
    assert_eq!(rrs(&m), ["53.0.0.10.in-addr.arpa.\t3600\tIN\tPTR\tdb.corp.example."]);
    // Falls through to kubernetes and forward for everything else.
    assert_eq!(ask_with(cf, "kubernetes.default.svc.cluster.local", RecordType::A).answers.len(), 1);
    assert_eq!(ask_with(cf, "example.com", RecordType::A).answers.len(), 1);
    // Without fallthrough: a name it does not know is SERVFAIL (no SOA for an NXDOMAIN), one it
    // knows with another type is NODATA.
    let cf =
        ".:53 {\n    hosts {\n        10.0.0.53 db.corp.example\n    }\n    kubernetes cluster.local\n}\n";
    assert_eq!(ask_with(cf, "example.com", RecordType::A).header.rcode, Rcode::ServFail);
    let m = ask_with(cf, "db.corp.example", RecordType::Aaaa);
    assert_eq!((m.header.rcode, m.answers.len()), (Rcode::NoError, 0));
    assert_eq!(
        server(".:53 {\n    hosts {\n        db.corp.example 10.0.0.53\n    }\n}").unwrap_err().to_string(),
        "plugin/hosts: Corefile:3 - Error during parsing: unknown property 'db.corp.example'"
    );
}

#[test]
fn ipv6_endpoint_labels_get_a_zero_after_a_trailing_double_colon() {
    // kubernetes.go endpointHostname: "fd00::" would end the label in '-'.
    let mut v = ClusterDnsView::default();
    v.namespaces.insert("default".into());
    v.services.push(
        DnsService::headless("default", "v6")
            .with_port("http", Protocol::Tcp, 80)
            .with_endpoint_port("http", Protocol::Tcp, 80)
            .with_endpoint(ip("fd00::"), None, true)
            .with_endpoint(ip("fd00::5"), None, true),
    );
    let cfg = CoreDnsConfig::default();
    let core = CoreDns { config: &cfg, view: &v };
    let q =
        Message::query(1, Name::parse("_http._tcp.v6.default.svc.cluster.local").unwrap(), RecordType::Srv);
    let m = Message::decode(&core.answer_bytes(&q.encode()).unwrap()).unwrap();
    let targets: Vec<String> = m.additional.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(targets, ["fd00--0.v6.default.svc.cluster.local.", "fd00--5.v6.default.svc.cluster.local."]);
}

#[test]
fn labels_select_the_services_the_plugin_sees() {
    let cf = ".:53 {\n    kubernetes cluster.local {\n        labels environment in (production, qa),application=nginx\n    }\n}\n";
    let s = server(cf).unwrap();
    let mut v = view();
    v.services[2].labels.insert("environment".into(), "qa".into());
    v.services[2].labels.insert("application".into(), "nginx".into());
    let core = CoreDns { config: &s.servers[0].config, view: &v };
    let ask = |name: &str| {
        let q = Message::query(1, Name::parse(name).unwrap(), RecordType::A);
        Message::decode(&core.answer_bytes(&q.encode()).unwrap()).unwrap()
    };
    assert_eq!(ask("svc1.testns.svc.cluster.local").answers.len(), 1);
    assert_eq!(ask("kubernetes.default.svc.cluster.local").header.rcode, Rcode::NxDomain);
    let e = server(
        ".:53 {\n    kubernetes cluster.local {\n        labels environment in (production, qa\n    }\n}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unable to parse label selector"), "{e}");
}
