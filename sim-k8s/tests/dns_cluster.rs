//! Cluster DNS configured by the `kube-system/coredns` ConfigMap, end to end: the edit loads at
//! the reload plugin's next check, the `log` plugin's lines land in the CoreDNS pod that
//! answered, and a truncated UDP answer is asked again over TCP 53 through the dataplane.

use sim_core::SimDuration;
use sim_k8s::api::Kind;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig};
use sim_k8s::manifest::load_str;

const CLIENT: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: client, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

const COREFILE_WITH_LOG: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        ready
        log
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf
        reload 10s
    }
"#;

fn apply(c: &mut Cluster, text: &str) {
    let loaded = load_str("x.yaml", text);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
}

fn cluster() -> Cluster {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &ProxySettings::default(), 15).unwrap();
    c.settle(SimDuration::from_secs(120));
    apply(&mut c, CLIENT);
    c.settle(SimDuration::from_secs(120));
    c
}

fn coredns_pods(c: &Cluster) -> Vec<String> {
    c.world()
        .api
        .list_in(Kind::Pod, "kube-system")
        .map(|o| o.name().to_string())
        .filter(|n| n.starts_with("coredns-"))
        .collect()
}

#[test]
fn an_edited_corefile_loads_at_the_next_check_and_logs_queries() {
    let mut c = cluster();
    let pods = coredns_pods(&c);
    assert_eq!(pods.len(), 2);
    let log = c.coredns_logs("kube-system", &pods[0]).unwrap();
    assert_eq!(log[0], ".:53");
    assert!(log.iter().any(|l| l == "CoreDNS-1.11.1"));
    assert!(log.iter().any(|l| l.contains("plugin/prometheus is not simulated")));
    apply(&mut c, COREFILE_WITH_LOG);
    c.advance(SimDuration::from_secs(31));
    let client = c.resolve_target("pod/client").unwrap();
    let out = c.exec(&client, "nslookup kubernetes.default.svc.cluster.local");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let logs: Vec<Vec<String>> = pods.iter().map(|p| c.coredns_logs("kube-system", p).unwrap()).collect();
    for log in &logs {
        assert!(log.iter().any(|l| l == "[INFO] Reloading complete"), "{log:#?}");
    }
    // The query went to one of the two replicas (kube-proxy's choice), and only that one logs it,
    // with the client's pod address as CoreDNS sees it.
    let lines: Vec<&String> = logs
        .iter()
        .flatten()
        .filter(|l| l.contains("\"A IN kubernetes.default.svc.cluster.local. udp"))
        .collect();
    assert_eq!(lines.len(), 1, "{logs:#?}");
    assert!(lines[0].starts_with("[INFO] 10.244."), "{}", lines[0]);
    assert!(lines[0].ends_with("NOERROR qr,aa,rd 106 0.000110732s"), "{}", lines[0]);
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let mut c = cluster();
    // A headless service with enough ready endpoints that the A answer overflows 512 bytes.
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Service\nmetadata: {name: big}\nspec:\n  clusterIP: None\n  ports: [{port: 80}]\n---\n\
         apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: big-1\n  labels: {kubernetes.io/service-name: big}\n\
         addressType: IPv4\nports: [{port: 80}]\nendpoints:\n",
    );
    for i in 1..=40 {
        yaml.push_str(&format!("- addresses: [\"10.244.9.{i}\"]\n  conditions: {{ready: true}}\n"));
    }
    apply(&mut c, &yaml);
    c.settle(SimDuration::from_secs(60));
    let client = c.resolve_target("pod/client").unwrap();
    // dig (bind9's, in every pod) asks again over TCP: all forty addresses arrive.
    let out = c.exec(&client, "dig +noall +answer big.default.svc.cluster.local");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout.matches("\t10.244.9.").count(), 40, "{}", out.stdout);
    // busybox's nslookup reads 512 bytes and ignores TC: it prints the addresses that fit.
    let out = c.exec(&client, "nslookup big.default.svc.cluster.local");
    let shown = out.stdout.matches("Address: 10.244.9.").count();
    assert!((1..40).contains(&shown), "{}", out.stdout);
}

