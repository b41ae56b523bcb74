//! What an L7 proxy in a pod watches to reach its backends, shared by ingress-nginx
//! ([`super::controller`]) and NGINX Gateway Fabric (`crate::gateway`): the Services (ports,
//! ClusterIP), their **ready** endpoints from the EndpointSlices, and the TLS Secrets that
//! exist. Both controllers proxy to an endpoint chosen from this view, never through a lookup
//! of "the pod behind a Service": the connection to it is an ordinary pod-to-pod connection.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use crate::api::ingress::ServiceBackendPort;
use crate::api::intstr::IntOrString;
use crate::api::{Kind, Object};
use crate::apiserver::ApiServer;

/// A Service as the controller's informer sees it.
#[derive(Clone, Debug, Default)]
pub struct ServiceEntry {
    /// ClusterIP, if any.
    pub cluster_ip: Option<Ipv4Addr>,
    /// `(name, port, targetPort)`.
    pub ports: Vec<(String, i32, Option<IntOrString>)>,
}

/// The API objects the controller watches, reduced to what routing needs.
#[derive(Clone, Debug, Default)]
pub struct ControllerView {
    /// Services by `ns/name`.
    pub services: BTreeMap<String, ServiceEntry>,
    /// Ready endpoints by `ns/name` of the Service: `(port name, address, port)`, in slice order.
    pub endpoints: BTreeMap<String, Vec<(Option<String>, Ipv4Addr, u16)>>,
    /// `ns/name` of the TLS Secrets (`kubernetes.io/tls`, with `tls.crt` and `tls.key`).
    pub tls_secrets: BTreeSet<String>,
}

impl ControllerView {
    /// Reads the Services, EndpointSlices and TLS Secrets of the store.
    pub fn build(api: &ApiServer) -> ControllerView {
        let mut view = ControllerView::default();
        for s in api.services() {
            let key = format!("{}/{}", s.metadata.namespace, s.metadata.name);
            let cluster_ip = match s.spec.cluster_ip.ip() {
                Some(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            };
            let ports =
                s.spec.ports.iter().map(|p| (p.name.clone(), p.port, p.target_port.clone())).collect();
            view.services.insert(key, ServiceEntry { cluster_ip, ports });
        }
        for sl in api.endpoint_slices() {
            let Some(svc) = sl.service_name() else { continue };
            let key = format!("{}/{}", sl.metadata.namespace, svc);
            let entry = view.endpoints.entry(key).or_default();
            for ep in sl.endpoints.iter().filter(|e| e.conditions.is_ready()) {
                for addr in ep.addresses.iter().filter_map(|a| a.parse::<Ipv4Addr>().ok()) {
                    for p in &sl.ports {
                        let Some(port) = p.port.and_then(|p| u16::try_from(p).ok()) else { continue };
                        entry.push((p.name.clone().filter(|n| !n.is_empty()), addr, port));
                    }
                }
            }
        }
        for s in api.list(Kind::Secret).filter_map(Object::as_secret) {
            if s.type_name() == crate::api::secret::SECRET_TYPE_TLS
                && s.has_key("tls.crt")
                && s.has_key("tls.key")
            {
                view.tls_secrets.insert(format!("{}/{}", s.metadata.namespace, s.metadata.name));
            }
        }
        view
    }

    /// The Service port `port` (by number, else by name) of `namespace/name`.
    pub fn service_port(
        &self,
        namespace: &str,
        name: &str,
        port: &ServiceBackendPort,
    ) -> Option<(&str, i32)> {
        let svc = self.services.get(&format!("{namespace}/{name}"))?;
        svc.ports
            .iter()
            .find(|(pn, p, _)| match (&port.number, &port.name) {
                (Some(n), _) if *n != 0 => p == n,
                (_, Some(want)) => pn == want,
                _ => false,
            })
            .map(|(pn, p, _)| (pn.as_str(), *p))
    }

    /// The ready endpoints of Service port `port`, or the controller's complaint (ingress-nginx's
    /// words) when the Service, the port or every endpoint is missing.
    pub fn ready_endpoints(
        &self,
        namespace: &str,
        name: &str,
        port: &ServiceBackendPort,
    ) -> Result<Vec<SocketAddrV4>, String> {
        let key = format!("{namespace}/{name}");
        if !self.services.contains_key(&key) {
            return Err(format!(
                "Error obtaining Endpoints for Service \"{key}\": no object matching key \"{key}\" in local store"
            ));
        }
        let Some((port_name, _)) = self.service_port(namespace, name, port) else {
            return Err(format!("Service \"{key}\" does not have any port {port}"));
        };
        let eps = self.endpoints.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let out: Vec<SocketAddrV4> = eps
            .iter()
            .filter(|(n, _, _)| n.as_deref().unwrap_or("") == port_name)
            .map(|(_, ip, p)| SocketAddrV4::new(*ip, *p))
            .collect();
        if out.is_empty() {
            return Err(format!("Service \"{key}\" does not have any active Endpoint."));
        }
        Ok(out)
    }

    /// The ClusterIP and port of Service port `port` (`service-upstream`).
    pub fn cluster_ip_upstream(
        &self,
        namespace: &str,
        name: &str,
        port: &ServiceBackendPort,
    ) -> Option<SocketAddrV4> {
        let (_, p) = self.service_port(namespace, name, port)?;
        let ip = self.services.get(&format!("{namespace}/{name}"))?.cluster_ip?;
        Some(SocketAddrV4::new(ip, u16::try_from(p).ok()?))
    }
}
