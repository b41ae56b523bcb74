//! Property tests: the loader never panics on arbitrary text, Go durations round-trip through
//! their text form, and the allocators never hand out a ClusterIP or node port twice.

use std::collections::BTreeSet;

use proptest::prelude::*;
use sim_core::SimRng;
use sim_k8s::api::duration::GoDuration;
use sim_k8s::api::{Kind, Object};
use sim_k8s::apiserver::{ApiServer, ApiServerConfig};
use sim_k8s::manifest::load_str;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_yaml_like_text(text in "[a-zA-Z0-9:\\-\\[\\]{}&*!|>'\" \n\t#,.]{0,300}") {
        let out = load_str("fuzz.yaml", &text);
        // Every error has a file name; every object came from a parsed document.
        prop_assert!(out.errors.iter().all(|e| e.file == "fuzz.yaml"));
    }

    #[test]
    fn loader_never_panics_on_mutated_service(
        cut in 0usize..200,
        insert in "[a-z:\\-\\[{ \n]{0,8}",
    ) {
        let base = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    targetPort: http\n    nodePort: 30080\n  selector:\n    app: web\n";
        let at = base.char_indices().map(|(i, _)| i).nth(cut % base.len()).unwrap_or(0);
        let text = format!("{}{}{}", &base[..at], insert, &base[at..]);
        let out = load_str("m.yaml", &text);
        let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
        for r in server.create_loaded(&out.objects) {
            let _ = r.kubectl_line();
        }
    }

    #[test]
    fn go_durations_round_trip(nanos in -1_000_000_000_000_000i64..1_000_000_000_000_000i64) {
        let d = GoDuration::from_nanos(nanos);
        prop_assert_eq!(GoDuration::parse(&d.to_string()).ok(), Some(d));
    }

    #[test]
    fn allocations_are_unique_and_in_range(seed in any::<u64>(), n in 1usize..40, delete_every in 2usize..5) {
        let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(seed));
        for i in 0..n {
            let y = format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n");
            let out = load_str("s.yaml", &y);
            for l in out.objects {
                prop_assert!(server.create(l.value).is_ok());
            }
            if i % delete_every == 0 {
                let name = format!("s{i}");
                let deleted = server.delete(Kind::Service, "default", &name).is_ok();
                prop_assert!(deleted);
            }
        }
        let mut ips = BTreeSet::new();
        let mut ports = BTreeSet::new();
        for o in server.list(Kind::Service) {
            if let Object::Service(s) = o {
                let ip = s.spec.cluster_ip.ip();
                prop_assert!(ip.is_some());
                prop_assert!(ips.insert(ip));
                let np = s.spec.ports[0].node_port.unwrap_or(0);
                prop_assert!((30000..=32767).contains(&np));
                prop_assert!(ports.insert(np));
            }
        }
    }

    /// A change's object read through the slot it recorded is the keyed read, whatever came
    /// between: updates, deletions, re-creations under the same name, slots reused by others.
    #[test]
    fn a_change_read_through_its_slot_is_the_keyed_read(
        ops in proptest::collection::vec((0u8..3, 0usize..6), 1..60),
        read_every in 1usize..8,
    ) {
        let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
        let mut seen = 0;
        for (i, (op, n)) in ops.into_iter().enumerate() {
            let name = format!("c{n}");
            match op {
                0 | 1 => {
                    let y = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v{i}\n");
                    for l in load_str("c.yaml", &y).objects {
                        if op == 0 {
                            let _ = server.create(l.value);
                        } else {
                            let _ = server.apply(l.value);
                        }
                    }
                }
                _ => {
                    let _ = server.delete(Kind::ConfigMap, "default", &name);
                }
            }
            if i % read_every == 0 {
                for ch in server.changes_since(seen) {
                    prop_assert_eq!(server.get_changed(ch), server.get(&ch.key));
                }
                seen = server.last_seq();
            }
        }
        for ch in server.changes_since(0) {
            prop_assert_eq!(server.get_changed(ch), server.get(&ch.key));
        }
    }
}