#[test]
fn container_env_expands_references_wins_over_service_vars_and_reads_config_maps() {
    let mut c = cluster();
    apply(
        &mut c,
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {MODE: prod, LEVEL: debug}
---
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom:
    - configMapRef: {name: app-config}
      prefix: CFG_
    env:
    - {name: KUBERNETES_SERVICE_PORT, value: "8443"}
    - {name: API, value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/$(CFG_MODE)"}
    - {name: LITERAL, value: "$$(NOT_EXPANDED)"}
    - name: LEVEL
      valueFrom: {configMapKeyRef: {name: app-config, key: LEVEL}}
"#,
    );
    c.settle(SimDuration::from_secs(120));
    let app = c.resolve_target("pod/app").unwrap();
    let out = c.exec(&app, "env");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "CFG_MODE=prod\n",
        "CFG_LEVEL=debug\n",
        "KUBERNETES_SERVICE_PORT=8443\n",
        "API=https://10.96.0.1:8443/prod\n",
        "LITERAL=$(NOT_EXPANDED)\n",
        "LEVEL=debug\n",
        "KUBERNETES_SERVICE_HOST=10.96.0.1\n",
    ] {
        assert!(out.stdout.contains(want), "{want:?} missing in\n{}", out.stdout);
    }
    // The container's own KUBERNETES_SERVICE_PORT replaced the kubelet's, it is not listed twice.
    assert_eq!(out.stdout.matches("KUBERNETES_SERVICE_PORT=").count(), 1, "{}", out.stdout);
}

#[test]
fn dig_reports_why_no_server_answered_in_dig_s_words() {
    let mut c = cluster();
    let client = c.resolve_target("pod/client").unwrap();
    // A node answers UDP 53 with ICMP port unreachable: nothing listens there.
    let out = c.exec(&client, "dig @10.32.1.148 kubernetes.default.svc.cluster.local");
    assert_eq!(out.exit_code, 9, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(";; communications error to 10.32.1.148#53: connection refused\n"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.matches("connection refused").count(), 3, "{}", out.stdout);
    assert!(out.stdout.ends_with(";; no servers could be reached\n"), "{}", out.stdout);
}

#[test]
fn host_aliases_are_in_etc_hosts_and_answer_before_dns() {
    let mut c = cluster();
    apply(
        &mut c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: aliased}
spec:
  hostAliases:
  - ip: "10.96.0.1"
    hostnames: [api.internal, api]
  containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]
"#,
    );
    c.settle(SimDuration::from_secs(120));
    let pod = c.resolve_target("pod/aliased").unwrap();
    let hosts = c.exec(&pod, "cat /etc/hosts");
    assert!(
        hosts.stdout.ends_with("\n# Entries added by HostAliases.\n10.96.0.1\tapi.internal\tapi\n"),
        "{}",
        hosts.stdout
    );
    // wget's getaddrinfo reads /etc/hosts first: api.internal is the kubernetes Service's IP,
    // no DNS query needed (CoreDNS would say NXDOMAIN).
    let out = c.exec(&pod, "wget -qO- -T 2 http://api.internal:443/");
    assert!(!out.stderr.contains("bad address"), "{}{}", out.stdout, out.stderr);
}

#[test]
fn getent_hosts_reads_etc_hosts_first() {
    let mut c = cluster();
    apply(
        &mut c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: aliased}
spec:
  hostAliases:
  - ip: "10.96.0.1"
    hostnames: [api.internal, api]
  containers: [{name: c, image: nginx, command: [sleep, "3600"]}]
"#,
    );
    c.settle(SimDuration::from_secs(120));
    let pod = c.resolve_target("pod/aliased").unwrap();
    let out = c.exec(&pod, "getent hosts api");
    assert_eq!(out.stdout, "10.96.0.1       api.internal api\n");
    assert_eq!(out.exit_code, 0);
}

