//! The cloud load balancer's health checks of `externalTrafficPolicy: Local` services: for
//! every LoadBalancer service with `externalTrafficPolicy: Local` that has an ingress IP, the
//! provider sends an HTTP `GET` of [`LbHealthCheckConfig::path`] to `healthCheckNodePort` on
//! every node, every [`LbHealthCheckConfig::interval`], as a real TCP conversation from the
//! first external host (the load balancer's edge) through the node's netfilter to kube-proxy's
//! health-check server (`kube_proxy::healthcheck`). An answer other than `200` within
//! [`LbHealthCheckConfig::timeout`] is a failure; a node becomes healthy after
//! `healthy_threshold` consecutive passes and unhealthy after `unhealthy_threshold`
//! consecutive failures, and the load balancer routes the service's ingress IP only to the
//! nodes it thinks healthy (`world.rs` `route_external_ips`). A new node starts unhealthy.
//!
//! The defaults are the GCE provider's for these checks (cloud-provider-gcp
//! `gce_loadbalancer_external.go`: `gceHcCheckIntervalSeconds = 8`, `gceHcTimeoutSeconds = 1`,
//! `gceHcHealthyThreshold = 1`, `gceHcUnhealthyThreshold = 3`, request path `/healthz`), so a
//! node whose last local endpoint went away keeps receiving new connections for up to 3 × 8 s.
//!
//! Left out: the probes' source addresses (GCE's 35.191.0.0/16 and 130.211.0.0/22; here the
//! edge host's address), per-backend probe phases (one round probes every node at once), and
//! kube-proxy's `/healthz` check of services with `externalTrafficPolicy: Cluster` (their
//! nodes are healthy while up and running kube-proxy).

use std::net::SocketAddrV4;

use sim_core::{EventId, Scheduler, SimDuration, SimTime};
use sim_net::network::{ConvId, ConvProto, ConversationSpec, NetEvent, Outcome};

use super::world::{ClusterEvent, ClusterWorld};
use crate::api::service::TrafficPolicy;
use crate::api::{Kind, Object, ServiceType};
use crate::apps::HttpRequest;

/// How the load balancer probes its backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbHealthCheckConfig {
    /// Time between two probes of a node (`checkIntervalSec`).
    pub interval: SimDuration,
    /// How long a probe waits for its answer (`timeoutSec`).
    pub timeout: SimDuration,
    /// Consecutive passes that make an unhealthy node healthy (`healthyThreshold`).
    pub healthy_threshold: u32,
    /// Consecutive failures that make a healthy node unhealthy (`unhealthyThreshold`).
    pub unhealthy_threshold: u32,
    /// The request path (`requestPath`).
    pub path: String,
}

impl Default for LbHealthCheckConfig {
    /// The GCE provider's health check for `externalTrafficPolicy: Local`.
    fn default() -> Self {
        LbHealthCheckConfig {
            interval: SimDuration::from_secs(8),
            timeout: SimDuration::from_secs(1),
            healthy_threshold: 1,
            unhealthy_threshold: 3,
            path: "/healthz".to_string(),
        }
    }
}

/// The user agent of GCE's health checkers.
pub const PROBE_USER_AGENT: &str = "GoogleHC/1.0";

/// The load balancer's view of one node for one service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backend {
    /// True while the load balancer sends this service's traffic to the node.
    pub healthy: bool,
    /// Consecutive passes.
    successes: u32,
    /// Consecutive failures.
    failures: u32,
    /// The probe in flight.
    probe: Option<ConvId>,
    /// The last probe's answer (`200 OK`, `503 Service Unavailable`, `timed out` ...).
    pub last: Option<String>,
}

/// A service the load balancer health-checks.
#[derive(Debug)]
pub struct Probed {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Its `healthCheckNodePort`.
    pub port: u16,
    /// Per node index.
    pub backends: Vec<Backend>,
    /// False once the service no longer needs checks (deleted, another type or policy).
    pub active: bool,
    /// The next round.
    timer: Option<EventId>,
}

/// The load balancer's health checking.
#[derive(Debug, Default)]
pub struct LbHealth {
    /// How it probes.
    pub config: LbHealthCheckConfig,
    /// The services it checks, in the order they were first checked.
    pub services: Vec<Probed>,
    /// Every change of a node's health, with its instant, in order.
    pub events: Vec<(SimTime, String)>,
}

impl LbHealth {
    /// The active checks of service `namespace/name`.
    pub fn probed(&self, namespace: &str, name: &str) -> Option<&Probed> {
        self.services.iter().find(|p| p.active && p.namespace == namespace && p.name == name)
    }
}

/// What one probe's conversation says: passed, and the answer in words.
fn probe_result(outcome: Option<&Outcome>) -> (bool, String) {
    match outcome {
        Some(Outcome::Completed { response }) => {
            let line = response.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let status = line.trim_end().split_once(' ').map_or("", |x| x.1).to_string();
            let ok = status.starts_with("200");
            (ok, if status.is_empty() { "empty reply".to_string() } else { status })
        }
        Some(Outcome::Refused) => (false, "connection refused".to_string()),
        Some(Outcome::Reset) => (false, "connection reset".to_string()),
        Some(Outcome::Unreachable { .. }) => (false, "unreachable".to_string()),
        None | Some(Outcome::TimedOut) => (false, "timed out".to_string()),
        Some(Outcome::NoRoute) | Some(Outcome::NotPermitted) | Some(Outcome::Failed(_)) => {
            (false, "not sent".to_string())
        }
    }
}

