//! Which TCP ports a pod's processes listen on, for the kubelet's readiness probes.
//!
//! A container's server listens on the ports its spec declares (`containerPort`), or its
//! image's default ports when it declares none (nginx on 80); the ingress controller on 80
//! and 443. A `tcpSocket` or `httpGet` probe aimed at a port nothing in the pod listens on is
//! refused, as the kernel refuses the SYN: the kubelet's event is `Readiness probe failed: Get
//! "http://10.244.1.3:8080/": dial tcp 10.244.1.3:8080: connect: connection refused`, the
//! container never becomes ready and the Service's EndpointSlice lists the pod as not ready —
//! the well-known "probe on the wrong port" mistake.
//!
//! Only pods with such a probe are recorded, and the probe hook ([`super::probes`]) is
//! installed at the first one, so a cluster whose probes all aim at served ports probes as
//! before. An `exec` probe runs a command, not a connection: it succeeds. Left out: the HTTP
//! status an ordinary app gives the probe's path (every path of a served port answers 200).

use std::collections::BTreeMap;

use crate::api::Pod;
use crate::controllers::{ProbeCheck, ProbeResult, pods::resolve_container_port};

/// The served TCP ports of pods that probe a port none of their processes serves, by
/// `namespace/name`.
#[derive(Debug, Default)]
pub struct ServedPorts {
    pods: BTreeMap<String, Vec<u16>>,
}

/// The ports `pod`'s readiness probes connect to that are not in `served` (sorted).
pub fn unserved_probe_ports(pod: &Pod, served: &[u16]) -> Vec<u16> {
    let mut out: Vec<u16> = pod
        .spec
        .containers
        .iter()
        .filter_map(|c| c.readiness_probe.as_ref())
        .filter_map(|p| {
            let port = p.http_get.as_ref().map(|h| &h.port).or(p.tcp_socket.as_ref().map(|t| &t.port))?;
            u16::try_from(resolve_container_port(pod, port)?).ok()
        })
        .filter(|p| !served.contains(p))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl ServedPorts {
    /// Records the TCP ports pod `key` serves when one of its probes aims elsewhere (true:
    /// the probe hook is needed), and forgets a re-created pod whose probes are all served.
    pub fn wired(&mut self, key: &str, pod: &Pod, served: &[u16]) -> bool {
        if unserved_probe_ports(pod, served).is_empty() {
            self.pods.remove(key);
            return false;
        }
        let mut served = served.to_vec();
        served.sort_unstable();
        served.dedup();
        self.pods.insert(key.to_string(), served);
        true
    }

    /// How a readiness probe of an ordinary (not CoreDNS) pod ends as far as its port goes:
    /// refused when nothing in the pod listens there.
    pub fn probe(&self, chk: &ProbeCheck<'_>) -> ProbeResult {
        if chk.probe.exec.is_some() {
            return ProbeResult::Success;
        }
        let ns = &chk.pod.metadata.namespace;
        let key = super::world::pod_key(if ns.is_empty() { "default" } else { ns }, &chk.pod.metadata.name);
        let Some(served) = self.pods.get(&key) else { return ProbeResult::Success };
        match chk.port.and_then(|p| u16::try_from(p).ok()) {
            Some(port) if served.binary_search(&port).is_err() => ProbeResult::Refused,
            _ => ProbeResult::Success,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_on_a_port_the_pod_does_not_serve_is_recorded_and_a_named_port_resolves() {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [
                {"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}],
                 "readinessProbe": {"httpGet": {"path": "/", "port": 8080}}},
                {"name": "side", "image": "busybox", "readinessProbe": {"tcpSocket": {"port": "http"}}}
            ]}
        }))
        .unwrap();
        assert_eq!(unserved_probe_ports(&p, &[80]), vec![8080]);
        let mut s = ServedPorts::default();
        assert!(s.wired("default/web", &p, &[80]));
        assert_eq!(s.pods.get("default/web"), Some(&vec![80]));
        // Served after all (the port declared): forgotten.
        assert!(!s.wired("default/web", &p, &[80, 8080]));
        assert!(s.pods.is_empty());
    }
}
