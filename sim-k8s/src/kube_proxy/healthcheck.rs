//! The per-service health-check HTTP server kube-proxy runs on `healthCheckNodePort` for
//! LoadBalancer services with `externalTrafficPolicy: Local` (upstream
//! `pkg/proxy/healthcheck/service_health.go`): cloud load balancers probe it to learn which
//! nodes have local endpoints. The answer is 200 when the node has local ready endpoints (and
//! kube-proxy itself is healthy), otherwise 503, with a tab-indented JSON body and the endpoint
//! count in `X-Load-Balancing-Endpoint-Weight`. Endpoints are counted by distinct local ready
//! IP across all ports of the service (`EndpointsMap.LocalReadyEndpoints`). Not modelled: the
//! kube-proxy `/healthz` and `/livez` servers.

use std::collections::BTreeMap;

use super::config::ProxyConfig;
use super::endpoint::EndpointsMap;
use super::service_port::ServicePortInfo;

/// One health-check server kube-proxy keeps open after a sync.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HealthCheckServer {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// `healthCheckNodePort` (TCP, on every node address).
    pub node_port: u16,
    /// Distinct local ready endpoint IPs of the service on this node.
    pub local_endpoints: usize,
}

/// An HTTP answer from a health-check server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheckResponse {
    /// 200 or 503.
    pub status: u16,
    /// `OK` or `Service Unavailable`.
    pub reason: &'static str,
    /// Response headers in the order upstream sets them.
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: String,
}

impl HealthCheckServer {
    /// The answer to any request (upstream ignores the path).
    pub fn respond(&self, proxy_healthy: bool) -> HealthCheckResponse {
        let (status, reason) = if self.local_endpoints != 0 && proxy_healthy {
            (200, "OK")
        } else {
            (503, "Service Unavailable")
        };
        let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let body = format!(
            "{{\n\t\"service\": {{\n\t\t\"namespace\": {},\n\t\t\"name\": {}\n\t}},\n\t\"localEndpoints\": {},\n\t\"serviceProxyHealthy\": {}\n}}",
            quote(&self.namespace),
            quote(&self.name),
            self.local_endpoints,
            proxy_healthy
        );
        HealthCheckResponse {
            status,
            reason,
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("X-Content-Type-Options", "nosniff".to_owned()),
                ("X-Load-Balancing-Endpoint-Weight", self.local_endpoints.to_string()),
            ],
            body,
        }
    }
}

/// The health-check servers for `services` (sorted by namespace/name; one per service even if
/// several ports carry the same `healthCheckNodePort`).
pub fn health_check_servers(
    config: &ProxyConfig,
    services: &[&ServicePortInfo],
    endpoints: &EndpointsMap,
) -> Vec<HealthCheckServer> {
    let mut ports: BTreeMap<(&str, &str), u16> = BTreeMap::new();
    for svc in services {
        if let Some(p) = svc.effective_health_check_node_port() {
            ports.insert((svc.name.namespace.as_str(), svc.name.name.as_str()), p);
        }
    }
    let mut local_ips: BTreeMap<(&str, &str), Vec<std::net::Ipv4Addr>> = BTreeMap::new();
    for (spn, eps) in endpoints {
        let key = (spn.namespace.as_str(), spn.name.as_str());
        if !ports.contains_key(&key) {
            continue;
        }
        let ips = local_ips.entry(key).or_default();
        ips.extend(eps.iter().filter(|e| e.ready && e.is_local(&config.node_name)).map(|e| e.ip));
    }
    ports
        .into_iter()
        .map(|((ns, name), node_port)| {
            let mut ips = local_ips.remove(&(ns, name)).unwrap_or_default();
            ips.sort();
            ips.dedup();
            HealthCheckServer {
                namespace: ns.to_owned(),
                name: name.to_owned(),
                node_port,
                local_endpoints: ips.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Mirrors upstream service_health_test.go tHandler expectations: 200 with endpoints,
    // 503 without, JSON fields namespace/name/localEndpoints/serviceProxyHealthy.
    #[test]
    fn responses() {
        let mut s = HealthCheckServer {
            namespace: "ns".into(),
            name: "lb".into(),
            node_port: 30000,
            local_endpoints: 2,
        };
        let ok = s.respond(true);
        assert_eq!(ok.status, 200);
        assert_eq!(ok.headers[2], ("X-Load-Balancing-Endpoint-Weight", "2".to_owned()));
        assert_eq!(
            ok.body,
            "{\n\t\"service\": {\n\t\t\"namespace\": \"ns\",\n\t\t\"name\": \"lb\"\n\t},\n\t\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": true\n}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
        assert_eq!(parsed["localEndpoints"], 2);
        assert_eq!(s.respond(false).status, 503);
        s.local_endpoints = 0;
        let none = s.respond(true);
        assert_eq!((none.status, none.reason), (503, "Service Unavailable"));
    }
}