#[test]
fn kubectl_logs_prints_a_coredns_replica_s_log_and_names_what_is_not_simulated() {
    let mut c = cluster();
    let pods = coredns_pods(&c);
    let expected: String =
        c.coredns_logs("kube-system", &pods[0]).unwrap().iter().map(|l| format!("{l}\n")).collect();
    let base = std::path::Path::new(".");
    let out = c.kubectl_line(&format!("logs -n kube-system {}", pods[0]), base);
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, expected.as_str()), "{}", out.stderr);
    assert!(out.stdout.starts_with(".:53\n"), "{}", out.stdout);
    let out = c.kubectl_line(&format!("logs -n kube-system pod/{}", pods[0]), base);
    assert_eq!(out.stdout, expected);

    let out = c.kubectl_line("logs nothere", base);
    assert_eq!(
        (out.exit_code, out.stderr.as_str()),
        (1, "Error from server (NotFound): pods \"nothere\" not found\n")
    );
    let out = c.kubectl_line("logs client -c other", base);
    assert_eq!(out.stderr, "Error from server (BadRequest): container other is not valid for pod client\n");
    let out = c.kubectl_line("logs client", base);
    assert_eq!(out.exit_code, 1);
    assert!(
        out.stderr.contains("image \"busybox:1.36\" (container client of pod client) is not simulated"),
        "{}",
        out.stderr
    );

    // Several containers and no -c: kubectl takes the first and says so.
    apply(
        &mut c,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: two}\nspec:\n  containers:\n  - {name: a, image: busybox:1.36}\n  - {name: b, image: busybox:1.36}\n",
    );
    let out = c.kubectl_line("logs two", base);
    assert!(out.stderr.starts_with("Defaulted container \"a\" out of: a, b\n"), "{}", out.stderr);
    assert!(out.stderr.contains("(container a of pod two)"), "{}", out.stderr);
}

#[test]
fn busybox_nslookup_follows_the_image_version_and_asks_every_ptr() {
    let mut c = cluster();
    apply(
        &mut c,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: old}\nspec:\n  containers: [{name: c, image: busybox:1.28, command: [sleep, \"3600\"]}]\n",
    );
    c.settle(SimDuration::from_secs(60));
    // busybox 1.28: libc's lookup, then a PTR query for the server and for the address.
    let old = c.resolve_target("pod/old").unwrap();
    let sent = c.world().net.packets_created();
    let out = c.exec(&old, "nslookup kubernetes.default");
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.exit_code),
        (
            "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      kubernetes.default\nAddress 1: 10.96.0.1 kubernetes.default.svc.cluster.local\n",
            "",
            0
        )
    );
    // Two PTR queries and the A/AAAA pairs of the search list, each with its answer.
    assert!(c.world().net.packets_created() - sent >= 8);
    let out = c.exec(&old, "nslookup nosuch");
    assert_eq!((out.stderr.as_str(), out.exit_code), ("nslookup: can't resolve 'nosuch'\n", 1));
    // busybox 1.36: a dotted name is asked only as it is.
    let new = c.resolve_target("pod/client").unwrap();
    let out = c.exec(&new, "nslookup kubernetes.default");
    assert_eq!(out.exit_code, 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with(
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find kubernetes.default: "
        ),
        "{}",
        out.stdout
    );
    let out = c.exec(&new, "nslookup kubernetes.default.svc.cluster.local");
    assert_eq!(
        (out.stdout.as_str(), out.exit_code),
        (
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n\n",
            0
        )
    );
}

