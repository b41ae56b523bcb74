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
// refusals are what only the cleanup produces — checked with `kubeProxyConntrackCleanup`.)
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
    // Without the cleanup (and with v1.32's reconciler, which skips a port without endpoints)
    // no datagram meets the REJECT.
    for how in ["none", "reconcile-skip-empty"] {
        let text = UDP_SERVER
            .replace("seed: 3\n", &format!("seed: 3\ncluster:\n  kubeProxyConntrackCleanup: {how}\n"));
        let s = Scenario::parse(Path::new("r13.yaml"), text).unwrap();
        let r = runner::run(&s, None).unwrap();
        let refused = r.traffic[0].requests.iter().filter(|q| q.outcome == RequestOutcome::Refused).count();
        assert_eq!(refused, 0, "{how}:\n{}", r.transcript);
    }
}

fn lab(name: &str) -> runner::RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/labs/etp-local-drain").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let s = Scenario::parse(&path, text).unwrap();
    runner::run(&s, None).unwrap()
}

/// The instant (ms from 0) of a timeline mark line `---- HH:MM:SS.mmm label` containing `what`.
fn mark_ms(transcript: &str, what: &str) -> Option<u64> {
    let line = transcript.lines().find(|l| l.trim_start().starts_with("----") && l.contains(what))?;
    let clock = line.split_whitespace().nth(1)?;
    let (hms, ms) = clock.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + ms.parse::<u64>().ok()?)
}

// kubernetes/kubernetes #85643: the last local pod of an externalTrafficPolicy: Local service
// exits at once; kube-proxy drops the node's traffic (no local endpoint) but the load
// balancer keeps hashing new connections there until 3 of its health checks, 8 s apart, have
// failed. Every failure is blackholed, and none is left after the LB's verdict.
#[test]
fn r13_etp_local_drain_gap_lasts_until_the_lb_health_checks_fail() {
    let r = lab("broken.yaml");
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    let deleted = mark_ms(&r.transcript, "kubectl delete pod web-node01").unwrap();
    let noticed =
        mark_ms(&r.transcript, "node/node01 unhealthy for default/web (3 failed health checks: 503").unwrap();
    let gap = noticed - deleted;
    assert!(
        (16_000..=25_000).contains(&gap),
        "between 2 and 3 intervals (+timeout): {gap} ms\n{}",
        r.transcript
    );
    let report = &r.traffic[0];
    let failed: Vec<_> = report.requests.iter().filter(|q| !q.outcome.served()).collect();
    assert!(failed.len() > 100, "{}", r.transcript);
    assert!(failed.iter().all(|q| q.outcome == RequestOutcome::Blackholed), "{}", r.transcript);
    let (first, last) =
        (failed[0].at.as_nanos() / 1_000_000, failed[failed.len() - 1].at.as_nanos() / 1_000_000);
    assert!(first >= deleted && last < noticed, "failures only inside the gap: {first}..{last}");
}

// KEP-1669: with a preStop sleep the deleted pod keeps serving while terminating; kube-proxy
// uses the serving-terminating local endpoint (no ready one is left on node01) and its health
// check answers 503 (ready endpoints only), so the LB drains node01 before the pod exits.
#[test]
fn r13_etp_local_drain_gap_is_closed_by_terminating_endpoints_and_prestop() {
    let r = lab("fixed.yaml");
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    let deleted = mark_ms(&r.transcript, "kubectl delete pod web-node01").unwrap();
    let noticed = mark_ms(&r.transcript, "node/node01 unhealthy for default/web").unwrap();
    let report = &r.traffic[0];
    assert!(report.requests.iter().all(|q| q.outcome.served()), "{}", r.transcript);
    let by_old_after_delete = report
        .requests
        .iter()
        .filter(|q| q.at.as_nanos() / 1_000_000 > deleted + 1000)
        .filter(|q| q.outcome == RequestOutcome::Served("pod/web-node01".into()))
        .count();
    assert!(by_old_after_delete > 50, "the terminating pod served node01's share:\n{}", r.transcript);
    let after: Vec<_> = report.requests.iter().filter(|q| q.at.as_nanos() / 1_000_000 > noticed).collect();
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|q| q.outcome == RequestOutcome::Served("pod/web-node02".into())),
        "{}",
        r.transcript
    );
}

