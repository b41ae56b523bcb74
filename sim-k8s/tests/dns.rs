//! Cluster DNS end to end: the kubernetes/dns specification rule by rule, CoreDNS's NXDOMAIN
//! vs NODATA, the libc search-list expansions, and the articles' nslookup/dig sessions.

use std::net::IpAddr;

use proptest::prelude::*;
use sim_k8s::dns::busybox_nslookup;
use sim_k8s::dns::coredns::{CoreDns, CoreDnsConfig, Upstream, reverse_name};
use sim_k8s::dns::message::{Message, RData, Rcode, Record, RecordType};
use sim_k8s::dns::name::Name;
use sim_k8s::dns::resolv_conf::{DnsPolicy, KubeletDns, ResolvConf, ResolvOption, pod_resolv_conf};
use sim_k8s::dns::resolver::{
    AddressFamily, LookupResult, LookupStatus, QueryOutcome, ResolverFlavour, StubResolver, Transport,
    search_candidates,
};
use sim_k8s::dns::tools::{self, DigRun, DigStyle};
use sim_k8s::dns::view::{ClusterDnsView, DnsPod, DnsService, Protocol};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The clusters of the articles: 001 (kubernetes, my-nginx, client-svc → nginx-svc, mysql),
/// 002 (kafka-headless, auth-service, pod 172.17.0.3), 004 (ExternalName my.database.example.com).
fn cluster() -> ClusterDnsView {
    let mut view = ClusterDnsView::default();
    for ns in ["default", "kube-system", "kafka", "nginx-ns", "test"] {
        view.namespaces.insert(ns.to_string());
    }
    view.services = vec![
        DnsService::cluster_ip("default", "kubernetes", ip("10.96.0.1"))
            .with_port("https", Protocol::Tcp, 443)
            .with_endpoint_port("https", Protocol::Tcp, 6443)
            .with_endpoint(ip("10.32.1.147"), None, true),
        DnsService::cluster_ip("kube-system", "kube-dns", ip("10.96.0.10"))
            .with_port("dns", Protocol::Udp, 53)
            .with_port("dns-tcp", Protocol::Tcp, 53)
            .with_port("metrics", Protocol::Tcp, 9153),
        DnsService::cluster_ip("default", "my-nginx", ip("10.105.0.20"))
            .with_port("", Protocol::Tcp, 80)
            .with_endpoint_port("", Protocol::Tcp, 80)
            .with_endpoint(ip("10.244.1.5"), None, true)
            .with_endpoint(ip("10.244.2.6"), None, true),
        DnsService::cluster_ip("nginx-ns", "nginx-svc", ip("10.104.157.106")).with_port(
            "",
            Protocol::Tcp,
            80,
        ),
        DnsService::external_name("default", "client-svc", "nginx-svc.nginx-ns.svc.cluster.local"),
        DnsService::external_name("default", "ext-db", "my.database.example.com"),
        DnsService::external_name("default", "dangling", "nothing.example.org"),
        DnsService::cluster_ip("default", "mysql", ip("10.110.0.5"))
            .with_port("", Protocol::Tcp, 3306)
            .with_endpoint_port("", Protocol::Tcp, 3306)
            .with_endpoint(ip("10.32.1.149"), None, true),
        DnsService::headless("kafka", "kafka-headless")
            .with_port("tcp-client", Protocol::Tcp, 9092)
            .with_endpoint_port("tcp-client", Protocol::Tcp, 9092)
            .with_endpoint(ip("172.17.0.6"), Some("kafka-0"), true)
            .with_endpoint(ip("172.17.0.5"), Some("kafka-1"), true)
            .with_endpoint(ip("172.17.0.4"), Some("kafka-2"), true)
            .with_endpoint(ip("172.17.0.7"), Some("kafka-3"), false),
        DnsService::cluster_ip("kafka", "kafka", ip("172.20.1.196")).with_port(
            "tcp-client",
            Protocol::Tcp,
            9092,
        ),
        DnsService::headless("default", "web-headless")
            .with_port("http", Protocol::Tcp, 80)
            .with_endpoint_port("http", Protocol::Tcp, 8080)
            .with_endpoint(ip("10.244.1.5"), None, true),
        DnsService::headless("default", "empty-headless").with_port("http", Protocol::Tcp, 80),
        DnsService {
            publish_not_ready_addresses: true,
            ..DnsService::headless("default", "peers")
                .with_port("gossip", Protocol::Udp, 7946)
                .with_endpoint_port("gossip", Protocol::Udp, 7946)
                .with_endpoint(ip("10.244.3.9"), Some("peer-0"), false)
        },
        DnsService::cluster_ip("test", "auth-service", ip("10.100.0.80")).with_port("", Protocol::Tcp, 80),
        DnsService {
            cluster_ips: vec![ip("10.96.5.5"), ip("fd00::5:5")],
            ..DnsService::cluster_ip("default", "dual", ip("10.96.5.5")).with_port("http", Protocol::Tcp, 80)
        },
    ];
    view.pods = vec![DnsPod {
        namespace: "default".into(),
        name: "dig".into(),
        ips: vec![ip("172.17.0.3")],
        hostname: None,
        subdomain: None,
    }];
    view
}

fn config() -> CoreDnsConfig {
    CoreDnsConfig {
        soa_serial: 1700000000,
        upstream: Upstream::default()
            .with_address("my.database.example.com", ip("203.0.113.50"))
            .unwrap()
            .with_address("google.com", ip("142.250.74.14"))
            .unwrap()
            .with_address("google.com", ip("2a00:1450:4001:82a::200e"))
            .unwrap()
            .with_record(Record::new(
                Name::parse("google.com").unwrap(),
                60,
                RData::Soa(sim_k8s::dns::message::Soa {
                    mname: Name::parse("ns1.google.com").unwrap(),
                    rname: Name::parse("dns-admin.google.com").unwrap(),
                    serial: 712_000_000,
                    refresh: 900,
                    retry: 900,
                    expire: 1800,
                    minimum: 60,
                }),
            )),
        ..CoreDnsConfig::default()
    }
}

