//! The fuzz targets' properties (fuzz/README.md) on stable Rust, as a short proptest run in CI:
//! the project's own files as seeds, mutated (bytes flipped, cut, spliced, duplicated), fed to
//! the manifest loader, iptables-restore, `nft -f`, the Corefile, the scenario parser and the DNS
//! codec. None may panic; what parses must round-trip (restore → save → restore → save is a
//! fixed point; `nft list ruleset` reloads to itself; a printed Corefile parses to the same
//! configuration; a decoded DNS message re-encodes and decodes to the same message).

use proptest::prelude::*;
use sim_net::netfilter::Netfilter;
use sim_net::netfilter::save::SaveOptions;
use sim_net::nftables::Nftables;

fn seeds(paths: &[&str]) -> Vec<Vec<u8>> {
    paths
        .iter()
        .filter_map(|p| std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + p).ok())
        .collect()
}

/// A seed, mutated: some bytes replaced, a cut, a splice of another slice of itself.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    (
        0..n,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(move |(i, flips, cut, splice, dup)| {
            let mut b = seeds.get(i).cloned().unwrap_or_default();
            if b.is_empty() {
                return b;
            }
            for (at, v) in flips {
                let k = at.index(b.len());
                b[k] = v;
            }
            let c = cut.index(b.len() + 1);
            if dup {
                let s = splice.index(b.len());
                let tail = b[s..].to_vec();
                b.truncate(c);
                b.extend_from_slice(&tail);
            } else {
                b.truncate(c.max(b.len() / 2));
            }
            b
        })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn manifest_loader_never_panics(b in mutated(seeds(&["scenarios/manifests/my-nginx.yaml", "scenarios/labs/001-layer4-proxy/service_nodeport.yaml", "tests/data/bad-scenarios/bad-manifest.yaml"]))) {
        let _ = sim_k8s::manifest::load_str("fuzz.yaml", &text(&b));
    }

    #[test]
    fn scenario_parser_never_panics(b in mutated(seeds(&["scenarios/quickstart.yaml", "tests/data/bad-scenarios/several-mistakes.yaml", "tests/data/ux/pipes.yaml"]))) {
        let _ = netsim::scenario::Scenario::parse(std::path::Path::new("fuzz.yaml"), text(&b));
    }

    #[test]
    fn iptables_restore_round_trips(b in mutated(seeds(&["tests/data/kube-dns.rules"]))) {
        let mut nf = Netfilter::new();
        let opts = SaveOptions { counters: false, timestamp: None };
        if nf.restore(&text(&b), false).is_ok() {
            let saved = nf.save(&opts);
            let mut again = Netfilter::new();
            prop_assert!(again.restore(&saved, false).is_ok(), "saved text does not restore:\n{saved}");
            prop_assert_eq!(again.save(&opts), saved);
        }
    }

    #[test]
    fn nft_file_round_trips(b in mutated(seeds(&["sim-net/tests/data/nft/kube-proxy.nft", "sim-net/tests/data/nft/constructs.nft", "sim-net/tests/data/nft/elements.nft"]))) {
        let mut nft = Nftables::new();
        if nft.apply(&text(&b)).is_ok() {
            let listed = nft.list_ruleset();
            let mut again = Nftables::new();
            prop_assert!(again.apply(&listed).is_ok(), "listed ruleset does not reload:\n{listed}");
            prop_assert_eq!(again.list_ruleset(), listed);
        }
    }

    #[test]
    fn corefile_round_trips(b in mutated(seeds(&["tests/data/corefiles/kubeadm.Corefile", "tests/data/corefiles/namespaces-default.Corefile", "tests/data/corefiles/snippets-and-zones.Corefile"]))) {
        use sim_k8s::dns::corefile::Corefile;
        let env = std::collections::BTreeMap::new();
        if let Ok(parsed) = Corefile::parse("Corefile", &text(&b), &env) {
            let _ = sim_k8s::dns::corefile::setup::setup(&parsed, &sim_k8s::dns::CoreDnsConfig::default());
            let printed = parsed.to_string();
            let again = Corefile::parse("Corefile", &printed, &env);
            prop_assert!(again.is_ok(), "printed Corefile does not parse:\n{}", printed);
            if let Ok(again) = again {
                prop_assert_eq!(again.without_lines(), parsed.without_lines());
            }
        }
    }

    #[test]
    fn dns_codec_round_trips(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        use sim_k8s::dns::message::Message;
        if let Ok(m) = Message::decode(&b) {
            let again = Message::decode(&m.encode());
            prop_assert_eq!(again.as_ref().ok(), Some(&m));
        }
    }
}

#[test]
fn dns_codec_round_trips_a_real_query() {
    use sim_k8s::dns::message::Message;
    // A query for my-nginx.default.svc.cluster.local A, as the resolver sends it.
    let Ok(name) = sim_k8s::dns::name::Name::parse("my-nginx.default.svc.cluster.local") else {
        panic!("a valid name");
    };
    let q = Message::query(0x1234, name, sim_k8s::dns::message::RecordType::A);
    let bytes = q.encode();
    assert_eq!(Message::decode(&bytes).ok(), Some(q));
}
