//! How the simulated processes answer the kubelet's readiness probes.
//!
//! Most containers run an app netsim does not look inside: its probes succeed, unless they aim
//! at a port none of the pod's processes listens on or get an HTTP error status from it
//! ([`super::served_ports`]), or the pod hangs ([`super::hung_apps`]). CoreDNS is different: its probe endpoints are servers its
//! Corefile declares. The `ready` plugin serves `/ready` (on `:8181` unless it says another
//! address) and the `health` plugin `/health` (`:8080`); each is an HTTP server of its own, so
//! a path one of them does not serve gets `404 Not Found`, and a port neither listens on
//! refuses the connection. kubeadm's Deployment probes `/ready` on 8181: a Corefile without
//! `ready` makes every CoreDNS pod fail its readiness probe ("connection refused"), and the
//! `kube-dns` Service loses its endpoints. A Corefile that never loaded leaves nothing
//! listening at all.
//!
//! The probe hook is installed on the controllers only once something can make a probe fail
//! (a hang, a probe its pod's processes fail, a Corefile written to the `coredns` ConfigMap,
//! a CoreDNS pod probed elsewhere than kubeadm's `/ready` on 8181), so a cluster that never
//! does probes as before: every probe succeeds and ready containers are not probed again.
//!
//! `/ready` answers 503 while the `kubernetes` plugin has not synced with the API
//! ([`crate::dns::coredns::kube_api`]) and logs `[INFO] plugin/ready: Still waiting on:
//! "kubernetes"`. Left out: liveness probes.

use std::cell::RefCell;
use std::rc::Rc;

use crate::api::Pod;
use crate::controllers::{ProbeCheck, ProbeResult};

use super::hung_apps::HungApps;
use super::served_ports::FailingProbes;
use super::world::DnsState;

/// Whether a pod runs CoreDNS (kubeadm's `k8s-app: kube-dns` label, or a CoreDNS image).
pub fn is_coredns(pod: &Pod) -> bool {
    pod.metadata.labels.get("k8s-app").is_some_and(|v| v == "kube-dns")
        || pod.spec.containers.iter().any(|c| c.image.contains("coredns"))
}

/// The restart count of the pod's first container while it runs (`None` when it does not).
pub fn running_container(pod: &Pod) -> Option<i64> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    status.state.as_ref()?.running.as_ref()?;
    Some(status.restart_count)
}

/// Whether every readiness probe of a CoreDNS pod is one the kubeadm Corefile answers with
/// 200 (an `httpGet` of `/ready` on 8181), or absent: the probe hook is not needed for it.
pub fn coredns_probes_as_kubeadm(pod: &Pod) -> bool {
    pod.spec.containers.iter().filter_map(|c| c.readiness_probe.as_ref()).all(|p| {
        p.http_get
            .as_ref()
            .is_some_and(|h| h.path == "/ready" && matches!(&h.port, crate::api::IntOrString::Int(8181)))
    })
}

/// The processes' side of the kubelet's probes: hung apps and CoreDNS's HTTP servers.
pub struct ProbeAnswers {
    /// Pods whose process hangs.
    pub hung: Rc<RefCell<HungApps>>,
    /// Pods whose probes fail on what their processes serve (an unserved port, an HTTP
    /// error status).
    pub failing: Rc<RefCell<FailingProbes>>,
    /// CoreDNS's running Corefile.
    pub dns: Rc<RefCell<DnsState>>,
}

impl ProbeAnswers {
    /// How the probe `chk` ends.
    pub fn probe(&self, chk: &ProbeCheck<'_>) -> ProbeResult {
        let r = if is_coredns(chk.pod) { self.coredns(chk) } else { self.failing.borrow().probe(chk) };
        if r != ProbeResult::Success {
            return r;
        }
        self.hung.borrow().probe(chk)
    }

    /// A probe of a CoreDNS container, by the Corefile running when it starts.
    fn coredns(&self, chk: &ProbeCheck<'_>) -> ProbeResult {
        let mut dns = self.dns.borrow_mut();
        // The reload plugin's checks due by then have run.
        let DnsState { process, dead, .. } = &mut *dns;
        process.tick(chk.now, dead);
        let Some(setup) = dns.process.setup() else {
            // The Corefile never loaded: CoreDNS exited, nothing listens.
            return if chk.probe.exec.is_some() { ProbeResult::Success } else { ProbeResult::Refused };
        };
        let Some(port) = chk.port.and_then(|p| u16::try_from(p).ok()) else { return ProbeResult::Success };
        let pod = format!("{}/{}", chk.pod.metadata.namespace, chk.pod.metadata.name);
        let unsynced = dns.unsynced(&pod);
        match &chk.probe.http_get {
            Some(h) => {
                let path = if h.path.is_empty() { "/" } else { h.path.as_str() };
                match setup.http_status(port, path) {
                    // The metrics server (not simulated) serves `/metrics` only.
                    None if setup.prometheus_on(port) && path == "/metrics" => ProbeResult::Success,
                    None if setup.prometheus_on(port) => ProbeResult::HttpStatus(404),
                    // A DNS server over TCP reads "GE" as a message length and waits for the
                    // rest: the kubelet gives up first.
                    None if setup.serves_dns_on(port) => ProbeResult::TimedOut,
                    None => ProbeResult::Refused,
                    // plugin/ready: a plugin not ready yet (kubernetes before its first
                    // sync) makes it 503, and it says which.
                    Some(200) if path == "/ready" && setup.ready_on(port) && unsynced => {
                        let line = "[INFO] plugin/ready: Still waiting on: \"kubernetes\"".to_string();
                        dns.process.log(&pod, line);
                        ProbeResult::HttpStatus(503)
                    }
                    Some(code) if (200..400).contains(&code) => ProbeResult::Success,
                    Some(code) => ProbeResult::HttpStatus(code),
                }
            }
            // A TCP probe needs only a listener: an HTTP server, or a DNS server over TCP.
            None if setup.http_status(port, "/").is_some()
                || setup.serves_dns_on(port)
                || setup.prometheus_on(port) =>
            {
                ProbeResult::Success
            }
            None => ProbeResult::Refused,
        }
    }
}