// The health checks are packets: a DROP of the health-check node port on node01 (its pod still
// ready) makes the LB's probes time out, and it takes node01 out though kube-proxy there would
// still answer 200. Client traffic is never hurt: node01 served until the verdict.
#[test]
fn r13_lb_health_checks_go_through_the_nodes_netfilter() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/labs/etp-local-drain/hc-drop.yaml");
    let text = r#"
name: hc-drop
seed: 4
cluster:
  loadBalancerProvider:
    pool: 203.0.113.10-203.0.113.20
    healthCheck: {interval: 5s, timeout: 1s, unhealthyThreshold: 2}
manifests:
  - file: service.yaml
  - file: web-broken.yaml
steps:
  - traffic: {name: load, from: host/client, to: 203.0.113.10:80, rate: 20/s, for: 30s, timeout: 1s}
    expect: {maxFailures: 0}
  - sleep: 5s
  - run: iptables -I INPUT -p tcp --dport $(kubectl get svc web -o jsonpath='{.spec.healthCheckNodePort}') -j DROP
    on: node/node01
  - sleep: 25s
"#;
    let s = Scenario::parse(&path, text.to_string()).unwrap();
    let r = runner::run(&s, None).unwrap();
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    let noticed =
        mark_ms(&r.transcript, "node/node01 unhealthy for default/web (2 failed health checks: timed out)");
    let noticed = noticed.unwrap_or_else(|| panic!("{}", r.transcript));
    let report = &r.traffic[0];
    let late = report.requests.iter().filter(|q| q.at.as_nanos() / 1_000_000 > noticed);
    assert!(late.clone().count() > 100);
    assert!(
        late.clone().all(|q| q.outcome == RequestOutcome::Served("pod/web-node02".into())),
        "{}",
        r.transcript
    );
}

const PERSISTENT: &str = r#"
name: persistent
seed: 3
manifests:
  - inline: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 1
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
              image: nginx:1.27
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
          image: curlimages/curl
steps:
  - traffic: {name: keep, from: pod/client, to: web:80, rate: 10/s, for: 20s, timeout: 500ms, connection: persistent, reconnect: RECONNECT}
  - sleep: 5s
  - fault: delete pod/web
  - sleep: 15s
"#;

fn persistent(reconnect: bool) -> runner::RunResult {
    let text = PERSISTENT.replace("RECONNECT", if reconnect { "true" } else { "false" });
    let s = Scenario::parse(Path::new("persistent.yaml"), text).unwrap();
    runner::run(&s, None).unwrap()
}

// One long-lived connection: its conntrack entry on the client's node keeps the DNAT to the
// pod its SYN was sent to. When that pod goes, the connection's next request finds no one at
// that address (blackholed: the pod's veth is gone) and, without reconnecting, nothing more is
// sent; kube-proxy's new rules never apply to an established connection.
#[test]
fn r13_a_persistent_connection_dies_with_its_backend() {
    let r = persistent(false);
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    assert!(r.transcript.contains("one persistent connection, timeout 500ms"), "{}", r.transcript);
    let report = &r.traffic[0];
    assert_eq!(report.servers.len(), 1, "{}", r.transcript);
    let first_fail = report.requests.iter().position(|q| !q.outcome.served()).unwrap();
    assert_eq!(first_fail, 50, "the 50 requests before the deletion were served:\n{}", r.transcript);
    assert_eq!(report.requests[first_fail].outcome, RequestOutcome::Blackholed);
    assert!(report.requests[first_fail + 1..].iter().all(|q| q.outcome == RequestOutcome::NotSent));
}

// With reconnect the client opens a new connection after the broken one: its SYN goes
// through the node's rules again (refused while the Service has no endpoint), and it lands on
// the replacement pod, where every later request goes on that one connection.
#[test]
fn r13_a_persistent_connection_that_reconnects_moves_to_the_new_pod() {
    let r = persistent(true);
    assert!(r.passed(), "{:?}\n{}", r.failures, r.transcript);
    let report = &r.traffic[0];
    assert_eq!(report.servers.len(), 2, "{}", r.transcript);
    let failed = report.requests.iter().filter(|q| !q.outcome.served()).count();
    assert!((1..40).contains(&failed), "{failed}\n{}", r.transcript);
    assert!(report.requests.iter().any(|q| q.outcome == RequestOutcome::Refused), "{}", r.transcript);
    let tail = &report.requests[report.requests.len() - 100..];
    assert!(tail.iter().all(|q| q.outcome == RequestOutcome::Served(report.servers[1].clone())));
}

