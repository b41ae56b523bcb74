//! Service environment variables: the docker-links style discovery the kubelet injects.
//!
//! Follows kubelet pkg/kubelet/kubelet_pods.go `getServiceEnvVarMap` (the `kubernetes` Service
//! of `default` always; the pod's own namespace only with `enableServiceLinks`; services
//! without a cluster IP — headless, ExternalName — skipped) and pkg/kubelet/envvars
//! `FromServices` / `makeLinkVariables` (`{SVC}_SERVICE_HOST`, `{SVC}_SERVICE_PORT`,
//! `{SVC}_SERVICE_PORT_{NAME}`, `{SVC}_PORT`, `{SVC}_PORT_{port}_{PROTO}` with `_PROTO`, `_PORT`,
//! `_ADDR`; names upper-cased with `-` → `_`). Only Services that existed when the pod started
//! count: the caller passes that set.
//!
//! Order: the kubelet collects these in a Go map, so the real `env` order is random per
//! container. We keep `FromServices` order (services sorted by name, variables in the order
//! the function appends them) so output is reproducible; a caller that wants the shuffle can
//! permute with a seeded stream.

use std::net::{IpAddr, SocketAddr};

use super::view::{DnsService, ServiceType};

/// One environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// `makeEnvVariableName`: upper case, dashes to underscores.
pub fn env_name(service_name: &str) -> String {
    service_name.replace('-', "_").to_uppercase()
}

fn cluster_ip(svc: &DnsService) -> Option<IpAddr> {
    if svc.headless || svc.service_type == ServiceType::ExternalName {
        return None;
    }
    svc.cluster_ips.first().copied()
}

/// `envvars.FromServices` for the given services, in the given order.
pub fn from_services(services: &[&DnsService]) -> Vec<EnvVar> {
    let mut out = Vec::new();
    let mut push = |name: String, value: String| out.push(EnvVar { name, value });
    for svc in services {
        let Some(ip) = cluster_ip(svc) else { continue };
        let Some(first) = svc.ports.first() else { continue };
        let prefix = env_name(&svc.name);
        push(format!("{prefix}_SERVICE_HOST"), ip.to_string());
        push(format!("{prefix}_SERVICE_PORT"), first.port.to_string());
        for p in svc.ports.iter().filter(|p| !p.name.is_empty()) {
            push(format!("{prefix}_SERVICE_PORT_{}", env_name(&p.name)), p.port.to_string());
        }
        for (i, p) in svc.ports.iter().enumerate() {
            let proto = p.protocol.to_string();
            let lower = proto.to_lowercase();
            let host_port = SocketAddr::new(ip, p.port);
            if i == 0 {
                push(format!("{prefix}_PORT"), format!("{lower}://{host_port}"));
            }
            let port_prefix = format!("{prefix}_PORT_{}_{proto}", p.port);
            push(port_prefix.clone(), format!("{lower}://{host_port}"));
            push(format!("{port_prefix}_PROTO"), lower.clone());
            push(format!("{port_prefix}_PORT"), p.port.to_string());
            push(format!("{port_prefix}_ADDR"), ip.to_string());
        }
    }
    out
}

/// The variables the kubelet injects into a container of a pod in `namespace`, given the
/// Services that existed when the pod started (`getServiceEnvVarMap`).
pub fn service_env(services: &[DnsService], namespace: &str, enable_service_links: bool) -> Vec<EnvVar> {
    let mut sorted: Vec<&DnsService> = services.iter().collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut chosen: Vec<&DnsService> = Vec::new();
    for svc in sorted {
        if cluster_ip(svc).is_none() {
            continue;
        }
        if svc.namespace == "default" && svc.name == "kubernetes" {
            if !chosen.iter().any(|c| c.name == svc.name) {
                chosen.push(svc);
            }
        } else if svc.namespace == namespace && enable_service_links {
            // A same-named service of the pod's namespace replaces an earlier entry.
            chosen.retain(|c| c.name != svc.name);
            chosen.push(svc);
        }
    }
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    from_services(&chosen)
}

/// The variables as `env` prints them (`NAME=value` lines).
pub fn render_env(vars: &[EnvVar]) -> String {
    vars.iter().map(|v| format!("{}={}\n", v.name, v.value)).collect()
}