/// A Corefile without `ready`: kubeadm's readiness probe (`GET :8181/ready`) is refused, every
/// CoreDNS pod turns not ready after `failureThreshold` probes, the kube-dns Service loses its
/// endpoints and lookups time out. Put back, the pods are ready again at their next probe.
#[test]
fn a_corefile_without_ready_fails_the_readiness_probe_and_empties_kube_dns() {
    let mut c = cluster();
    let base = std::path::Path::new(".");
    let no_ready = COREFILE_WITH_LOG.replace("        ready\n", "");
    apply(&mut c, &no_ready);
    // The reload check at 10 s, then three refused probes 10 s apart.
    c.advance(SimDuration::from_secs(50));
    let pods = c.kubectl_line("get pods -n kube-system -l k8s-app=kube-dns", base);
    for line in pods.stdout.lines().skip(1) {
        assert!(line.contains(" 0/1 "), "{}", pods.stdout);
    }
    let events = c.kubectl_line("get events -n kube-system", base);
    assert!(
        events.stdout.lines().any(|l| l.contains("Unhealthy")
            && l.contains("Readiness probe failed: Get \"http://10.244.")
            && l.contains(":8181/ready\": dial tcp 10.244.")
            && l.ends_with(":8181: connect: connection refused")),
        "{}",
        events.stdout
    );
    let client = c.resolve_target("pod/client").unwrap();
    let out = c.exec(&client, "nslookup kubernetes.default.svc.cluster.local");
    assert_ne!(out.exit_code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("connection timed out; no servers could be reached"), "{}", out.stdout);

    // `ready` on another port: the probe's port is refused still; `health` on 8181 serves only
    // `/health`, so `/ready` there is a 404.
    let on_health = COREFILE_WITH_LOG.replace("        ready\n", "        health :8181\n");
    apply(&mut c, &on_health);
    c.advance(SimDuration::from_secs(30));
    let events = c.kubectl_line("get events -n kube-system", base);
    assert!(
        events.stdout.contains("Readiness probe failed: HTTP probe failed with statuscode: 404"),
        "{}",
        events.stdout
    );

    apply(&mut c, COREFILE_WITH_LOG);
    c.advance(SimDuration::from_secs(30));
    let pods = c.kubectl_line("get pods -n kube-system -l k8s-app=kube-dns", base);
    for line in pods.stdout.lines().skip(1) {
        assert!(line.contains(" 1/1 "), "{}", pods.stdout);
    }
    let out = c.exec(&client, "nslookup kubernetes.default.svc.cluster.local");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
}

/// kubeadm's Corefile has `health { lameduck 5s }`: a deleted CoreDNS pod logs the SIGTERM and
/// the lameduck, and its process exits 5 s later (the pod stays Terminating until then).
#[test]
fn a_deleted_coredns_pod_goes_into_lameduck_for_its_health_plugin_s_duration() {
    let mut c = cluster();
    let base = std::path::Path::new(".");
    let pod = coredns_pods(&c)[0].clone();
    let out = c.kubectl_line(&format!("delete pod -n kube-system {pod} --wait=false"), base);
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    c.advance(SimDuration::from_secs(4));
    let log = c.coredns_logs("kube-system", &pod).unwrap();
    assert_eq!(
        log[log.len() - 2..],
        [
            "[INFO] SIGTERM: Shutting down servers then terminating",
            "[INFO] plugin/health: Going into lameduck mode for 5s"
        ]
    );
    assert!(
        c.world().api.get_named(Kind::Pod, "kube-system", &pod).is_some(),
        "gone before its lameduck ended"
    );
    c.advance(SimDuration::from_secs(2));
    assert!(
        c.world().api.get_named(Kind::Pod, "kube-system", &pod).is_none(),
        "still there after its lameduck"
    );
}

/// `kubectl logs --previous` of a container that never terminated is the API server's
/// BadRequest; `--tail` keeps the last lines; `-f` prints what is logged by now.
#[test]
fn kubectl_logs_previous_tail_and_follow() {
    let mut c = cluster();
    let base = std::path::Path::new(".");
    let pod = coredns_pods(&c)[0].clone();
    let out = c.kubectl_line(&format!("logs -n kube-system {pod} -p"), base);
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "Error from server (BadRequest): previous terminated container \"coredns\" in pod \"{pod}\" not found"
        )
    );
    let all = c.kubectl_line(&format!("logs -n kube-system {pod}"), base).stdout;
    let tail = c.kubectl_line(&format!("logs -n kube-system {pod} --tail=2"), base).stdout;
    let last_two: Vec<&str> = all.lines().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(tail.lines().collect::<Vec<_>>(), last_two);
    assert_eq!(c.kubectl_line(&format!("logs -f -n kube-system {pod}"), base).stdout, all);
    let bad = c.kubectl_line(&format!("logs -n kube-system {pod} --tail x"), base);
    assert!(bad.stderr.contains("invalid argument \"x\" for \"--tail\" flag"), "{}", bad.stderr);
}