#[test]
fn r13_persistent_connection_options_are_checked() {
    let bad = |step: &str| {
        let text = format!("name: bad\nsteps:\n  - traffic: {{{step}}}\n");
        match Scenario::parse(Path::new("bad.yaml"), text) {
            Ok(_) => panic!("accepted: {step}"),
            Err(e) => format!("{e:?}"),
        }
    };
    let e = bad("from: pod/c, to: web:80, rate: 1/s, for: 1s, connection: sticky");
    assert!(e.contains("connection: unknown value \\\"sticky\\\": expected new or persistent"), "{e}");
    let e = bad("from: pod/c, to: web:53, proto: udp, rate: 1/s, for: 1s, connection: persistent");
    assert!(e.contains("connection: goes with proto: tcp"), "{e}");
    let e = bad("from: pod/c, to: web:80, rate: 1/s, for: 1s, reconnect: true");
    assert!(e.contains("reconnect: goes with connection: persistent"), "{e}");
}

// A crashed container's connections die with it while the pod's address stays: the next
// request on the persistent connection reaches the pod's namespace, finds no socket and is
// answered with RST.
#[test]
fn r13_a_persistent_connection_to_a_crashed_container_is_reset() {
    let text =
        PERSISTENT.replace("RECONNECT", "false").replace("fault: delete pod/web", "fault: crash pod/web");
    let s = Scenario::parse(Path::new("persistent.yaml"), text).unwrap();
    let r = runner::run(&s, None).unwrap();
    let report = &r.traffic[0];
    assert_eq!(report.requests[50].outcome, RequestOutcome::Reset, "{}", r.transcript);
    assert!(report.requests[..50].iter().all(|q| q.outcome.served()));
}

fn lab_at(dir: &str, name: &str) -> runner::RunResult {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/labs").join(dir).join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let s = Scenario::parse(&path, text).unwrap();
    runner::run(&s, None).unwrap()
}

fn served_by(r: &runner::RunResult, traffic: usize) -> Vec<Option<String>> {
    r.traffic[traffic]
        .requests
        .iter()
        .map(|q| match &q.outcome {
            RequestOutcome::Served(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

// kubernetes/kubernetes #19029: the client's one UDP flow keeps the old pod's DNAT in its
// conntrack entry. Without kube-proxy's cleanup nothing reaches the new pod until the scenario's
// `conntrack -D`; with it, a single datagram is lost and the rest go to the new pod.
#[test]
fn r13_stale_udp_entry_holds_a_fixed_port_client_until_it_is_deleted() {
    let broken = lab_at("stale-udp-conntrack", "broken.yaml");
    let fixed = lab_at("stale-udp-conntrack", "fixed.yaml");
    assert!(broken.passed() && fixed.passed(), "{:?} {:?}", broken.failures, fixed.failures);
    let b = served_by(&broken, 0);
    let old = b[0].clone().unwrap();
    let first_new = b.iter().position(|s| s.as_ref().is_some_and(|s| *s != old));
    let first_fail = b.iter().position(Option::is_none).unwrap();
    // 10 datagrams a second from 3.7 s; the rollout at 6.7 s, the conntrack -D at 26.7 s.
    assert!(first_fail < 60, "{first_fail}");
    assert_eq!(first_new, Some(230), "{}", broken.transcript);
    assert!(b[first_fail..230].iter().all(Option::is_none), "{}", broken.transcript);
    let f = served_by(&fixed, 0);
    assert_eq!(f.iter().filter(|s| s.is_none()).count(), 1, "{}", fixed.transcript);
}

// Failure 6: kube-proxy stopped on node01 freezes node01's rules only; node02's clients are
// served throughout, node01's fail until `start kube-proxy/node01`.
#[test]
fn r13_stopped_kube_proxy_breaks_only_its_own_nodes_clients() {
    let r = lab_at("kube-proxy-lag", "stopped.yaml");
    assert!(r.passed(), "{:?}", r.failures);
    let by_name = |n: &str| r.traffic.iter().position(|t| t.traffic.name == n).unwrap();
    let n1 = served_by(&r, by_name("via-node01"));
    let n2 = served_by(&r, by_name("via-node02"));
    assert!(n2.iter().all(Option::is_some));
    // 20 a second from 4.9 s: requests 340..700 are 21.9 s..39.9 s, kube-proxy stopped.
    assert!(n1[340..700].iter().all(Option::is_none), "{}", r.transcript);
    assert!(n1[700..].iter().filter(|s| s.is_none()).count() < 10, "{}", r.transcript);
}