/// kubelet `third_party/forked/golang/expansion.Expand`: `$(VAR)` is replaced by `lookup(VAR)`,
/// or left as written when `lookup` has nothing; `$$` is a literal `$`; a `$` that starts no
/// reference, and an unclosed `$(`, stay as they are.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        match lookup(name) {
                            Some(v) => out.push_str(&v),
                            None => out.push_str(&format!("$({name})")),
                        }
                        close + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    // The operator and the next character, as written.
                    let ch = rest.chars().next().map_or(0, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..ch]);
                    ch
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    out
}

/// The downward API's value of `fieldRef.fieldPath` for an env var (kubelet
/// `podFieldSelectorRuntimeValue` and fieldpath `ExtractFieldPathAsString`): `None` for a path
/// the API server would not have accepted.
pub fn field_ref(pod: &crate::api::Pod, path: &str) -> Option<String> {
    let status = pod.status.as_ref();
    let ips = |v: Option<Vec<String>>| v.unwrap_or_default().join(",");
    let quoted =
        |prefix: &str| path.strip_prefix(prefix)?.strip_prefix("['")?.strip_suffix("']").map(str::to_string);
    match path {
        "metadata.name" => Some(pod.metadata.name.clone()),
        "metadata.namespace" => Some(pod.metadata.namespace.clone()),
        "metadata.uid" => Some(pod.metadata.uid.clone()),
        "spec.nodeName" => Some(pod.spec.node_name.clone()),
        "spec.serviceAccountName" => Some(pod.spec.service_account_name.clone()),
        "status.hostIP" => Some(status.and_then(|s| s.host_ip).map(|ip| ip.to_string()).unwrap_or_default()),
        "status.podIP" => Some(status.and_then(|s| s.pod_ip).map(|ip| ip.to_string()).unwrap_or_default()),
        "status.podIPs" => Some(ips(status.map(|s| s.pod_ips.iter().map(|p| p.ip.to_string()).collect()))),
        "status.hostIPs" => Some(ips(status
            .and_then(|s| s.host_ips.as_ref())
            .map(|v| v.iter().map(|p| p.ip.to_string()).collect()))),
        _ => {
            if let Some(k) = quoted("metadata.labels") {
                return Some(pod.metadata.labels.get(&k).cloned().unwrap_or_default());
            }
            let k = quoted("metadata.annotations")?;
            Some(pod.metadata.annotations.get(&k).cloned().unwrap_or_default())
        }
    }
}