fn ask(name: &str, qtype: RecordType) -> Message {
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let q = Message::query(7, Name::parse(name).unwrap(), qtype);
    // Through the wire both ways, as the simulated packets carry it.
    let bytes = server.answer_bytes(&q.encode()).unwrap();
    Message::decode(&bytes).unwrap()
}

fn lines(records: &[Record]) -> Vec<String> {
    records.iter().map(|r| format!("{} {} IN {} {}", r.name, r.ttl, r.rtype(), r.data)).collect()
}

const SOA: &str =
    "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30";

struct Case {
    /// Where the rule comes from.
    cite: &'static str,
    qname: &'static str,
    qtype: RecordType,
    rcode: Rcode,
    aa: bool,
    answer: &'static [&'static str],
    authority: &'static [&'static str],
    additional: &'static [&'static str],
}

const fn case(
    cite: &'static str,
    qname: &'static str,
    qtype: RecordType,
    rcode: Rcode,
    answer: &'static [&'static str],
) -> Case {
    Case { cite, qname, qtype, rcode, aa: true, answer, authority: &[], additional: &[] }
}

fn spec_cases() -> Vec<Case> {
    use RecordType::*;
    vec![
        case(
            "spec §2.2 dns-version TXT (plugin TTL 28800, capped to 30 by kubeadm's `cache 30`)",
            "dns-version.cluster.local",
            Txt,
            Rcode::NoError,
            &["dns-version.cluster.local. 30 IN TXT \"1.1.0\""],
        ),
        case(
            "spec §2.3.1 ClusterIP A",
            "kubernetes.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1"],
        ),
        case(
            "spec §2.1 comparisons are case-insensitive (owner keeps the question's case)",
            "KUBERNETES.Default.SVC.cluster.local",
            A,
            Rcode::NoError,
            &["KUBERNETES.Default.SVC.cluster.local. 30 IN A 10.96.0.1"],
        ),
        Case {
            additional: &["kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1"],
            ..case(
                "spec §2.3.2 ClusterIP SRV, target is the service name",
                "_https._tcp.kubernetes.default.svc.cluster.local",
                Srv,
                Rcode::NoError,
                &[
                    "_https._tcp.kubernetes.default.svc.cluster.local. 30 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.",
                ],
            )
        },
        Case {
            authority: &[SOA],
            ..case(
                "spec §2.3.2 unnamed ports have no SRV record (CoreDNS: NXDOMAIN)",
                "_http._tcp.my-nginx.default.svc.cluster.local",
                Srv,
                Rcode::NxDomain,
                &[],
            )
        },
        case(
            "spec §2.3.3 ClusterIP PTR",
            "1.0.96.10.in-addr.arpa",
            Ptr,
            Rcode::NoError,
            &["1.0.96.10.in-addr.arpa. 30 IN PTR kubernetes.default.svc.cluster.local."],
        ),
        case(
            "spec §2.4.1 headless A: one per ready endpoint",
            "kafka-headless.kafka.svc.cluster.local",
            A,
            Rcode::NoError,
            &[
                "kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.6",
                "kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.5",
                "kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.4",
            ],
        ),
        Case {
            authority: &[SOA],
            ..case(
                "spec §2.4.1 headless without ready endpoints is NXDOMAIN",
                "empty-headless.default.svc.cluster.local",
                A,
                Rcode::NxDomain,
                &[],
            )
        },
        case(
            "spec §2.4.1 hostname A record of a ready endpoint",
            "kafka-0.kafka-headless.kafka.svc.cluster.local",
            A,
            Rcode::NoError,
            &["kafka-0.kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.6"],
        ),
        Case {
            authority: &[SOA],
            ..case(
                "spec §2.1 ready: a not-ready endpoint has no hostname record",
                "kafka-3.kafka-headless.kafka.svc.cluster.local",
                A,
                Rcode::NxDomain,
                &[],
            )
        },
        case(
            "spec §2.1 tolerate-unready / publishNotReadyAddresses publishes not-ready endpoints",
            "peer-0.peers.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["peer-0.peers.default.svc.cluster.local. 30 IN A 10.244.3.9"],
        ),
        case(
            "spec §2.1 hostname: system-assigned id when none is set (CoreDNS: dashed IP)",
            "10-244-1-5.web-headless.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["10-244-1-5.web-headless.default.svc.cluster.local. 30 IN A 10.244.1.5"],
        ),
        Case {
            additional: &[
                "kafka-0.kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.6",
                "kafka-1.kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.5",
                "kafka-2.kafka-headless.kafka.svc.cluster.local. 30 IN A 172.17.0.4",
            ],
            ..case(
                "spec §2.4.2 headless SRV: one per ready endpoint and named port",
                "_tcp-client._tcp.kafka-headless.kafka.svc.cluster.local",
                Srv,
                Rcode::NoError,
                &[
                    "_tcp-client._tcp.kafka-headless.kafka.svc.cluster.local. 30 IN SRV 0 33 9092 kafka-0.kafka-headless.kafka.svc.cluster.local.",
                    "_tcp-client._tcp.kafka-headless.kafka.svc.cluster.local. 30 IN SRV 0 33 9092 kafka-1.kafka-headless.kafka.svc.cluster.local.",
                    "_tcp-client._tcp.kafka-headless.kafka.svc.cluster.local. 30 IN SRV 0 33 9092 kafka-2.kafka-headless.kafka.svc.cluster.local.",
                ],
            )
        },
        Case {
            additional: &["10-244-1-5.web-headless.default.svc.cluster.local. 30 IN A 10.244.1.5"],
            ..case(
                "spec §2.4.2 SRV port is the endpoint (target) port",
                "_http._tcp.web-headless.default.svc.cluster.local",
                Srv,
                Rcode::NoError,
                &[
                    "_http._tcp.web-headless.default.svc.cluster.local. 30 IN SRV 0 100 8080 10-244-1-5.web-headless.default.svc.cluster.local.",
                ],
            )
        },
        case(
            "spec §2.4.3 headless endpoint PTR",
            "6.0.17.172.in-addr.arpa",
            Ptr,
            Rcode::NoError,
            &["6.0.17.172.in-addr.arpa. 30 IN PTR kafka-0.kafka-headless.kafka.svc.cluster.local."],
        ),
        case(
            "spec §2.5 ExternalName CNAME, external target chased upstream",
            "ext-db.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &[
                "ext-db.default.svc.cluster.local. 30 IN CNAME my.database.example.com.",
                "my.database.example.com. 30 IN A 203.0.113.50",
            ],
        ),
        case(
            "spec §2.5 ExternalName to an in-cluster name (article 001 client-svc)",
            "client-svc.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &[
                "client-svc.default.svc.cluster.local. 30 IN CNAME nginx-svc.nginx-ns.svc.cluster.local.",
                "nginx-svc.nginx-ns.svc.cluster.local. 30 IN A 10.104.157.106",
            ],
        ),
        case(
            "spec §2.5 CoreDNS keeps a dangling CNAME when upstream has nothing",
            "dangling.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["dangling.default.svc.cluster.local. 30 IN CNAME nothing.example.org."],
        ),
        case(
            "spec §2.6 pod A record a-b-c-d.ns.pod (pods insecure)",
            "172-17-0-3.default.pod.cluster.local",
            A,
            Rcode::NoError,
            &["172-17-0-3.default.pod.cluster.local. 30 IN A 172.17.0.3"],
        ),
    ]
}

