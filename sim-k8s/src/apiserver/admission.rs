//! Validating admission webhooks, called after an object passes validation, as the
//! `ValidatingAdmissionWebhook` plugin (`k8s.io/apiserver/pkg/admission/plugin/webhook`) calls
//! them: every ValidatingWebhookConfiguration, by name, and each webhook whose rules cover the
//! operation; `failurePolicy: Fail` (the default) turns a failed call into an InternalError,
//! `Ignore` lets the request through.
//!
//! The call goes to `clientConfig.service` through the Service's ClusterIP, as the default
//! resolver sends it. It is not sent through the simulated dataplane: a Service with no ready
//! endpoint gives the refused connection kube-proxy's REJECT would give, and a ready endpoint
//! answers with the webhook it runs. The one webhook modelled is the ingress-nginx
//! controller's (`crate::ingress::admission`); a webhook served by any other pod is not
//! simulated and allows everything, and webhooks are called for Ingresses only.

use std::net::IpAddr;

use super::{ApiError, ApiServer};
use crate::api::{Ingress, IngressClass, Kind, Object};
use crate::apps::AppKind;
use crate::ingress::ControllerFlags;

/// How a webhook call went.
enum Call {
    /// The webhook allowed the request (or is not simulated).
    Allowed,
    /// The webhook refused it, with its message.
    Denied(String),
    /// The call failed (`failed to call webhook: ...`).
    Failed(String),
}

impl ApiServer {
    /// Runs the validating webhooks for `obj` being written with `operation` (`CREATE` or
    /// `UPDATE`).
    pub(super) fn validating_admission(&self, obj: &Object, operation: &str) -> Result<(), ApiError> {
        let Object::Ingress(ing) = obj else { return Ok(()) };
        let mut configs: Vec<_> = self
            .list(Kind::ValidatingWebhookConfiguration)
            .filter_map(|o| o.as_validating_webhook_configuration())
            .collect();
        if configs.is_empty() {
            return Ok(());
        }
        configs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for vwc in configs {
            for hook in vwc.hooks() {
                if !hook.matches("networking.k8s.io", "v1", operation, "ingresses") {
                    continue;
                }
                let Some((ns, name, port, path)) = &hook.service else { continue };
                let url = format!("https://{name}.{ns}.svc:{port}{path}?timeout={}s", hook.timeout_seconds);
                match self.call_ingress_webhook(ing, ns, name, *port) {
                    Call::Allowed => {}
                    Call::Denied(message) => {
                        return Err(ApiError::BadRequest {
                            message: format!(
                                "admission webhook \"{}\" denied the request: {message}",
                                hook.name
                            ),
                        });
                    }
                    Call::Failed(_) if hook.ignore_failures => {}
                    Call::Failed(why) => {
                        return Err(ApiError::InternalError {
                            message: format!(
                                "failed calling webhook \"{}\": failed to call webhook: Post \"{url}\": {why}",
                                hook.name
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Calls the webhook behind Service `ns/name` port `port` for `ing`.
    fn call_ingress_webhook(&self, ing: &Ingress, ns: &str, name: &str, port: u16) -> Call {
        let Some(svc) = self.get_named(Kind::Service, ns, name).and_then(Object::as_service) else {
            return Call::Failed(format!("service \"{name}\" not found"));
        };
        let cluster_ip = svc.spec.cluster_ip.ip();
        let dial = |what: &str| match cluster_ip {
            Some(ip) => format!("dial tcp {ip}:{port}: {what}"),
            None => format!("dial tcp: lookup {name}.{ns}.svc: no such host"),
        };
        let Some(sp) = svc.spec.ports.iter().find(|p| p.port == i32::from(port)) else {
            return Call::Failed(dial("connect: connection refused"));
        };
        // The first ready endpoint of the port, in slice order (kube-proxy would pick one at
        // random; every replica of the controller answers the same).
        let ready = self
            .endpoint_slices()
            .filter(|sl| sl.metadata.namespace == ns && sl.service_name() == Some(name))
            .filter(|sl| sl.ports.iter().any(|p| p.name.as_deref().unwrap_or("") == sp.name))
            .flat_map(|sl| sl.endpoints.iter())
            .filter(|e| e.conditions.is_ready())
            .flat_map(|e| e.addresses.iter())
            .find_map(|a| a.parse::<IpAddr>().ok());
        let Some(addr) = ready else { return Call::Failed(dial("connect: connection refused")) };
        let pod = self
            .pods()
            .find(|p| p.metadata.namespace == ns && p.status.as_ref().and_then(|s| s.pod_ip) == Some(addr));
        let Some(pod) = pod else { return Call::Allowed };
        let Some(container) =
            pod.spec.containers.iter().find(|c| AppKind::from_image(&c.image) == AppKind::IngressNginx)
        else {
            // A webhook server netsim does not model.
            return Call::Allowed;
        };
        if !container
            .args
            .iter()
            .any(|a| a.starts_with("--validating-webhook=") || a == "--validating-webhook")
        {
            // The controller runs no admission server: nothing listens on the webhook port.
            return Call::Failed(dial("connect: connection refused"));
        }
        let flags = ControllerFlags::from_args(&container.args, &pod.metadata.namespace);
        let all: Vec<&Ingress> = self.list(Kind::Ingress).filter_map(Object::as_ingress).collect();
        let classes: Vec<&IngressClass> =
            self.list(Kind::IngressClass).filter_map(Object::as_ingress_class).collect();
        match crate::ingress::admission::check_ingress(&flags, ing, &all, &classes) {
            Ok(()) => Call::Allowed,
            Err(m) => Call::Denied(m),
        }
    }
}
