//! `kubectl logs`: what the simulated processes have written to their container's stdout.
//!
//! Two processes keep a log: CoreDNS (its start banner, reloads and, with the `log` plugin, a
//! line per query, per replica: [`Cluster::coredns_logs`]) and the ingress-nginx controller
//! (its access and error lines, `ingress::IngressState::log`, one log its replicas share).
//! The other images' output is not simulated, and `kubectl logs` says so instead of printing
//! an empty log that a real container would not have.

use super::exec::ExecOutput;
use super::facade::Cluster;
use crate::apps::AppKind;

impl Cluster {
    /// `kubectl logs POD [-c CONTAINER] [-n NAMESPACE]`, as kubectl prints it.
    pub fn kubectl_logs(&self, pod: &str, namespace: Option<&str>, container: Option<&str>) -> ExecOutput {
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
        let mut out = self.logs_of(ns, name, chosen);
        out.stderr.insert_str(0, &notice);
        out
    }

    /// The log of container `chosen` of pod `ns/name`, or why there is none.
    fn logs_of(&self, ns: &str, name: &str, chosen: &crate::api::Container) -> ExecOutput {
        if let Some(lines) = self.coredns_logs(ns, name) {
            return ExecOutput::out(lines.iter().map(|l| format!("{l}\n")).collect::<String>());
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