fn coredns_cases() -> Vec<Case> {
    use RecordType::*;
    let nx =
        |cite, qname, qtype| Case { authority: &[SOA], ..case(cite, qname, qtype, Rcode::NxDomain, &[]) };
    let nodata =
        |cite, qname, qtype| Case { authority: &[SOA], ..case(cite, qname, qtype, Rcode::NoError, &[]) };
    vec![
        nx("missing service", "nosuch.default.svc.cluster.local", A),
        nx("missing namespace", "kubernetes.nosuchns.svc.cluster.local", A),
        nx("namespace label alone, missing namespace", "nosuchns.svc.cluster.local", A),
        nx("search-list expansion of an external name", "google.com.default.svc.cluster.local", A),
        nx("neither svc nor pod before the zone", "google.com.cluster.local", A),
        nx("too many labels", "a.b.c.kubernetes.default.svc.cluster.local", A),
        nx("pod name that is not an IP", "not-an-ip.default.pod.cluster.local", A),
        nodata("AAAA of an IPv4 service", "kubernetes.default.svc.cluster.local", Aaaa),
        case(
            "dual-stack service: A",
            "dual.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["dual.default.svc.cluster.local. 30 IN A 10.96.5.5"],
        ),
        case(
            "dual-stack service: AAAA",
            "dual.default.svc.cluster.local",
            Aaaa,
            Rcode::NoError,
            &["dual.default.svc.cluster.local. 30 IN AAAA fd00::5:5"],
        ),
        case(
            "dual-stack service: PTR of the IPv6 cluster IP",
            "5.0.0.0.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
            Ptr,
            Rcode::NoError,
            &[
                "5.0.0.0.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 30 IN PTR dual.default.svc.cluster.local.",
            ],
        ),
        nodata("MX of a service (fake A lookup decides)", "kubernetes.default.svc.cluster.local", Other(15)),
        nodata("existing namespace without service label", "default.svc.cluster.local", A),
        nodata("svc label alone", "svc.cluster.local", A),
        nodata("zone apex A", "cluster.local", A),
        nodata("SRV of an ExternalName service", "client-svc.default.svc.cluster.local", Srv),
        nx(
            "port/protocol labels under an ExternalName",
            "_http._tcp.client-svc.default.svc.cluster.local",
            A,
        ),
        nodata(
            "AAAA of an ExternalName to an IPv4-only cluster name",
            "client-svc.default.svc.cluster.local",
            Aaaa,
        ),
        case(
            "SOA at the apex",
            "cluster.local",
            Soa,
            Rcode::NoError,
            &[
                "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30",
            ],
        ),
        Case {
            additional: &["ns.dns.cluster.local. 30 IN A 10.96.0.10"],
            ..case(
                "NS at the apex",
                "cluster.local",
                Ns,
                Rcode::NoError,
                &["cluster.local. 30 IN NS ns.dns.cluster.local."],
            )
        },
        case(
            "ns.dns.<zone> A",
            "ns.dns.cluster.local",
            A,
            Rcode::NoError,
            &["ns.dns.cluster.local. 30 IN A 10.96.0.10"],
        ),
        case(
            "CNAME query for an ExternalName",
            "client-svc.default.svc.cluster.local",
            Cname,
            Rcode::NoError,
            &["client-svc.default.svc.cluster.local. 30 IN CNAME nginx-svc.nginx-ns.svc.cluster.local."],
        ),
        Case {
            additional: &["my-nginx.default.svc.cluster.local. 30 IN A 10.105.0.20"],
            ..case(
                "SRV without _port._proto matches every port, unnamed included",
                "my-nginx.default.svc.cluster.local",
                Srv,
                Rcode::NoError,
                &[
                    "my-nginx.default.svc.cluster.local. 30 IN SRV 0 100 80 my-nginx.default.svc.cluster.local.",
                ],
            )
        },
        case(
            "endpoint name under a ClusterIP service",
            "10-244-2-6.my-nginx.default.svc.cluster.local",
            A,
            Rcode::NoError,
            &["10-244-2-6.my-nginx.default.svc.cluster.local. 30 IN A 10.244.2.6"],
        ),
        Case {
            aa: false,
            ..case(
                "outside the zone: forwarded, upstream answer relayed",
                "google.com",
                A,
                Rcode::NoError,
                &["google.com. 30 IN A 142.250.74.14"],
            )
        },
        Case {
            aa: false,
            ..case("outside the zone: upstream NXDOMAIN", "nosuch.example.com", A, Rcode::NxDomain, &[])
        },
        Case {
            aa: false,
            ..case(
                "unknown reverse address falls through to forward",
                "9.9.9.10.in-addr.arpa",
                Ptr,
                Rcode::NxDomain,
                &[],
            )
        },
    ]
}