impl ClusterWorld {
    /// Starts checking the LoadBalancer services with `externalTrafficPolicy: Local` that have
    /// an ingress IP (a first round now), and stops checking those that no longer qualify.
    pub(super) fn update_lb_probes(&mut self, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        if self.config.lb_pool.is_empty() || self.externals.is_empty() {
            return;
        }
        let mut want: Vec<(String, String, u16)> = Vec::new();
        for o in self.api.list(Kind::Service) {
            let Object::Service(s) = o else { continue };
            if s.spec.service_type() != ServiceType::LoadBalancer
                || s.spec.external_policy() != TrafficPolicy::Local
                || s.status.as_ref().is_none_or(|st| st.load_balancer.ingress.is_empty())
            {
                continue;
            }
            let Some(port) =
                s.spec.health_check_node_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0)
            else {
                continue;
            };
            want.push((s.metadata.namespace.clone(), s.metadata.name.clone(), port));
        }
        if want.is_empty() && self.lb.services.iter().all(|p| !p.active) {
            return;
        }
        let nodes = self.nodes.len();
        for i in 0..self.lb.services.len() {
            let p = &mut self.lb.services[i];
            match want.iter().position(|(ns, n, _)| *ns == p.namespace && *n == p.name) {
                Some(w) => {
                    let (_, _, port) = want.remove(w);
                    p.port = port;
                    if !p.active {
                        p.active = true;
                        p.backends = vec![Backend::default(); nodes];
                        p.timer = Some(sched.schedule_at(now, ClusterEvent::LbProbe { service: i }));
                    }
                }
                None if p.active => {
                    p.active = false;
                    if let Some(id) = p.timer.take() {
                        sched.cancel(id);
                    }
                }
                None => {}
            }
        }
        for (namespace, name, port) in want {
            let service = self.lb.services.len();
            let timer = Some(sched.schedule_at(now, ClusterEvent::LbProbe { service }));
            self.lb.services.push(Probed {
                namespace,
                name,
                port,
                backends: vec![Backend::default(); nodes],
                active: true,
                timer,
            });
        }
    }

    /// One round of probes for checked service `service`: a `GET` to every node's
    /// health-check node port now, the answers read when the timeout has passed, the next
    /// round after the interval.
    pub(super) fn lb_probe(&mut self, service: usize, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let Some(&from) = self.externals.values().next() else { return };
        let Some(p) = self.lb.services.get_mut(service) else { return };
        if !p.active {
            return;
        }
        let cfg = &self.lb.config;
        for (i, node) in self.nodes.iter().enumerate() {
            let dst = SocketAddrV4::new(node.ip, p.port);
            let payload = HttpRequest::render("GET", &dst.to_string(), &cfg.path, PROBE_USER_AGENT);
            let spec = ConversationSpec {
                from,
                proto: ConvProto::Tcp,
                dst,
                payload,
                src_port: None,
                timeout: cfg.timeout,
            };
            let id = self.net.start_conversation(spec);
            sched.schedule_at(now, ClusterEvent::Net(NetEvent::ConvStart(id)));
            if let Some(b) = p.backends.get_mut(i) {
                b.probe = Some(id);
            }
        }
        sched.schedule_at(now + cfg.timeout, ClusterEvent::LbProbeDone { service });
        p.timer = Some(sched.schedule_at(now + cfg.interval, ClusterEvent::LbProbe { service }));
    }

    /// Reads the answers of service `service`'s last round and moves each node's health; a
    /// change re-routes the ingress IPs.
    pub(super) fn lb_probe_done(&mut self, service: usize, now: SimTime) {
        let Some(p) = self.lb.services.get_mut(service) else { return };
        if !p.active {
            return;
        }
        let cfg = &self.lb.config;
        let mut changed = false;
        for (i, b) in p.backends.iter_mut().enumerate() {
            let Some(id) = b.probe.take() else { continue };
            let (ok, answer) = probe_result(self.net.conversation(id).and_then(|c| c.outcome.as_ref()));
            let node = self.nodes.get(i).map(|n| n.name.as_str()).unwrap_or("?");
            if ok {
                b.failures = 0;
                b.successes = b.successes.saturating_add(1);
                if !b.healthy && b.successes >= cfg.healthy_threshold {
                    b.healthy = true;
                    changed = true;
                    self.lb.events.push((
                        now,
                        format!(
                            "load balancer: node/{node} healthy for {}/{} (health check: {answer})",
                            p.namespace, p.name
                        ),
                    ));
                }
            } else {
                b.successes = 0;
                b.failures = b.failures.saturating_add(1);
                if b.healthy && b.failures >= cfg.unhealthy_threshold {
                    b.healthy = false;
                    changed = true;
                    self.lb.events.push((
                        now,
                        format!(
                            "load balancer: node/{node} unhealthy for {}/{} ({} failed health checks: {answer})",
                            p.namespace, p.name, b.failures
                        ),
                    ));
                }
            }
            b.last = Some(answer);
        }
        if changed {
            self.route_external_ips();
        }
    }

    /// True when the load balancer's health of every checked node is what kube-proxy's
    /// health-check server on it answers (for [`super::Cluster::settled`]).
    pub fn lb_converged(&self) -> bool {
        self.lb.services.iter().filter(|p| p.active).all(|p| {
            p.backends.iter().zip(&self.nodes).all(|(b, n)| {
                let serving = n.up
                    && n.proxy
                        .health
                        .iter()
                        .any(|h| h.namespace == p.namespace && h.name == p.name && h.local_endpoints > 0);
                b.healthy == serving
            })
        })
    }
}
