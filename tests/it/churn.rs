//! Traffic through churn (issue 13), end to end through `runner::run`.

use std::path::Path;

use netsim::runner;
use netsim::scenario::Scenario;
use sim_k8s::cluster::traffic::RequestOutcome;

const UDP_SERVER: &str = r#"
name: r13-udp-cleanup
seed: 3
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: statsd
      spec:
        replicas: 1
        selector:
          matchLabels:
            app: statsd
        template:
          metadata:
            labels:
              app: statsd
          spec:
            containers:
            - name: statsd
              image: statsd/statsd:v0.10.2
              ports:
              - containerPort: 8125
                protocol: UDP
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: statsd
      spec:
        ports:
        - port: 8125
          protocol: UDP
        selector:
          app: statsd
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
  - traffic: {name: fixed, from: pod/client, to: statsd:8125, proto: udp, srcPort: 40000, rate: 20/s, for: 10s, timeout: 40ms}
  - sleep: 2s
  - fault: delete pod/statsd
  - sleep: 9s
"#;

// kubernetes/kubernetes #19029 / #139628: a UDP client with one fixed source port keeps its
// conntrack entry alive forever. When the only server pod goes, kube-proxy's sync deletes the
// entry (no serving endpoint left), so the next datagrams meet the REJECT rule of a service
// without endpoints (refused), and once the new pod is ready they are DNATed to it. Without
// the cleanup no datagram is refused: each follows the dead entry. (netsim's host-local IPAM
// gives the replacement the freed address, so the old entry happens to reach it again; the
// refusals are what only the cleanup produces — checked by disabling it.)
#[test]
fn r13_udp_entries_of_a_deleted_endpoint_are_cleaned_and_traffic_moves_on() {
    let s = Scenario::parse(Path::new("r13.yaml"), UDP_SERVER.to_string()).unwrap();
    let r = runner::run(&s, None).unwrap();
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    let report = &r.traffic[0];
    let servers = &report.servers;
    assert_eq!(servers.len(), 2, "served by the old pod, then by its replacement:\n{}", r.transcript);
    let last = report.requests.last().unwrap();
    assert_eq!(last.outcome, RequestOutcome::Served(servers[1].clone()), "{}", r.transcript);
    let refused = report.requests.iter().filter(|q| q.outcome == RequestOutcome::Refused).count();
    assert!(refused > 0, "the REJECT of a service without endpoints answers:\n{}", r.transcript);
}
