//! Which TCP ports a pod's processes listen on, and what they answer, for the kubelet's
//! readiness probes.
//!
//! A container's server listens on the ports its spec declares (`containerPort`), or its
//! image's default ports when it declares none (nginx on 80); the ingress controller on 80
//! and 443. A `tcpSocket` or `httpGet` probe aimed at a port nothing in the pod listens on is
//! refused, as the kernel refuses the SYN: the kubelet's event is `Readiness probe failed: Get
//! "http://10.244.1.3:8080/": dial tcp 10.244.1.3:8080: connect: connection refused`, the
//! container never becomes ready and the Service's EndpointSlice lists the pod as not ready —
//! the well-known "probe on the wrong port" mistake. An `httpGet` probe on a served port gets
//! the status the image's server gives the probe's request (`GET PATH`, `User-Agent:
//! kube-probe/1.31`): nginx's 404 for a path other than its welcome page fails it (`HTTP probe
//! failed with statuscode: 404`).
//!
//! Only pods with a probe that fails so are recorded, and the probe hook ([`super::probes`]) is
//! installed at the first one, so a cluster whose probes all succeed probes as before. An
//! `exec` probe runs a command, not a connection: it succeeds. Left out: `scheme: HTTPS`
//! (the probe's TLS handshake), and what an image netsim does not run answers (a banner: its
//! probes succeed).

use std::collections::BTreeMap;

use crate::api::Pod;
use crate::apps::AppKind;
use crate::controllers::{ProbeCheck, ProbeResult, pods::resolve_container_port};

/// A TCP port a pod's process listens on, and the image's server behind it (`None`: a server
/// netsim runs apart, such as ingress-nginx's).
pub type ServedPort = (u16, Option<AppKind>);

/// How each recorded pod's failing probes end, by `namespace/name`: (port, result).
#[derive(Debug, Default)]
pub struct FailingProbes {
    pods: BTreeMap<String, Vec<(u16, ProbeResult)>>,
}

/// How `pod`'s readiness probes that fail on what its processes serve end: (port, result),
/// sorted by port.
pub fn failing_probes(pod: &Pod, served: &[ServedPort]) -> Vec<(u16, ProbeResult)> {
    let mut out: Vec<(u16, ProbeResult)> = Vec::new();
    for probe in pod.spec.containers.iter().filter_map(|c| c.readiness_probe.as_ref()) {
        let Some(port) =
            probe.http_get.as_ref().map(|h| &h.port).or(probe.tcp_socket.as_ref().map(|t| &t.port))
        else {
            continue;
        };
        let Some(port) = resolve_container_port(pod, port).and_then(|p| u16::try_from(p).ok()) else {
            continue;
        };
        let result = match served.iter().find(|(p, _)| *p == port) {
            None => ProbeResult::Refused,
            Some((_, kind)) => match (&probe.http_get, kind) {
                (Some(h), Some(kind)) => http_status(kind, port, &h.path),
                _ => ProbeResult::Success,
            },
        };
        if result != ProbeResult::Success && !out.iter().any(|(p, _)| *p == port) {
            out.push((port, result));
        }
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

/// The result of the kubelet's `GET path` (pkg/probe/http: 2xx and 3xx succeed) to `kind`'s
/// server on `port`.
fn http_status(kind: &AppKind, port: u16, path: &str) -> ProbeResult {
    let path = if path.is_empty() { "/" } else { path };
    let local = std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, port);
    let view = crate::apps::ServerView { hostname: "", local, peer: local, now_unix: 0 };
    let request = crate::apps::HttpRequest::render("GET", &local.to_string(), path, "kube-probe/1.31");
    let Some(reply) = crate::apps::respond(kind, &view, &request) else { return ProbeResult::Success };
    // The status line: `HTTP/1.1 404 Not Found`. A reply that is not HTTP (a protocol
    // greeting) is netsim's banner or mysql's: counted as answered.
    let code = std::str::from_utf8(&reply)
        .ok()
        .and_then(|t| t.strip_prefix("HTTP/1."))
        .and_then(|t| t.get(2..5))
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(c) if !(200..400).contains(&c) => ProbeResult::HttpStatus(c),
        _ => ProbeResult::Success,
    }
}

impl FailingProbes {
    /// True when no pod is recorded.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Records pod `key`'s probes that fail on what it serves (true: the probe hook is
    /// needed), and forgets a re-created pod whose probes all succeed.
    pub fn wired(&mut self, key: &str, pod: &Pod, served: &[ServedPort]) -> bool {
        let failing = failing_probes(pod, served);
        if failing.is_empty() {
            self.pods.remove(key);
            return false;
        }
        self.pods.insert(key.to_string(), failing);
        true
    }

    /// How a readiness probe of an ordinary (not CoreDNS) pod ends as far as what its
    /// processes serve goes.
    pub fn probe(&self, chk: &ProbeCheck<'_>) -> ProbeResult {
        if chk.probe.exec.is_some() {
            return ProbeResult::Success;
        }
        let ns = &chk.pod.metadata.namespace;
        let key = super::world::pod_key(if ns.is_empty() { "default" } else { ns }, &chk.pod.metadata.name);
        let Some(failing) = self.pods.get(&key) else { return ProbeResult::Success };
        let port = chk.port.and_then(|p| u16::try_from(p).ok());
        match failing.iter().find(|(p, _)| Some(*p) == port) {
            // A tcpSocket probe needs only the connection.
            Some((_, ProbeResult::HttpStatus(_))) if chk.probe.http_get.is_none() => ProbeResult::Success,
            Some((_, r)) => *r,
            None => ProbeResult::Success,
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
        let nginx = Some(AppKind::Nginx);
        assert_eq!(failing_probes(&p, &[(80, nginx.clone())]), vec![(8080, ProbeResult::Refused)]);
        let mut s = FailingProbes::default();
        assert!(s.wired("default/web", &p, &[(80, nginx.clone())]));
        // Served after all (the port declared): forgotten.
        assert!(!s.wired("default/web", &p, &[(80, nginx.clone()), (8080, nginx.clone())]));
        assert!(s.pods.is_empty());
    }

    #[test]
    fn nginx_fails_a_probe_off_its_welcome_page_with_404() {
        let nginx = AppKind::Nginx;
        assert_eq!(http_status(&nginx, 80, ""), ProbeResult::Success);
        assert_eq!(http_status(&nginx, 80, "/index.html"), ProbeResult::Success);
        assert_eq!(http_status(&nginx, 80, "/healthz"), ProbeResult::HttpStatus(404));
        assert_eq!(http_status(&AppKind::Generic("app".into()), 8080, "/healthz"), ProbeResult::Success);
    }
}