fn check(cases: Vec<Case>) {
    for c in cases {
        let m = ask(c.qname, c.qtype);
        let what = format!("{} ({} {})", c.cite, c.qname, c.qtype);
        assert_eq!(m.header.rcode, c.rcode, "{what}: rcode");
        assert_eq!(m.header.flags.aa, c.aa, "{what}: aa");
        assert_eq!(m.header.flags.ra, !c.aa, "{what}: ra");
        assert!(m.header.flags.qr && m.header.flags.rd, "{what}: qr rd");
        assert_eq!(lines(&m.answers), c.answer, "{what}: answer");
        assert_eq!(lines(&m.authority), c.authority, "{what}: authority");
        assert_eq!(lines(&m.additional), c.additional, "{what}: additional");
    }
}

#[test]
fn specification_rules() {
    check(spec_cases());
}

#[test]
fn without_the_cache_plugin_ttls_are_the_plugins() {
    let view = cluster();
    let cfg = CoreDnsConfig { cache: None, ..config() };
    let server = CoreDns { config: &cfg, view: &view };
    let q = Message::query(1, Name::parse("dns-version.cluster.local").unwrap(), RecordType::Txt);
    assert_eq!(lines(&server.answer(&q).answers), ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\""]);
    let q = Message::query(1, Name::parse("google.com").unwrap(), RecordType::A);
    assert_eq!(lines(&server.answer(&q).answers), ["google.com. 300 IN A 142.250.74.14"]);
    assert!(!cfg.corefile().contains("cache"));
}

#[test]
fn cached_answers_count_down_and_outlive_the_service() {
    use sim_core::{SimDuration, SimTime};
    use sim_k8s::dns::coredns::cache::DnsCache;
    let mut view = cluster();
    let cfg = config();
    let mut cache = DnsCache::new();
    let mut rng = sim_core::SimRng::new(1).fork("coredns");
    let t0 = SimTime::ZERO + SimDuration::from_secs(1000);
    let q =
        Message::query(5, Name::parse("my-nginx.default.svc.cluster.local").unwrap(), RecordType::A).encode();
    let ask_at = |view: &ClusterDnsView, cache: &mut DnsCache, rng: &mut sim_core::SimRng, t: SimTime| {
        let server = CoreDns { config: &cfg, view };
        Message::decode(&server.serve(&q, Transport::Udp, rng, cache, t).unwrap()).unwrap()
    };
    let first = ask_at(&view, &mut cache, &mut rng, t0);
    assert_eq!(lines(&first.answers), ["my-nginx.default.svc.cluster.local. 30 IN A 10.105.0.20"]);
    // The Service is deleted; for the rest of the 30 s the old answer is still served.
    view.services.retain(|s| s.name != "my-nginx");
    let later = ask_at(&view, &mut cache, &mut rng, t0 + SimDuration::from_secs(12));
    assert_eq!(lines(&later.answers), ["my-nginx.default.svc.cluster.local. 18 IN A 10.105.0.20"]);
    let expired = ask_at(&view, &mut cache, &mut rng, t0 + SimDuration::from_secs(30));
    assert_eq!(expired.header.rcode, Rcode::NxDomain);
}

#[test]
fn coredns_nxdomain_nodata_and_forwarding() {
    check(coredns_cases());
}

// ---------------------------------------------------------------------------------------------
// Resolver: search-list expansion and end-to-end lookups through CoreDNS.

fn pod_conf(namespace: &str) -> ResolvConf {
    pod_resolv_conf(&KubeletDns::default(), namespace, DnsPolicy::ClusterFirst, false, None).unwrap()
}

