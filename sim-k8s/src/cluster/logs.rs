//! `kubectl logs`: what the simulated processes have written to their container's stdout.
//!
//! Two processes keep a log: CoreDNS (its start banner, reloads and, with the `log` plugin, a
//! line per query, per replica: [`Cluster::coredns_logs`]) and the ingress-nginx controller
//! (its access and error lines, `ingress::IngressState::log`, one log its replicas share).
//! The other images' output is not simulated, and `kubectl logs` says so instead of printing
//! an empty log that a real container would not have.
//!
//! Which container's log, as the kubelet's `validateContainerLogStatus` picks it: the running
//! one, or, while the container waits (CrashLoopBackOff) or has exited, the one that ran
//! last; `--previous` the one before the running one (while it waits, the last one again),
//! and when the container never terminated the API server's `BadRequest` `previous
//! terminated container "C" in pod "P" not found`. `--tail N` keeps the last N lines;
//! `--follow` prints what is logged by the step's time (the step does not wait).

use super::exec::ExecOutput;
use super::facade::Cluster;
use crate::apps::AppKind;

/// `kubectl logs` flags beyond the pod and container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// `-p` / `--previous`.
    pub previous: bool,
    /// `--tail N` (negative: every line).
    pub tail: Option<i64>,
}

impl Cluster {
    /// `kubectl logs POD [-c CONTAINER] [-n NAMESPACE] [-p] [--tail N]`, as kubectl prints it.
    pub fn kubectl_logs(
        &self,
        pod: &str,
        namespace: Option<&str>,
        container: Option<&str>,
        opts: LogOptions,
    ) -> ExecOutput {
        let ns = namespace.unwrap_or("default");
        let name = match pod.split_once('/') {
            None => pod,
            Some(("pod" | "pods" | "po", n)) => n,
            Some((kind, _)) => {
                return ExecOutput::err(
                    format!(
                        "error: kubectl logs {kind}/NAME is not simulated: name the pod (kubectl get pods)"
                    ),
                    1,
                );
            }
        };
        let Some(p) = self.pod(ns, name) else {
            return ExecOutput::err(format!("Error from server (NotFound): pods \"{name}\" not found"), 1);
        };
        let containers = &p.spec.containers;
        // With no `-c`, kubectl takes the first container and says so when there are several
        // (`podcmd.FindOrDefaultContainerByName`); a wrong `-c` is the API server's BadRequest.
        let (chosen, notice) = match container {
            Some(c) => match containers.iter().find(|k| k.name == c) {
                Some(k) => (k, String::new()),
                None => {
                    return ExecOutput::err(
                        format!("Error from server (BadRequest): container {c} is not valid for pod {name}"),
                        1,
                    );
                }
            },
            None => match containers.as_slice() {
                [] => return ExecOutput::err(format!("error: pod {name} has no containers"), 1),
                [one] => (one, String::new()),
                [first, ..] => {
                    let all: Vec<&str> = containers.iter().map(|k| k.name.as_str()).collect();
                    (first, format!("Defaulted container {:?} out of: {}\n", first.name, all.join(", ")))
                }
            },
        };
        // The container's status decides which of its logs there is (kubelet_pods.go
        // validateContainerLogStatus).
        let status = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == chosen.name));
        let running = status.and_then(|s| s.state.as_ref()).is_some_and(|s| s.running.is_some());
        let terminated_before =
            status.and_then(|s| s.last_state.as_ref()).is_some_and(|s| s.terminated.is_some());
        let waiting = status.and_then(|s| s.state.as_ref()).and_then(|s| s.waiting.as_ref());
        // No container of it has terminated yet: no previous log, and a waiting one has none.
        let refused = match waiting {
            _ if terminated_before => None,
            _ if opts.previous => {
                Some(format!("previous terminated container \"{}\" in pod \"{name}\" not found", chosen.name))
            }
            Some(w) => Some(format!(
                "container \"{}\" in pod \"{name}\" is waiting to start: {}",
                chosen.name,
                w.reason.as_deref().unwrap_or_default()
            )),
            None => None,
        };
        if let Some(why) = refused {
            return ExecOutput::err(format!("Error from server (BadRequest): {why}"), 1);
        }
        // While the container waits, the last one's log is its "previous" one too.
        let before = opts.previous && running;
        let mut out = self.logs_of(ns, name, chosen, before);
        if let Some(n) = opts.tail.filter(|n| *n >= 0)
            && out.exit_code == 0
        {
            let lines: Vec<&str> = out.stdout.lines().collect();
            let keep = lines.len().saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
            out.stdout = lines[keep..].iter().map(|l| format!("{l}\n")).collect();
        }
        out.stderr.insert_str(0, &notice);
        out
    }

    /// The log of container `chosen` of pod `ns/name` (`before`: of the container before the
    /// running one), or why there is none.
    fn logs_of(&self, ns: &str, name: &str, chosen: &crate::api::Container, before: bool) -> ExecOutput {
        if let Some(lines) = self.coredns_logs(ns, name) {
            let lines = if before {
                let dns = self.world().dns.borrow();
                dns.process
                    .previous_logs(&super::world::pod_key(ns, name))
                    .map(<[String]>::to_vec)
                    .unwrap_or_default()
            } else {
                lines
            };
            return ExecOutput::out(lines.iter().map(|l| format!("{l}\n")).collect::<String>());
        }
        if before {
            return ExecOutput::err(
                format!(
                    "netsim: the log of an earlier container of image {:?} (container {} of pod {name}) is not kept",
                    chosen.image, chosen.name
                ),
                1,
            );
        }
        if AppKind::from_image(&chosen.image) == AppKind::IngressNginx {
            let state = self.world().ingress.borrow();
            return ExecOutput::out(state.log.iter().map(|l| format!("{l}\n")).collect::<String>());
        }
        if AppKind::from_image(&chosen.image) == AppKind::GatewayFabric {
            let state = self.world().gateway.borrow();
            return ExecOutput::out(state.control_log.iter().map(|l| format!("{l}\n")).collect::<String>());
        }
        if AppKind::from_image(&chosen.image) == AppKind::GatewayFabricNginx {
            let state = self.world().gateway.borrow();
            let key = format!("{ns}/{name}");
            let lines = state.log.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            return ExecOutput::out(lines.iter().map(|l| format!("{l}\n")).collect::<String>());
        }
        ExecOutput::err(
            format!(
                "netsim: the output of image {:?} (container {} of pod {name}) is not simulated; \
                 CoreDNS, the ingress-nginx controller and NGINX Gateway Fabric's nginx keep logs",
                chosen.image, chosen.name
            ),
            1,
        )
    }
}
