//! Faults as scenario steps, typed: each one parsed from its step text ([`Fault::parse`], so a
//! bad one is an input error with a position, not a line in the transcript) and injected into
//! the simulated parts ([`Cluster::inject`]) with a real effect:
//!
//! - `stop node/N` / `start node/N`: the node's eth0 goes down (up), its kubelet stops
//!   (starts) reporting, so the node lifecycle controller marks it NotReady after
//!   `node-monitor-grace-period` and evicts after the toleration; kube-proxy there stops
//!   syncing.
//! - `stop kube-proxy/N` / `start kube-proxy/N`: the node's rules freeze as they are (start:
//!   one sync of the current view). `restart kube-proxy/N`: a new process, whose first sync
//!   restores every table it owns in full (iptables-restore without `--noflush`), as a
//!   starting kube-proxy does, and cleans stale UDP conntrack entries.
//! - `delete pod/NAME` (a pod-name prefix is enough when unique): a graceful deletion, as
//!   `kubectl delete pod` (preStop, SIGTERM, the grace period).
//! - `crash pod/NAME`: the first container exits with status 1; the kubelet restarts it as
//!   its back-off table says (`controllers::kubelet::Backoff`: at once the first time, then
//!   after 10s, 20s, ... up to 5m in CrashLoopBackOff; reset after 10 minutes).
//! - `hang pod/NAME` / `resume pod/NAME`: the pod's server process stops answering (the
//!   kernel still takes connections and datagrams) and runs again; its readiness probe notices
//!   (`super::hung_apps`).
//! - `flush conntrack/N`: `conntrack -F` on the node.
//! - `partition node/N` / `heal node/N`: the node keeps running but its link to every other
//!   node loses frames both ways (`Network::cut`; disposition `partitioned`). Its kubelet
//!   cannot reach the API server, so the node lifecycle controller marks it NotReady after the
//!   grace period as for `stop node/N`, and its pods' endpoints turn not ready; its kube-proxy
//!   loses its watch and its rules freeze. Its pods keep running and keep serving clients on
//!   the node itself. Heal: the kubelet reports again, kube-proxy resyncs.
//!
//! Left out: partitions from external hosts (the node network's other hosts still reach a
//! partitioned node), and the kubelet's own pod deletion after eviction while partitioned.

use super::exec::ExecOutput;
use super::facade::{Cluster, Target};
use crate::api::{Kind, ObjectKey};

/// A fault, as a step names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `stop node/N` (false) or `start node/N` (true).
    Node {
        /// Node name.
        node: String,
        /// Whether it comes up.
        up: bool,
    },
    /// `stop|start|restart kube-proxy/N`.
    KubeProxy {
        /// Node name.
        node: String,
        /// What happens to the process.
        action: ProcessAction,
    },
    /// `delete pod/NAME`.
    DeletePod(String),
    /// `crash pod/NAME`.
    CrashPod(String),
    /// `hang pod/NAME` (true) or `resume pod/NAME` (false).
    HangPod {
        /// The pod (a unique name prefix is enough).
        pod: String,
        /// Hangs (true) or runs again (false).
        hung: bool,
    },
    /// `flush conntrack/N`.
    FlushConntrack(String),
    /// `partition node/N` (true) or `heal node/N` (false).
    Partition {
        /// Node name.
        node: String,
        /// Cut (true) or healed (false).
        cut: bool,
    },
}

/// What happens to a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessAction {
    /// Stops; its state stays as it was.
    Stop,
    /// Starts again.
    Start,
    /// Stops and starts as a new process.
    Restart,
}

/// The forms a fault takes, for error messages.
pub const FAULT_FORMS: &str = "stop|start|partition|heal node/NAME, stop|start|restart kube-proxy/NODE, delete|crash|hang|resume pod/NAME, flush conntrack/NODE";

impl Fault {
    /// Parses `VERB KIND/NAME`; the error says what was expected.
    pub fn parse(s: &str) -> Result<Fault, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let [verb, what] = words.as_slice() else {
            return Err(format!("fault: expected one of {FAULT_FORMS}, got {s:?}"));
        };
        let Some((kind, name)) = what.split_once('/').filter(|(_, n)| !n.is_empty()) else {
            return Err(format!("fault: expected KIND/NAME after {verb:?}, got {what:?}"));
        };
        let name = name.to_string();
        let bad_verb =
            |valid: &str| Err(format!("fault: unknown action {verb:?} for {kind} (expected {valid})"));
        match kind {
            "node" => match *verb {
                "stop" => Ok(Fault::Node { node: name, up: false }),
                "start" => Ok(Fault::Node { node: name, up: true }),
                "partition" => Ok(Fault::Partition { node: name, cut: true }),
                "heal" => Ok(Fault::Partition { node: name, cut: false }),
                _ => bad_verb("stop, start, partition, heal"),
            },
            "kube-proxy" => {
                let action = match *verb {
                    "stop" => ProcessAction::Stop,
                    "start" => ProcessAction::Start,
                    "restart" => ProcessAction::Restart,
                    _ => return bad_verb("stop, start, restart"),
                };
                Ok(Fault::KubeProxy { node: name, action })
            }
            "pod" | "pods" => match *verb {
                "delete" => Ok(Fault::DeletePod(name)),
                "crash" => Ok(Fault::CrashPod(name)),
                "hang" => Ok(Fault::HangPod { pod: name, hung: true }),
                "resume" => Ok(Fault::HangPod { pod: name, hung: false }),
                _ => bad_verb("delete, crash, hang, resume"),
            },
            "conntrack" => match *verb {
                "flush" => Ok(Fault::FlushConntrack(name)),
                _ => bad_verb("flush"),
            },
            other => {
                Err(format!("fault: unknown kind {other:?} (expected node, kube-proxy, pod or conntrack)"))
            }
        }
    }

    /// The node the fault names, if it names one (to check against the cluster up front).
    pub fn node(&self) -> Option<&str> {
        match self {
            Fault::Node { node, .. }
            | Fault::KubeProxy { node, .. }
            | Fault::FlushConntrack(node)
            | Fault::Partition { node, .. } => Some(node),
            Fault::DeletePod(_) | Fault::CrashPod(_) | Fault::HangPod { .. } => None,
        }
    }
}