#[test]
fn expansion_for_zero_to_five_dots_and_trailing_dot() {
    let conf = pod_conf("default");
    let s = |n: &str| -> Vec<String> {
        ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
            .iter()
            .map(|d| format!("{n}.{d}"))
            .collect()
    };
    let search_then_as_is = |n: &str| {
        let mut v = s(n);
        v.push(n.to_string());
        v
    };
    let as_is_then_search = |n: &str| {
        let mut v = vec![n.to_string()];
        v.extend(s(n));
        v
    };
    // (name, glibc, musl) with ndots:5.
    let table: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        ("web", search_then_as_is("web"), search_then_as_is("web")),
        ("web.default", search_then_as_is("web.default"), search_then_as_is("web.default")),
        ("web.default.svc", search_then_as_is("web.default.svc"), search_then_as_is("web.default.svc")),
        ("google.co.uk", search_then_as_is("google.co.uk"), search_then_as_is("google.co.uk")),
        (
            "a.web.default.svc.cluster",
            search_then_as_is("a.web.default.svc.cluster"),
            search_then_as_is("a.web.default.svc.cluster"),
        ),
        // 5 dots = ndots: glibc tries the name first, then still searches; musl never searches.
        (
            "kafka-0.kafka-headless.kafka.svc.cluster.local",
            as_is_then_search("kafka-0.kafka-headless.kafka.svc.cluster.local"),
            vec!["kafka-0.kafka-headless.kafka.svc.cluster.local".to_string()],
        ),
        ("web.", vec!["web".to_string()], vec!["web".to_string()]),
        ("google.com.", vec!["google.com".to_string()], vec!["google.com".to_string()]),
    ];
    for (name, glibc, musl) in table {
        let got = |f| -> Vec<String> {
            search_candidates(f, &conf, name).unwrap().iter().map(Name::to_relative_string).collect()
        };
        assert_eq!(got(ResolverFlavour::Glibc), glibc, "glibc {name}");
        assert_eq!(got(ResolverFlavour::Musl), musl, "musl {name}");
    }
    // With the libc default ndots:1, one dot is enough to go absolute first.
    let host = ResolvConf {
        nameservers: vec![ip("10.0.0.2")],
        searches: vec!["ec2.internal".into()],
        options: vec![ResolvOption::new("ndots", Some("1"))],
    };
    let g = search_candidates(ResolverFlavour::Glibc, &host, "google.com").unwrap();
    assert_eq!(
        g.iter().map(Name::to_relative_string).collect::<Vec<_>>(),
        ["google.com", "google.com.ec2.internal"]
    );
    let m = search_candidates(ResolverFlavour::Musl, &host, "google.com").unwrap();
    assert_eq!(m.iter().map(Name::to_relative_string).collect::<Vec<_>>(), ["google.com"]);
}

fn lookup(flavour: ResolverFlavour, namespace: &str, name: &str, family: AddressFamily) -> LookupResult {
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let conf = pod_conf(namespace);
    StubResolver::new(flavour, &conf, name, family, 0x1000).run(|q| {
        assert_eq!(q.server, ip("10.96.0.10"));
        let bytes = match q.transport {
            Transport::Udp => server.answer_bytes(&q.message.encode()),
            Transport::Tcp => server.answer_bytes_tcp(&q.message.encode()),
        };
        match bytes {
            Ok(bytes) => QueryOutcome::Response(Message::decode(&bytes).unwrap()),
            Err(_) => QueryOutcome::Timeout,
        }
    })
}

#[test]
fn the_queries_an_external_name_costs() {
    let r = lookup(ResolverFlavour::Glibc, "default", "google.com", AddressFamily::Unspec);
    assert_eq!(r.status, LookupStatus::Found);
    assert_eq!(r.queries_sent(), 8, "3 search domains + the name itself, A and AAAA each");
    assert_eq!(r.addresses, vec![ip("142.250.74.14"), ip("2a00:1450:4001:82a::200e")]);
    insta::assert_snapshot!("glibc_google_com_transcript", tools::transcript(&r));
    // With a trailing dot the name is absolute: two queries.
    let r = lookup(ResolverFlavour::Glibc, "default", "google.com.", AddressFamily::Unspec);
    assert_eq!(r.queries_sent(), 2);
}

#[test]
fn a_node_search_domain_adds_two_more_queries() {
    // The blog case: the node's resolv.conf has `search lan`, the kubelet appends it.
    let kubelet = KubeletDns {
        host: ResolvConf::parse("nameserver 192.168.1.1\nsearch lan\n").unwrap(),
        ..KubeletDns::default()
    };
    let conf = pod_resolv_conf(&kubelet, "default", DnsPolicy::ClusterFirst, false, None).unwrap();
    assert_eq!(
        conf.render(),
        "search default.svc.cluster.local svc.cluster.local cluster.local lan\nnameserver 10.96.0.10\noptions ndots:5\n"
    );
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let r = StubResolver::new(ResolverFlavour::Glibc, &conf, "google.com", AddressFamily::Unspec, 0x3000)
        .run(|q| {
            QueryOutcome::Response(
                Message::decode(&server.answer_bytes(&q.message.encode()).unwrap()).unwrap(),
            )
        });
    assert_eq!(r.queries_sent(), 10);
    assert_eq!(r.addresses[0], ip("142.250.74.14"));
}

#[test]
fn short_names_from_the_article_namespaces() {
    // Article 002: auth-service, auth-service.test, auth-service.test.svc.cluster.local from `test`.
    for name in ["auth-service", "auth-service.test", "auth-service.test.svc.cluster.local"] {
        for f in [ResolverFlavour::Glibc, ResolverFlavour::Musl] {
            let r = lookup(f, "test", name, AddressFamily::Inet);
            assert_eq!(r.addresses, vec![ip("10.100.0.80")], "{f:?} {name}");
        }
    }
    // kafka-1.kafka-headless from the kafka namespace.
    let r = lookup(ResolverFlavour::Musl, "kafka", "kafka-1.kafka-headless", AddressFamily::Inet);
    assert_eq!(r.addresses, vec![ip("172.17.0.5")]);
    assert_eq!(
        r.canonical_name.unwrap().to_relative_string(),
        "kafka-1.kafka-headless.kafka.svc.cluster.local"
    );
}

#[test]
fn nodata_stops_musl_but_not_glibc() {
    // From namespace `test`, the name `default` expands to default.svc.cluster.local first
    // answerable as NODATA (the namespace exists, there is no record).
    let musl = lookup(ResolverFlavour::Musl, "test", "default", AddressFamily::Unspec);
    let glibc = lookup(ResolverFlavour::Glibc, "test", "default", AddressFamily::Unspec);
    assert_eq!(musl.status, LookupStatus::NoData);
    assert_eq!(musl.queries_sent(), 4, "musl stops at the NODATA candidate");
    assert_eq!(glibc.status, LookupStatus::NoData);
    assert_eq!(glibc.queries_sent(), 8, "glibc remembers NODATA and keeps searching");
}