/// plugin/loop sits just before `forward` in plugin.cfg's order: a probe an earlier plugin
/// answers (here `template`, for every HINFO query) is answered and goes no further, so a
/// Corefile that forwards to the pod itself makes no loop of it and the plugin turns off.
/// Without the template the same Corefile is a loop: `[FATAL]`, exit 1.
#[test]
fn a_loop_probe_an_earlier_plugin_answers_makes_no_loop() {
    let corefile = |template: &str| {
        format!(
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: coredns, namespace: kube-system}}
data:
  Corefile: |
    .:53 {{
        errors
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {{
           fallthrough in-addr.arpa ip6.arpa
        }}
{template}        forward . 127.0.0.1
        loop
        reload 10s
    }}
"#
        )
    };
    let run = |template: &str| {
        let mut config = ClusterConfig::default_cluster();
        config.upstream_resolvers = vec![sim_k8s::dns::upstream::ResolverConfig {
            name: "resolver".into(),
            ip: "10.32.1.53".parse().unwrap(),
            data: Default::default(),
            behaviours: Vec::new(),
        }];
        let mut c = Cluster::new(config, &ProxySettings::default(), 15).unwrap();
        c.settle(SimDuration::from_secs(120));
        apply(&mut c, &corefile(template));
        // kubeadm's Corefile checks every 30 s.
        c.advance(SimDuration::from_secs(45));
        let pod = coredns_pods(&c)[0].clone();
        c.coredns_logs("kube-system", &pod).unwrap().join("\n")
    };
    let caught = run("");
    assert!(caught.contains("[FATAL] plugin/loop: Loop (127.0.0.1:"), "{caught}");
    let answered = run("        template ANY HINFO {\n           rcode NXDOMAIN\n        }\n");
    assert!(answered.contains("[INFO] Reloading complete"), "{answered}");
    assert!(!answered.contains("FATAL"), "{answered}");
}

/// The kubernetes plugin's LIST is a TCP connection from the pod to the `kubernetes` Service:
/// a rule that resets it makes every informer log client-go's `connect: connection refused`
/// (no trace: the list failed fast) and try again after its back-off (800 ms doubling, each
/// jittered), the servers start unsynced after 5 s of `waiting` lines (the banner after them),
/// and the replica is not ready until a LIST gets through.
#[test]
fn a_coredns_that_cannot_list_the_api_waits_then_serves_unsynced_and_not_ready() {
    use sim_k8s::cluster::facade::Target;
    let mut c = cluster();
    let base = std::path::Path::new(".");
    let master = Target::Node("master".into());
    let reject = "iptables -I INPUT -p tcp --dport 6443 -s 10.244.0.0/16 -j REJECT --reject-with tcp-reset";
    assert_eq!(c.exec(&master, reject).exit_code, 0);
    let old = coredns_pods(&c);
    let out = c.kubectl_line(&format!("delete pod -n kube-system {}", old[0]), base);
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    c.settle(SimDuration::from_secs(20));
    let new = coredns_pods(&c).into_iter().find(|p| !old.contains(p)).expect("a replacement");
    let log = c.kubectl_line(&format!("logs -n kube-system {new}"), base).stdout;
    let lines: Vec<&str> = log.lines().collect();
    let waiting =
        lines.iter().filter(|l| l.contains("waiting for Kubernetes API before starting server")).count();
    assert_eq!(waiting, 9, "{log}");
    let warning = lines.iter().position(|l| l.contains("starting server with unsynced Kubernetes API"));
    let banner = lines.iter().position(|l| *l == ".:53");
    assert!(warning.is_some() && warning < banner, "{log}");
    let refused = lines
        .iter()
        .filter(|l| {
            l.starts_with("[INFO] plugin/kubernetes: pkg/mod/k8s.io/client-go@v0.27.4/tools/cache/reflector.go:231: failed to list *v1.Service: Get \"https://10.96.0.1:443/api/v1/services?limit=500&resourceVersion=0\": dial tcp 10.96.0.1:443: connect: connection refused")
        })
        .count();
    // Retries after 0.8-1.6 s, 1.6-3.2 s, 3.2-6.4 s, 6.4-12.8 s: four to six tries in 20 s.
    assert!((4..=7).contains(&refused), "{refused} tries:\n{log}");
    assert!(!log.contains("Trace["), "{log}");
    assert!(log.contains("[INFO] plugin/ready: Still waiting on: \"kubernetes\""), "{log}");
    let pods = c.kubectl_line("get pods -n kube-system -l k8s-app=kube-dns", base).stdout;
    assert!(pods.contains(&format!("{new}   0/1     Running")), "{pods}");
    // The way opens: a later try lists, and the next probe finds the replica ready.
    let delete = reject.replacen("-I INPUT", "-D INPUT", 1);
    assert_eq!(c.exec(&master, &delete).exit_code, 0);
    c.settle(SimDuration::from_secs(60));
    let pods = c.kubectl_line("get pods -n kube-system -l k8s-app=kube-dns", base).stdout;
    assert!(pods.contains(&format!("{new}   1/1     Running")), "{pods}");
}

