//! Simulated time must be cheap (issue 13): a 60-second, 100-requests-per-second traffic step
//! (6,000 new TCP connections, each walked through every hop and rule) through a rolling update
//! of 10 nginx pods, run as `netsim run` runs a scenario: build the cluster, apply, settle, run
//! the steps, count the outcomes. Target: well under one second of wall time. Results:
//! docs/performance.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use netsim::runner;
use netsim::scenario::Scenario;

const SCENARIO: &str = r#"
name: churn-bench
seed: 13
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 10
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            containers:
            - name: nginx
              image: nginx
              ports:
              - containerPort: 80
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: web
      spec:
        ports:
        - port: 80
        selector:
          app: web
      ---
      apiVersion: v1
      kind: Pod
      metadata:
        name: client
      spec:
        containers:
        - name: client
          image: busybox
steps:
  - traffic: {name: load, from: pod/client, to: web:80, rate: 100/s, for: 60s}
  - sleep: 5s
  - kubectl: "patch deployment web -p '{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"restartedAt\":\"1\"}}}}}'"
  - sleep: 60s
"#;

fn churn(c: &mut Criterion) {
    let s =
        Scenario::parse(Path::new("churn-bench.yaml"), SCENARIO.to_string()).expect("bench scenario parses");
    let mut g = c.benchmark_group("churn");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.bench_function("traffic_60s_100rps_rollout_10_pods", |b| {
        b.iter(|| {
            let r = runner::run(black_box(&s), None).expect("bench scenario runs");
            assert_eq!(r.traffic.len(), 1);
            assert_eq!(r.traffic[0].requests.len(), 6000);
            r
        })
    });
    g.finish();
}

criterion_group!(benches, churn);
criterion_main!(benches);