#[test]
fn not_found_is_reported_after_the_whole_list() {
    let r = lookup(ResolverFlavour::Glibc, "default", "nosuch", AddressFamily::Inet);
    assert_eq!(r.status, LookupStatus::NotFound);
    assert_eq!(r.queries_sent(), 4);
}

// ---------------------------------------------------------------------------------------------
// Tools: the articles' sessions.

fn nslookup(namespace: &str, name: &str) -> String {
    let r = lookup(ResolverFlavour::Bind9, namespace, name, AddressFamily::Unspec);
    tools::nslookup_bind9(ip("10.96.0.10"), &r)
}

#[test]
fn article_001_nslookup_kubernetes() {
    let out = nslookup("default", "kubernetes");
    assert_eq!(
        out,
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n"
    );
    insta::assert_snapshot!("nslookup_kubernetes", out);
}

#[test]
fn article_001_nslookup_client_svc() {
    let out = nslookup("default", "client-svc");
    assert_eq!(
        out,
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n\
         client-svc.default.svc.cluster.local\tcanonical name = nginx-svc.nginx-ns.svc.cluster.local.\n\
         Name:\tnginx-svc.nginx-ns.svc.cluster.local\nAddress: 10.104.157.106\n\n"
    );
    insta::assert_snapshot!("nslookup_client_svc", out);
}

#[test]
fn article_002_nslookup_headless_kafka() {
    let out = nslookup("default", "kafka-headless.kafka.svc.cluster.local");
    insta::assert_snapshot!("nslookup_kafka_headless", out);
    assert!(out.contains("Name:\tkafka-headless.kafka.svc.cluster.local\nAddress: 172.17.0.6\n"));
}

#[test]
fn nslookup_failures_and_forwarded_names() {
    insta::assert_snapshot!("nslookup_nxdomain", nslookup("default", "nosuch"));
    insta::assert_snapshot!("nslookup_external", nslookup("default", "google.com"));
}

fn dig_run(args: &str) -> DigRun {
    DigRun {
        version: "9.18.24".into(),
        args: args.into(),
        server: ip("10.96.0.10"),
        query_time_ms: 0,
        when: "Wed Oct 07 19:04:04 UTC 2026".into(),
        tcp: false,
    }
}

fn dig(name: Name, qtype: RecordType, args: &str, style: DigStyle) -> String {
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let q = tools::dig_query(name, qtype, 58969, [0x3b, 0xe3, 0xa2, 0xdb, 0x16, 0x2c, 0x82, 0x32]);
    tools::dig(&dig_run(args), &server.answer_bytes(&q.encode()).unwrap(), style)
}

#[test]
fn dig_reproduces_the_formats_capture() {
    let mut view = cluster();
    view.services.push(DnsService::cluster_ip("default", "web-clusterip", ip("10.102.13.85")).with_port(
        "",
        Protocol::Tcp,
        80,
    ));
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let q = tools::dig_query(
        Name::parse("web-clusterip.default.svc.cluster.local").unwrap(),
        RecordType::A,
        58969,
        [0x3b, 0xe3, 0xa2, 0xdb, 0x16, 0x2c, 0x82, 0x32],
    );
    let wire = server.answer_bytes(&q.encode()).unwrap();
    let out = tools::dig(&dig_run("web-clusterip.default.svc.cluster.local"), &wire, DigStyle::Full);
    // formats.md §1.11, verbatim [real, dig 9.18.24] (that capture has tabs turned to spaces).
    let real = "
; <<>> DiG 9.18.24 <<>> web-clusterip.default.svc.cluster.local
;; global options: +cmd
;; Got answer:
;; WARNING: .local is reserved for Multicast DNS
;; You are currently testing what happens when an mDNS query is leaked to DNS
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 58969
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; COOKIE: 3be3a2db162c8232 (echoed)
;; QUESTION SECTION:
;web-clusterip.default.svc.cluster.local. IN A

;; ANSWER SECTION:
web-clusterip.default.svc.cluster.local. 30 IN A 10.102.13.85

;; Query time: 0 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
;; WHEN: Wed Oct 07 19:04:04 UTC 2026
;; MSG SIZE  rcvd: 135

";
    assert_eq!(out.replace('\t', " "), real);
    insta::assert_snapshot!("dig_web_clusterip", out);
}

#[test]
fn dig_srv_headless_kafka_and_variants() {
    let srv = Name::parse("kafka-headless.kafka.svc.cluster.local").unwrap();
    insta::assert_snapshot!(
        "dig_srv_kafka_headless",
        dig(srv.clone(), RecordType::Srv, "SRV kafka-headless.kafka.svc.cluster.local", DigStyle::Full)
    );
    insta::assert_snapshot!(
        "dig_short_kafka_headless",
        dig(srv, RecordType::A, "+short kafka-headless.kafka.svc.cluster.local", DigStyle::Short)
    );
    insta::assert_snapshot!(
        "dig_x_kubernetes",
        dig(reverse_name(ip("10.96.0.1")), RecordType::Ptr, "-x 10.96.0.1", DigStyle::Full)
    );
    insta::assert_snapshot!(
        "dig_nxdomain",
        dig(
            Name::parse("nosuch.default.svc.cluster.local").unwrap(),
            RecordType::A,
            "nosuch.default.svc.cluster.local",
            DigStyle::Full
        )
    );
    insta::assert_snapshot!(
        "dig_noall_answer_client_svc",
        dig(
            Name::parse("client-svc.default.svc.cluster.local").unwrap(),
            RecordType::A,
            "+noall +answer client-svc.default.svc.cluster.local",
            DigStyle::AnswerOnly
        )
    );
    insta::assert_snapshot!(
        "dig_external",
        dig(Name::parse("google.com").unwrap(), RecordType::A, "google.com", DigStyle::Full)
    );
}