/// kubelet `makeEnvironmentVariables`: `envFrom` sources in order (each key under its prefix,
/// a later source overriding an earlier one), then `env` in order with `$(VAR)` expanded
/// against what is defined so far and the service variables, then the service variables the
/// container does not define itself (the container's own wins). Output keeps first-definition
/// order (the kubelet's is a Go map's).
pub fn container_env(
    env_from: &[(String, Vec<(String, String)>)],
    env: &[(String, String)],
    services: &[EnvVar],
) -> Vec<EnvVar> {
    let mut out: Vec<EnvVar> = Vec::new();
    fn set(out: &mut Vec<EnvVar>, name: String, value: String) {
        match out.iter_mut().find(|v| v.name == name) {
            Some(v) => v.value = value,
            None => out.push(EnvVar { name, value }),
        }
    }
    for (prefix, data) in env_from {
        for (k, v) in data {
            set(&mut out, format!("{prefix}{k}"), v.clone());
        }
    }
    for (name, value) in env {
        let expanded = expand(value, |var| {
            out.iter()
                .find(|v| v.name == var)
                .or_else(|| services.iter().find(|v| v.name == var))
                .map(|v| v.value.clone())
        });
        set(&mut out, name.clone(), expanded);
    }
    for sv in services {
        if !out.iter().any(|v| v.name == sv.name) {
            out.push(sv.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::view::Protocol;

    fn kubernetes() -> DnsService {
        DnsService::cluster_ip("default", "kubernetes", IpAddr::from([10, 96, 0, 1])).with_port(
            "https",
            Protocol::Tcp,
            443,
        )
    }

    #[test]
    fn kubernetes_service_golden() {
        // The variables every pod shows (`kubectl exec pod -- env | grep KUBERNETES`).
        let env = service_env(&[kubernetes()], "kafka", false);
        assert_eq!(
            render_env(&env),
            "KUBERNETES_SERVICE_HOST=10.96.0.1\n\
             KUBERNETES_SERVICE_PORT=443\n\
             KUBERNETES_SERVICE_PORT_HTTPS=443\n\
             KUBERNETES_PORT=tcp://10.96.0.1:443\n\
             KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443\n\
             KUBERNETES_PORT_443_TCP_PROTO=tcp\n\
             KUBERNETES_PORT_443_TCP_PORT=443\n\
             KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1\n"
        );
    }

    #[test]
    fn namespace_links_mangling_and_exclusions() {
        let echo = DnsService::cluster_ip("default", "svc-echoserver", IpAddr::from([10, 0, 0, 7]))
            .with_port("", Protocol::Tcp, 8080);
        let other_ns = DnsService::cluster_ip("other", "web", IpAddr::from([10, 0, 0, 8])).with_port(
            "",
            Protocol::Tcp,
            80,
        );
        let headless =
            DnsService::headless("default", "kafka-headless").with_port("tcp-client", Protocol::Tcp, 9092);
        let ext = DnsService::external_name("default", "client-svc", "nginx-svc.nginx-ns.svc.cluster.local");
        let all = vec![kubernetes(), echo, other_ns, headless, ext];
        let env = service_env(&all, "default", true);
        let names: Vec<&str> = env.iter().map(|v| v.name.as_str()).collect();
        assert!(names.contains(&"SVC_ECHOSERVER_SERVICE_HOST"));
        assert!(names.contains(&"SVC_ECHOSERVER_PORT_8080_TCP_ADDR"));
        assert!(
            !names.iter().any(|n| n.starts_with("WEB_") || n.starts_with("KAFKA") || n.starts_with("CLIENT"))
        );
        let off = service_env(&all, "default", false);
        assert!(off.iter().all(|v| v.name.starts_with("KUBERNETES_")));
    }

    #[test]
    fn ipv6_addresses_are_bracketed_like_join_host_port() {
        let svc = DnsService::cluster_ip("default", "v6", "fd00::10".parse().unwrap()).with_port(
            "",
            Protocol::Udp,
            53,
        );
        let env = from_services(&[&svc]);
        assert!(env.contains(&EnvVar { name: "V6_PORT".into(), value: "udp://[fd00::10]:53".into() }));
    }

    #[test]
    fn expansion_follows_the_kubelets_expand_test_go() {
        // Cases of third_party/forked/golang/expansion/expand_test.go.
        let vars = |k: &str| match k {
            "VAR_A" => Some("A".to_string()),
            "VAR_B" => Some("B".to_string()),
            "VAR_C" => Some("C".to_string()),
            "VAR_REF" => Some("$(VAR_A)".to_string()),
            "VAR_EMPTY" => Some(String::new()),
            _ => None,
        };
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_B)___", "___B___"),
            ("$(VAR_A)-$(VAR_A)", "A-A"),
            ("f000-$$VAR_A", "f000-$VAR_A"),
            ("$$$(VAR_B)$(VAR_A)", "$BA"),
            ("$(VAR_REF)", "$(VAR_A)"),
            ("foo$(VAR_EMPTY)bar", "foobar"),
            ("$(VAR_DNE)", "$(VAR_DNE)"),
            ("$(VAR_A", "$(VAR_A"),
            ("$VAR_A", "$VAR_A"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$", "$"),
            ("$$", "$"),
            ("$(", "$("),
            ("$()", "$()"),
            ("foo$", "foo$"),
            ("$(VAR_A)$(VAR_B", "A$(VAR_B"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, vars), want, "{input}");
        }
    }

    #[test]
    fn container_env_wins_and_refers_to_what_came_before() {
        let services = vec![
            EnvVar { name: "KUBERNETES_SERVICE_HOST".into(), value: "10.96.0.1".into() },
            EnvVar { name: "MY_SVC_SERVICE_HOST".into(), value: "10.96.0.7".into() },
        ];
        let from = vec![("CFG_".to_string(), vec![("MODE".to_string(), "prod".to_string())])];
        let env = vec![
            ("MY_SVC_SERVICE_HOST".to_string(), "override".to_string()),
            ("URL".to_string(), "http://$(KUBERNETES_SERVICE_HOST):443/$(CFG_MODE)/$(LATER)".to_string()),
            ("LATER".to_string(), "x".to_string()),
        ];
        let got: Vec<String> =
            container_env(&from, &env, &services).iter().map(|v| format!("{}={}", v.name, v.value)).collect();
        assert_eq!(
            got,
            [
                "CFG_MODE=prod",
                "MY_SVC_SERVICE_HOST=override",
                "URL=http://10.96.0.1:443/prod/$(LATER)",
                "LATER=x",
                "KUBERNETES_SERVICE_HOST=10.96.0.1",
            ]
        );
    }
}