/// `envFrom` a Secret (its `data` decoded, `stringData` folded in on create), `secretKeyRef`,
/// and the downward API's `fieldRef` paths the kubelet fills in.
#[test]
fn container_env_reads_secrets_and_the_downward_api() {
    let mut c = cluster();
    apply(
        &mut c,
        r#"
apiVersion: v1
kind: Secret
metadata: {name: db}
data: {DB_USER: YWRtaW4=}
stringData: {DB_PASS: "s3cr=t"}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  labels: {app: shop}
  annotations: {team: payments}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom:
    - secretRef: {name: db}
      prefix: S_
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: DB_PASS}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: APP
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    - name: TEAM
      valueFrom: {fieldRef: {fieldPath: "metadata.annotations['team']"}}
    - {name: URL, value: "db://$(S_DB_USER)@$(POD_IP)"}
"#,
    );
    c.settle(SimDuration::from_secs(120));
    let pod = c.world().api.get_named(Kind::Pod, "default", "app").and_then(|o| o.as_pod()).cloned().unwrap();
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip).unwrap().to_string();
    let app = c.resolve_target("pod/app").unwrap();
    let out = c.exec(&app, "env");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    for want in [
        "S_DB_USER=admin\n".to_string(),
        "S_DB_PASS=s3cr=t\n".to_string(),
        "PASSWORD=s3cr=t\n".to_string(),
        "POD_NAME=app\n".to_string(),
        "POD_NS=default\n".to_string(),
        format!("POD_IP={ip}\n"),
        format!("NODE={}\n", pod.spec.node_name),
        "APP=shop\n".to_string(),
        "TEAM=payments\n".to_string(),
        format!("URL=db://admin@{ip}\n"),
    ] {
        assert!(out.stdout.contains(&want), "{want:?} missing in\n{}", out.stdout);
    }
}

/// A container whose environment source does not exist is not created: it waits in
/// `CreateContainerConfigError` with the kubelet's `Error: configmap "NAME" not found`, tried
/// again every 10 s; an `optional` source is skipped; once the source exists the next try
/// starts it.
#[test]
fn a_missing_env_source_keeps_the_container_in_create_container_config_error() {
    let mut c = cluster();
    let base = std::path::Path::new(".");
    apply(
        &mut c,
        r#"
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, "3600"]
    envFrom:
    - secretRef: {name: maybe, optional: true}
    - configMapRef: {name: app-config}
    env:
    - name: LEVEL
      valueFrom: {secretKeyRef: {name: db, key: LEVEL}}
"#,
    );
    c.settle(SimDuration::from_secs(25));
    let pods = c.kubectl_line("get pod app", base).stdout;
    assert!(pods.contains("app    0/1     CreateContainerConfigError   0"), "{pods}");
    let describe = c.kubectl_line("describe pod app", base).stdout;
    assert!(describe.contains("Reason:       CreateContainerConfigError"), "{describe}");
    assert!(describe.contains("Error: configmap \"app-config\" not found"), "{describe}");
    // The ConfigMap exists; the Secret's key is the next error.
    apply(&mut c, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {MODE: prod}\n");
    apply(&mut c, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {USER: admin}\n");
    c.settle(SimDuration::from_secs(15));
    let describe = c.kubectl_line("describe pod app", base).stdout;
    assert!(describe.contains("Error: couldn't find key LEVEL in Secret default/db"), "{describe}");
    apply(
        &mut c,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {USER: admin, LEVEL: debug}\n",
    );
    c.settle(SimDuration::from_secs(15));
    let pods = c.kubectl_line("get pod app", base).stdout;
    assert!(pods.contains("app    1/1     Running   0"), "{pods}");
    let env = c.exec(&c.resolve_target("pod/app").unwrap(), "env").stdout;
    assert!(env.contains("MODE=prod\n") && env.contains("LEVEL=debug\n"), "{env}");
}