#[test]
fn getent_and_busybox() {
    let r = lookup(ResolverFlavour::Glibc, "default", "kubernetes", AddressFamily::Inet);
    assert_eq!(tools::getent_hosts(&r), "10.96.0.1       kubernetes.default.svc.cluster.local\n");
    let r = lookup(ResolverFlavour::Glibc, "default", "client-svc", AddressFamily::Inet);
    assert_eq!(
        tools::getent_hosts(&r),
        "10.104.157.106  nginx-svc.nginx-ns.svc.cluster.local client-svc.default.svc.cluster.local\n"
    );
    let r = lookup(ResolverFlavour::Glibc, "default", "nosuch", AddressFamily::Inet);
    assert_eq!(tools::getent_hosts(&r), "");
    let kube_dns = Name::parse("kube-dns.kube-system.svc.cluster.local").unwrap();
    let k = Name::parse("kubernetes.default.svc.cluster.local").unwrap();
    let (out, _, _) = busybox_nslookup::legacy_output(
        ip("10.96.0.10"),
        Some(&kube_dns),
        "kubernetes.default",
        Some(&[(ip("10.96.0.1"), Some(k))]),
    );
    insta::assert_snapshot!("busybox_nslookup_kubernetes_default", out);
    assert_eq!(
        busybox_nslookup::legacy_output(ip("10.96.0.10"), Some(&kube_dns), "nosuch", None),
        (
            "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\n"
                .to_string(),
            "nslookup: can't resolve 'nosuch'\n".to_string(),
            1
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Invariant: any Service resolves by its short name from any pod of its namespace.

fn dns_label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,12}[a-z0-9])?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn short_name_resolves_to_cluster_ip(
        name in dns_label(),
        namespace in dns_label(),
        octets in (0u8..16, any::<u8>(), 1u8..255),
        musl in any::<bool>(),
    ) {
        let cluster_ip = IpAddr::from([10, 96 + octets.0, octets.1, octets.2]);
        let mut view = cluster();
        view.services.retain(|s| !(s.namespace == namespace && s.name == name));
        view.services.push(DnsService::cluster_ip(&namespace, &name, cluster_ip).with_port("", Protocol::Tcp, 80));
        let cfg = config();
        let server = CoreDns { config: &cfg, view: &view };
        let flavour = if musl { ResolverFlavour::Musl } else { ResolverFlavour::Glibc };
        let result = StubResolver::new(flavour, &pod_conf(&namespace), &name, AddressFamily::Unspec, 1).run(|q| {
            server
                .answer_bytes(&q.message.encode())
                .ok()
                .and_then(|b| Message::decode(&b).ok())
                .map_or(QueryOutcome::Timeout, QueryOutcome::Response)
        });
        // Answered by the first search domain: one A and one AAAA query.
        prop_assert_eq!(result.queries_sent(), 2);
        prop_assert_eq!(result.status, LookupStatus::Found);
        prop_assert_eq!(&result.addresses, &vec![cluster_ip]);
        let expected = format!("{name}.{namespace}.svc.cluster.local");
        prop_assert_eq!(result.canonical_name.map(|n| n.to_relative_string()), Some(expected));
    }
}

#[test]
fn rdata_of_every_answer_survives_the_wire() {
    for c in spec_cases().into_iter().chain(coredns_cases()) {
        let m = ask(c.qname, c.qtype);
        assert_eq!(Message::decode(&m.encode_compressed()).unwrap(), m);
        assert!(m.answers.iter().all(|r| !matches!(r.data, RData::Unknown { .. })));
    }
}

#[test]
fn nslookup_cname_to_outside_and_nodata() {
    // Article 004's ExternalName: CNAME answered with the upstream A, relayed authoritative.
    insta::assert_snapshot!("nslookup_ext_db", nslookup("default", "ext-db"));
    // `default` stops the search at default.svc.cluster.local (NODATA): no answer either way.
    insta::assert_snapshot!("nslookup_nodata", nslookup("default", "default"));
}

#[test]
fn big_headless_answers_are_truncated_without_edns() {
    let mut view = cluster();
    let mut svc = DnsService::headless("default", "big").with_port("http", Protocol::Tcp, 80);
    for i in 0..60u8 {
        svc = svc.with_endpoint(IpAddr::from([10, 244, 9, i]), None, true);
    }
    view.services.push(svc);
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let name = Name::parse("big.default.svc.cluster.local").unwrap();
    // A libc query: no EDNS, so 512 bytes at most; compression is tried first, then records go.
    let wire = server.answer_bytes(&Message::query(1, name.clone(), RecordType::A).encode()).unwrap();
    assert!(wire.len() <= 512);
    let m = Message::decode(&wire).unwrap();
    assert!(m.header.flags.tc);
    assert!(!m.answers.is_empty() && m.answers.len() < 60);
    // dig's EDNS buffer of 1232 holds all 60 compressed.
    let q = tools::dig_query(name, RecordType::A, 2, [0; 8]);
    let m = Message::decode(&server.answer_bytes(&q.encode()).unwrap()).unwrap();
    assert!(!m.header.flags.tc);
    assert_eq!(m.answers.len(), 60);
}