impl Cluster {
    /// Injects `f` now; the output is what the transcript shows under the step.
    pub fn inject(&mut self, f: &Fault) -> ExecOutput {
        let now = self.now();
        let fail = |m: String| ExecOutput { stderr: format!("{m}\n"), exit_code: 1, ..Default::default() };
        let node_index = |c: &Cluster, n: &str| c.world().node_index(n).ok_or(format!("fault: no node {n}"));
        match f {
            Fault::Node { node, up } => {
                let i = match node_index(self, node) {
                    Ok(i) => i,
                    Err(e) => return fail(e),
                };
                let w = self.world_mut();
                let host = w.nodes[i].host;
                w.nodes[i].up = *up;
                if let Ok(h) = w.net.host_mut(host) {
                    let _ = h.set_up("eth0", *up);
                }
                if *up && !w.nodes[i].partitioned {
                    w.controllers.node_up(node);
                    let (w, sched) = self.sim.split();
                    w.request_proxy_sync(i, now, sched);
                } else if !*up {
                    w.controllers.node_down(node, now);
                }
                self.kick();
                ExecOutput::default()
            }
            Fault::Partition { node, cut } => {
                let i = match node_index(self, node) {
                    Ok(i) => i,
                    Err(e) => return fail(e),
                };
                let w = self.world_mut();
                if w.nodes[i].partitioned == *cut {
                    return fail(format!(
                        "fault: node {node} is {}",
                        if *cut { "already partitioned" } else { "not partitioned" }
                    ));
                }
                w.nodes[i].partitioned = *cut;
                let host = w.nodes[i].host;
                let others: Vec<sim_net::iface::HostId> =
                    w.nodes.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, n)| n.host).collect();
                for o in others {
                    if *cut { w.net.cut(host, o) } else { w.net.heal(host, o) }
                }
                if *cut {
                    w.controllers.node_down(node, now);
                } else if w.nodes[i].up {
                    w.controllers.node_up(node);
                    // kube-proxy's watch reconnects: it relists and syncs.
                    let (w, sched) = self.sim.split();
                    w.request_proxy_sync(i, now, sched);
                }
                self.kick();
                ExecOutput::default()
            }
            Fault::KubeProxy { node, action } => {
                let i = match node_index(self, node) {
                    Ok(i) => i,
                    Err(e) => return fail(e),
                };
                let w = self.world_mut();
                match action {
                    ProcessAction::Stop => {
                        w.nodes[i].proxy.running = false;
                        return ExecOutput::default();
                    }
                    ProcessAction::Start => w.nodes[i].proxy.running = true,
                    ProcessAction::Restart => {
                        // A new process: it writes its conntrack sysctls again, and its first
                        // sync writes every table in full.
                        let (host, cpus) = (w.nodes[i].host, w.nodes[i].cpus);
                        let section = w.nodes[i].proxy.conntrack.clone();
                        if let Ok(h) = w.net.host_mut(host) {
                            let ct =
                                crate::kube_proxy::conntracker::apply(h.conntrack.config(), &section, cpus);
                            h.conntrack.set_config(ct);
                        }
                        let n = &mut w.nodes[i];
                        n.proxy.running = true;
                        n.proxy.syncs = 0;
                        n.proxy.nft_view = None;
                        n.proxy.runner =
                            crate::kube_proxy::sync_runner::SyncRunner::for_config(now, &n.proxy.config);
                    }
                }
                let (w, sched) = self.sim.split();
                w.request_proxy_sync(i, now, sched);
                ExecOutput::default()
            }
            Fault::DeletePod(name) => {
                let (ns, pod) = match self.pod_named(name) {
                    Ok(p) => p,
                    Err(e) => return fail(e),
                };
                let result = self.world_mut().api.delete(Kind::Pod, &ns, &pod);
                self.kick();
                match result {
                    Ok(_) => ExecOutput { stdout: format!("pod \"{pod}\" deleted\n"), ..Default::default() },
                    Err(e) => fail(format!("{e:?}")),
                }
            }
            Fault::CrashPod(name) => {
                let (ns, pod) = match self.pod_named(name) {
                    Ok(p) => p,
                    Err(e) => return fail(e),
                };
                let key = ObjectKey::new(Kind::Pod, &ns, &pod);
                let w = self.world_mut();
                let crashed = w.controllers.crash_container(&w.api, &key, None, now);
                if crashed
                    && let Some(host) = w
                        .pods
                        .get(&super::world::pod_key(&ns, &pod))
                        .filter(|p| p.veth.is_some())
                        .map(|p| p.host)
                    && let Ok(h) = w.net.host_mut(host)
                {
                    // The process's connections die with it (its own namespace only: a
                    // hostNetwork pod shares the node's sockets with everything else there).
                    h.sockets.drop_server_connections();
                }
                self.kick();
                if crashed {
                    ExecOutput {
                        stdout: format!("pod \"{pod}\": container exited with status 1\n"),
                        ..Default::default()
                    }
                } else {
                    fail(format!("fault: pod {pod} has no running container"))
                }
            }
            Fault::HangPod { pod: name, hung } => {
                let (ns, pod) = match self.pod_named(name) {
                    Ok(p) => p,
                    Err(e) => return fail(e),
                };
                let key = super::world::pod_key(&ns, &pod);
                let w = self.world_mut();
                let Some(host) = w.pods.get(&key).filter(|p| p.veth.is_some()).map(|p| p.host) else {
                    return fail(format!(
                        "fault: pod {pod} has no network of its own (not running, or hostNetwork)"
                    ));
                };
                let first = w.hung.borrow().is_empty();
                let changed = if *hung {
                    w.hung.borrow_mut().hang(&key, now)
                } else {
                    w.hung.borrow_mut().resume(&key, now)
                };
                if !changed {
                    return fail(format!(
                        "fault: pod {pod} {}",
                        if *hung { "already hangs" } else { "does not hang" }
                    ));
                }
                if let Ok(h) = w.net.host_mut(host) {
                    h.sockets.set_hung(*hung);
                }
                if first {
                    // From now on the kubelet's probes ask whether the app answers.
                    w.answer_probes();
                }
                self.kick();
                let what = if *hung {
                    "its process hangs: connections are accepted, nothing is answered"
                } else {
                    "its process runs again"
                };
                ExecOutput { stdout: format!("pod \"{pod}\": {what}\n"), ..Default::default() }
            }
            Fault::FlushConntrack(node) => {
                let i = match node_index(self, node) {
                    Ok(i) => i,
                    Err(e) => return fail(e),
                };
                let host = self.world().nodes[i].host;
                let n = match self.world_mut().net.host_mut(host) {
                    Ok(h) => h.conntrack.delete(now, &Default::default()).len(),
                    Err(e) => return fail(e.to_string()),
                };
                ExecOutput {
                    stderr: format!(
                        "conntrack v1.4.6 (conntrack-tools): connection tracking table has been emptied.\n# {n} entries flushed on {node}\n"
                    ),
                    ..Default::default()
                }
            }
        }
    }

    /// A pod by `NAME`, `NS/NAME` or a unique name prefix.
    fn pod_named(&self, name: &str) -> Result<(String, String), String> {
        match self.resolve_target(&format!("pod/{name}"))? {
            Target::Pod { namespace, name } => Ok((namespace, name)),
            other => Err(format!("fault: {other} is not a pod")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_errors() {
        assert_eq!(Fault::parse("stop node/node01"), Ok(Fault::Node { node: "node01".into(), up: false }));
        assert_eq!(
            Fault::parse("restart kube-proxy/node02"),
            Ok(Fault::KubeProxy { node: "node02".into(), action: ProcessAction::Restart })
        );
        assert_eq!(Fault::parse("flush conntrack/node01"), Ok(Fault::FlushConntrack("node01".into())));
        assert_eq!(
            Fault::parse("partition node/node01"),
            Ok(Fault::Partition { node: "node01".into(), cut: true })
        );
        assert_eq!(
            Fault::parse("heal node/node01"),
            Ok(Fault::Partition { node: "node01".into(), cut: false })
        );
        assert_eq!(
            Fault::parse("reboot node/node01").unwrap_err(),
            "fault: unknown action \"reboot\" for node (expected stop, start, partition, heal)"
        );
        assert_eq!(
            Fault::parse("stop toaster/t1").unwrap_err(),
            "fault: unknown kind \"toaster\" (expected node, kube-proxy, pod or conntrack)"
        );
        assert!(Fault::parse("stop").unwrap_err().starts_with("fault: expected one of"));
        assert_eq!(
            Fault::parse("hang pod/coredns"),
            Ok(Fault::HangPod { pod: "coredns".into(), hung: true })
        );
        assert_eq!(
            Fault::parse("resume pod/kube-system/coredns"),
            Ok(Fault::HangPod { pod: "kube-system/coredns".into(), hung: false })
        );
        assert_eq!(
            Fault::parse("freeze pod/web").unwrap_err(),
            "fault: unknown action \"freeze\" for pod (expected delete, crash, hang, resume)"
        );
    }
}
