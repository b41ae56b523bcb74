//! A whole cluster from ordinary manifests, as `netsim kubectl -f` and `netsim trace` load it:
//! parse, apply, run the controllers until the cluster settles (Deployments → ReplicaSets →
//! pods scheduled, started and ready → EndpointSlices), then the first traced connection from a
//! pod to a service. The manifests come from `netsim generate` (`sim_k8s::synth`), so anyone can
//! rerun the same sizes by hand:
//!
//! ```sh
//! cargo run --release -- generate --nodes 100 --services 1000 --pods 10000 -o /tmp/c.yaml
//! /usr/bin/time -v target/release/netsim trace -f /tmp/c.yaml --from pod/ns-000/svc-00000 --to 10.96.0.10:53 --proto udp
//! ```
//!
//! Targets (issue 9): 10 nodes / 1,000 pods ≤ 0.3 s; 1,000 / 100,000 ≤ 5 s; the envelope
//! (5,000 / 150,000 pods / 10,000 services) ≤ 10 s and 8 GB. Cost should grow linearly: the
//! group runs three sizes a factor of ~3 apart. Results: docs/performance.md.

use std::hint::black_box;
use std::io::Write;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use netsim::cli::cluster_args::{Built, ClusterArgs, build};
use sim_k8s::api::Kind;
use sim_k8s::cluster::Target;
use sim_k8s::synth::{Shape, SynthSpec, manifests};

/// The binary's allocator (src/main.rs), so the bench measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A generated manifest file (the CLI's loader reads files, as users give them), removed when
/// the bench is done with it.
struct ManifestFile(std::path::PathBuf);

impl ManifestFile {
    fn write(spec: &SynthSpec) -> Self {
        let path = std::env::temp_dir().join(format!(
            "netsim-bench-{}-{}-{}-{:?}.yaml",
            spec.nodes, spec.services, spec.pods, spec.shape
        ));
        let mut f = std::fs::File::create(&path).expect("bench: create temp file");
        f.write_all(manifests(spec).as_bytes()).expect("bench: write temp file");
        ManifestFile(path)
    }
}

impl Drop for ManifestFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn args(path: &std::path::Path) -> ClusterArgs {
    ClusterArgs {
        files: vec![path.display().to_string()],
        cluster: None,
        service_cidr: None,
        cluster_cidr: None,
        node_port_range: None,
        proxy_mode: None,
        seed: 1,
        max_objects: sim_k8s::manifest::budget::DEFAULT_MAX_OBJECTS,
    }
}

/// Load, settle, and trace one connection from the first service's first pod to the last
/// service's ClusterIP (the node's rules are generated and restored on that first packet).
fn load_and_trace(path: &std::path::Path) -> Built {
    let Ok(mut built) = build(&args(path)) else { panic!("bench: the generated manifests must load") };
    let cluster = &mut built.cluster;
    let w = cluster.world();
    let pod = w.api.list_in(Kind::Pod, "ns-000").next().map(|o| o.name().to_string());
    let vip = w.api.services().filter_map(|s| s.spec.cluster_ip.ip()).map(|ip| ip.to_string()).last();
    if let (Some(pod), Some(vip)) = (pod, vip) {
        let from = Target::Pod { namespace: "ns-000".into(), name: pod };
        let out = cluster.trace(&from, &vip, 80, sim_net::network::ConvProto::Tcp);
        black_box(out);
    }
    built
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    let sizes = [(10, 100, 1_000), (30, 300, 3_000), (100, 1_000, 10_000)];
    for (nodes, services, pods) in sizes {
        let file = ManifestFile::write(&SynthSpec { nodes, services, pods, shape: Shape::Deployments });
        g.bench_with_input(BenchmarkId::new("deployments_load_settle_trace", pods), &file.0, |b, p| {
            b.iter_with_large_drop(|| load_and_trace(p))
        });
    }
    let file = ManifestFile::write(&SynthSpec { nodes: 10, services: 100, pods: 1_000, shape: Shape::Dump });
    g.bench_with_input(BenchmarkId::new("dump_load_settle_trace", 1_000), &file.0, |b, p| {
        b.iter_with_large_drop(|| load_and_trace(p))
    });
    let file = ManifestFile::write(&SynthSpec {
        nodes: 50,
        services: 1_000,
        pods: 10_000,
        shape: Shape::EndpointSlices,
    });
    g.bench_with_input(BenchmarkId::new("endpointslices_load_settle", 10_000), &file.0, |b, p| {
        b.iter_with_large_drop(|| build(&args(p)).ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