#[test]
fn truncated_answers_are_retried_over_tcp() {
    let mut view = cluster();
    let mut svc = DnsService::headless("default", "big").with_port("http", Protocol::Tcp, 80);
    for i in 0..60u8 {
        svc = svc.with_endpoint(IpAddr::from([10, 244, 9, i]), None, true);
    }
    view.services.push(svc);
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let r = StubResolver::new(ResolverFlavour::Glibc, &pod_conf("default"), "big", AddressFamily::Inet, 9)
        .run(|q| {
            let bytes = match q.transport {
                Transport::Udp => server.answer_bytes(&q.message.encode()),
                Transport::Tcp => server.answer_bytes_tcp(&q.message.encode()),
            };
            QueryOutcome::Response(Message::decode(&bytes.unwrap()).unwrap())
        });
    assert_eq!(r.status, LookupStatus::Found);
    assert_eq!(r.addresses.len(), 60);
    let transports: Vec<Transport> = r.transcript.iter().map(|e| e.query.transport).collect();
    assert_eq!(transports, [Transport::Udp, Transport::Tcp]);
    assert_eq!(r.transcript[0].query.message.header.id, r.transcript[1].query.message.header.id);
}

#[test]
fn malformed_queries_get_formerr_or_nothing() {
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    assert_eq!(server.answer_bytes(&[1, 2, 3]), Err(sim_k8s::dns::ServerDrop::TooShort(3)));
    let mut q =
        Message::query(0xbeef, Name::parse("kubernetes.default.svc.cluster.local").unwrap(), RecordType::A)
            .encode();
    q.truncate(20);
    let reply = Message::decode(&server.answer_bytes(&q).unwrap()).unwrap();
    assert_eq!((reply.header.id, reply.header.rcode, reply.header.flags.qr), (0xbeef, Rcode::FormErr, true));
    let mut resp = Message::query(1, Name::parse("a").unwrap(), RecordType::A);
    resp.header.flags.qr = true;
    assert_eq!(server.answer_bytes(&resp.encode()), Err(sim_k8s::dns::ServerDrop::NotAQuery));
}

#[test]
fn loadbalance_shuffles_deterministically_from_the_seed() {
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let q = Message::query(3, Name::parse("kafka-headless.kafka.svc.cluster.local").unwrap(), RecordType::A)
        .encode();
    let order = |seed: u64| -> Vec<Vec<String>> {
        let mut rng = sim_core::SimRng::new(seed).fork("coredns");
        (0..8)
            .map(|_| {
                let b = server.answer_bytes_with_rng(&q, Transport::Udp, &mut rng).unwrap();
                Message::decode(&b).unwrap().answers.iter().map(|r| r.data.to_string()).collect()
            })
            .collect()
    };
    let a = order(42);
    assert_eq!(a, order(42));
    for answer in &a {
        let mut sorted = answer.clone();
        sorted.sort();
        assert_eq!(sorted, ["172.17.0.4", "172.17.0.5", "172.17.0.6"]);
    }
    assert!(a.iter().any(|o| o != &a[0]), "eight answers all in the same order");
}

fn run_nslookup(namespace: &str, args: &[&str]) -> String {
    let cmd = sim_k8s::dns::command::NslookupCommand::parse(args).unwrap();
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let r = cmd.resolver(&pod_conf(namespace), 0x2000).run(|q| {
        QueryOutcome::Response(Message::decode(&server.answer_bytes(&q.message.encode()).unwrap()).unwrap())
    });
    match cmd.qtype {
        None => tools::nslookup_bind9(ip("10.96.0.10"), &r),
        Some(_) => tools::nslookup_bind9_typed(ip("10.96.0.10"), cmd.prints_server_header(), &r),
    }
}

#[test]
fn nslookup_reverse_and_typed_lookups() {
    assert_eq!(
        run_nslookup("default", &["10.96.0.10"]),
        "10.0.96.10.in-addr.arpa\tname = kube-dns.kube-system.svc.cluster.local.\n\n"
    );
    insta::assert_snapshot!(
        "nslookup_type_srv_kafka",
        run_nslookup("default", &["-type=srv", "kafka-headless.kafka"])
    );
    insta::assert_snapshot!(
        "nslookup_type_txt_external",
        run_nslookup("default", &["-type=txt", "google.com"])
    );
}

#[test]
fn dig_command_lines_drive_the_same_output() {
    let cmd = sim_k8s::dns::command::DigCommand::parse(&["-x", "10.96.0.1"]).unwrap();
    let view = cluster();
    let cfg = config();
    let server = CoreDns { config: &cfg, view: &view };
    let q = cmd.query(58969, [0x3b, 0xe3, 0xa2, 0xdb, 0x16, 0x2c, 0x82, 0x32]).unwrap();
    let out = tools::dig(&dig_run(&cmd.args), &server.answer_bytes(&q.encode()).unwrap(), cmd.style);
    assert_eq!(out, dig(reverse_name(ip("10.96.0.1")), RecordType::Ptr, "-x 10.96.0.1", DigStyle::Full));
    // dig does not search: a short name goes out as-is and the upstream says NXDOMAIN.
    let cmd = sim_k8s::dns::command::DigCommand::parse(&["+short", "kubernetes"]).unwrap();
    let r = cmd.resolver(&pod_conf("default"), 1).run(|q| {
        QueryOutcome::Response(Message::decode(&server.answer_bytes(&q.message.encode()).unwrap()).unwrap())
    });
    assert_eq!(r.queries_sent(), 1);
    assert_eq!(r.status, LookupStatus::NotFound);
    let cmd = sim_k8s::dns::command::DigCommand::parse(&["+search", "+short", "kubernetes"]).unwrap();
    let r = cmd.resolver(&pod_conf("default"), 1).run(|q| {
        QueryOutcome::Response(Message::decode(&server.answer_bytes(&q.message.encode()).unwrap()).unwrap())
    });
    assert_eq!(r.addresses, vec![ip("10.96.0.1")]);
}
