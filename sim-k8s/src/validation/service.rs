//! Service, Endpoints and EndpointSlice validation (`ValidateService`, `validateServicePort`,
//! `ValidateServiceClusterIPsRelatedFields`, `ValidateEndpoints`, discovery `ValidateEndpointSlice`)
//! in the API server's order, so the `* ` list kubectl prints comes out in the same order.
//! Unset defaulted fields (type, protocol, targetPort, sessionAffinity, policies) are read as
//! their defaults. One deliberate choice: `externalTrafficPolicy` on a non-external type uses
//! the long-standing message "may only be set when `type` is 'NodePort' or 'LoadBalancer'".

use std::collections::BTreeSet;

use super::names::{self, NameRule};
use super::{BadValue, FieldError, child, go_quote, index};
use crate::api::endpoint_slice::AddressType;
use crate::api::service::MAX_CLIENT_IP_AFFINITY_SECONDS;
use crate::api::{
    ClusterIp, EndpointSlice, Endpoints, IntOrString, IpFamily, Protocol, Service, ServiceAffinity,
    ServicePort, ServiceType, TrafficPolicy,
};

fn protocol_errors(path: &str, p: &Option<Protocol>) -> Vec<FieldError> {
    match p {
        Some(Protocol::Unsupported(v)) => vec![FieldError::not_supported(path, v, Protocol::SUPPORTED)],
        _ => Vec::new(),
    }
}

/// `ValidatePortNumOrName`.
pub fn port_num_or_name(path: &str, port: &IntOrString) -> Vec<FieldError> {
    match port {
        IntOrString::Int(i) => names::port_num(i64::from(*i))
            .into_iter()
            .map(|m| FieldError::invalid(path, BadValue::Int(i64::from(*i)), &m))
            .collect(),
        IntOrString::String(s) => names::port_name(s)
            .into_iter()
            .map(|m| FieldError::invalid(path, BadValue::Str(s.clone()), &m))
            .collect(),
    }
}

/// Go's `%#v` of the `core.ServicePort{Protocol, Port}` key used for duplicate detection.
fn service_port_key(protocol: &str, port: i32) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        go_quote(protocol)
    )
}

fn validate_port(
    sp: &ServicePort,
    require_name: bool,
    names_seen: &mut BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name_path = child(path, "name");
    if require_name && sp.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else if !sp.name.is_empty() {
        for m in names::dns1123_label(&sp.name) {
            errs.push(FieldError::invalid(&name_path, BadValue::Str(sp.name.clone()), &m));
        }
        if !names_seen.insert(sp.name.clone()) {
            errs.push(FieldError::duplicate(&name_path, BadValue::Str(sp.name.clone())));
        }
    }
    for m in names::port_num(i64::from(sp.port)) {
        errs.push(FieldError::invalid(&child(path, "port"), BadValue::Int(i64::from(sp.port)), &m));
    }
    errs.extend(protocol_errors(&child(path, "protocol"), &sp.protocol));
    // Defaulting sets targetPort = port when it is absent, 0 or "".
    let target = match &sp.target_port {
        None | Some(IntOrString::Int(0)) => IntOrString::Int(sp.port),
        Some(IntOrString::String(s)) if s.is_empty() => IntOrString::Int(sp.port),
        Some(t) => t.clone(),
    };
    errs.extend(port_num_or_name(&child(path, "targetPort"), &target));
    if let Some(ap) = &sp.app_protocol {
        for m in names::qualified_name(ap) {
            errs.push(FieldError::invalid(&child(path, "appProtocol"), BadValue::Str(ap.clone()), &m));
        }
    }
    errs
}

/// The effective `clusterIPs` after the create strategy syncs `clusterIP` into it.
fn effective_cluster_ips(svc: &Service) -> Vec<ClusterIp> {
    let spec = &svc.spec;
    if !spec.cluster_ips.is_empty() {
        spec.cluster_ips.clone()
    } else if spec.cluster_ip.is_unset() {
        Vec::new()
    } else {
        vec![spec.cluster_ip.clone()]
    }
}

fn cluster_ips_value(ips: &[ClusterIp]) -> BadValue {
    BadValue::Raw(super::go_string_slice(&ips.iter().map(ToString::to_string).collect::<Vec<_>>()))
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn cluster_ip_fields(svc: &Service) -> Vec<FieldError> {
    let spec = &svc.spec;
    let mut errs = Vec::new();
    if spec.service_type() == ServiceType::ExternalName {
        return errs;
    }
    let ips = effective_cluster_ips(svc);
    if !spec.cluster_ip.is_unset() && !spec.cluster_ips.is_empty() && spec.cluster_ips[0] != spec.cluster_ip {
        errs.push(FieldError::invalid(
            "spec.clusterIPs",
            cluster_ips_value(&ips),
            "first value must match `clusterIP`",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, fam) in spec.ip_families.iter().enumerate() {
        let p = index("spec.ipFamilies", i);
        if let IpFamily::Unsupported(v) = fam {
            errs.push(FieldError::not_supported(&p, v, IpFamily::SUPPORTED));
        }
        if !seen.insert(fam.as_str().to_string()) {
            errs.push(FieldError::duplicate(&p, BadValue::Str(fam.as_str().to_string())));
        }
    }
    if let Some(crate::api::IpFamilyPolicy::Unsupported(v)) = &spec.ip_family_policy {
        errs.push(FieldError::not_supported("spec.ipFamilyPolicy", v, crate::api::IpFamilyPolicy::SUPPORTED));
    }
    let mut invalid = false;
    for (i, ip) in ips.iter().enumerate() {
        match ip {
            ClusterIp::None if i == 0 => {
                if ips.len() > 1 {
                    invalid = true;
                    errs.push(FieldError::invalid(
                        "spec.clusterIPs",
                        cluster_ips_value(&ips),
                        "'None' must be the first and only value",
                    ));
                }
            }
            ClusterIp::Ip(_) => {}
            other => {
                invalid = true;
                errs.extend(names::valid_ip(&index("spec.clusterIPs", i), &other.to_string()));
            }
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(
            "spec.clusterIPs",
            cluster_ips_value(&ips),
            "may only hold up to 2 values",
        ));
    }
    if invalid {
        return errs;
    }
    if ips.len() > 1 {
        let v4 = ips.iter().filter(|ip| matches!(ip.ip(), Some(std::net::IpAddr::V4(_)))).count();
        if v4 != 1 {
            errs.push(FieldError::invalid(
                "spec.clusterIPs",
                cluster_ips_value(&ips),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !spec.is_headless() {
        for (i, ip) in ips.iter().enumerate() {
            let (Some(fam), Some(addr)) = (spec.ip_families.get(i), ip.ip()) else { continue };
            if *fam == IpFamily::IPv4 && addr.is_ipv6() {
                errs.push(FieldError::invalid(
                    &index("spec.clusterIPs", i),
                    BadValue::Str(addr.to_string()),
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if *fam == IpFamily::IPv6 && addr.is_ipv4() {
                errs.push(FieldError::invalid(
                    &index("spec.clusterIPs", i),
                    BadValue::Str(addr.to_string()),
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// `ValidateService` (create).
pub fn validate_service(svc: &Service) -> Vec<FieldError> {
    let spec = &svc.spec;
    let mut errs = names::validate_meta(&svc.metadata, true, NameRule::Dns1035Label);
    let ty = spec.service_type();
    let headless = spec.is_headless() && effective_cluster_ips(svc).len() == 1;
    if spec.ports.is_empty() && !headless && ty != ServiceType::ExternalName {
        errs.push(FieldError::required("spec.ports", ""));
    }
    match ty {
        ServiceType::LoadBalancer | ServiceType::NodePort if headless => {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                BadValue::Str("None".to_string()),
                &format!("may not be set to 'None' for {ty} services"),
            ));
        }
        ServiceType::ExternalName => {
            if !effective_cluster_ips(svc).is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.clusterIPs",
                    "may not be set for ExternalName services",
                ));
            }
            if !spec.ip_families.is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilies",
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = spec.external_name.strip_suffix('.').unwrap_or(&spec.external_name);
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                for m in names::dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid("spec.externalName", BadValue::Str(cname.to_string()), &m));
                }
            }
        }
        _ => {}
    }
    let mut seen_names = BTreeSet::new();
    for (i, p) in spec.ports.iter().enumerate() {
        errs.extend(validate_port(p, spec.ports.len() > 1, &mut seen_names, &index("spec.ports", i)));
    }
    if let Some(sel) = &spec.selector {
        errs.extend(names::labels(sel, "spec.selector"));
    }
    match &spec.session_affinity {
        Some(ServiceAffinity::Unsupported(v)) => {
            errs.push(FieldError::not_supported("spec.sessionAffinity", v, ServiceAffinity::SUPPORTED));
        }
        Some(ServiceAffinity::ClientIP) => {
            if let Some(t) = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                && (t <= 0 || t > MAX_CLIENT_IP_AFFINITY_SECONDS)
            {
                errs.push(FieldError::invalid(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    BadValue::Int(i64::from(t)),
                    &format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"),
                ));
            }
        }
        _ => {
            if spec.session_affinity_config.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
    }
    errs.extend(cluster_ip_fields(svc));
    for (i, ip) in spec.external_ips.iter().enumerate() {
        let p = index("spec.externalIPs", i);
        let e = names::valid_ip(&p, ip);
        if e.is_empty() {
            errs.extend(names::non_special_ip(&p, ip));
        } else {
            errs.extend(e);
        }
    }
    if let ServiceType::Unsupported(v) = &ty {
        errs.push(FieldError::not_supported("spec.type", v, ServiceType::SUPPORTED));
    }
    if ty == ServiceType::ClusterIP {
        for (i, p) in spec.ports.iter().enumerate() {
            if p.node_port.unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    &child(&index("spec.ports", i), "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, p) in spec.ports.iter().enumerate() {
        let np = p.node_port.unwrap_or(0);
        if np == 0 {
            continue;
        }
        if !node_ports.insert((p.protocol().to_string(), np)) {
            errs.push(FieldError::duplicate(
                &child(&index("spec.ports", i), "nodePort"),
                BadValue::Int(i64::from(np)),
            ));
        }
    }
    let mut ports = BTreeSet::new();
    for (i, p) in spec.ports.iter().enumerate() {
        let proto = p.protocol().to_string();
        if !ports.insert((proto.clone(), p.port)) {
            errs.push(FieldError::duplicate(
                &index("spec.ports", i),
                BadValue::Raw(service_port_key(&proto, p.port)),
            ));
        }
    }
    if !spec.load_balancer_source_ranges.is_empty() {
        let p = "spec.LoadBalancerSourceRanges";
        if ty != ServiceType::LoadBalancer {
            errs.push(FieldError::forbidden(p, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, r) in spec.load_balancer_source_ranges.iter().enumerate() {
            let v = r.trim();
            if v.parse::<ipnet::IpNet>().is_err() {
                errs.push(FieldError::invalid(
                    &index(p, i),
                    BadValue::Str(v.to_string()),
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ));
            }
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && ty != ServiceType::LoadBalancer {
        errs.push(FieldError::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    // External traffic policy.
    let external = spec.is_external_type();
    match &spec.external_traffic_policy {
        Some(p) if !external => errs.push(FieldError::invalid(
            "spec.externalTrafficPolicy",
            BadValue::Str(p.as_str().to_string()),
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        )),
        Some(TrafficPolicy::Unsupported(v)) => {
            errs.push(FieldError::not_supported("spec.externalTrafficPolicy", v, TrafficPolicy::SUPPORTED));
        }
        _ => {}
    }
    let needs_hc =
        ty == ServiceType::LoadBalancer && spec.external_traffic_policy == Some(TrafficPolicy::Local);
    match spec.health_check_node_port {
        Some(hc) if hc != 0 && !needs_hc => errs.push(FieldError::invalid(
            "spec.healthCheckNodePort",
            BadValue::Int(i64::from(hc)),
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        )),
        Some(hc) if hc != 0 => {
            for m in names::port_num(i64::from(hc)) {
                errs.push(FieldError::invalid("spec.healthCheckNodePort", BadValue::Int(i64::from(hc)), &m));
            }
        }
        _ => {}
    }
    if let Some(TrafficPolicy::Unsupported(v)) = &spec.internal_traffic_policy {
        errs.push(FieldError::not_supported("spec.internalTrafficPolicy", v, TrafficPolicy::SUPPORTED));
    }
    errs
}

/// `ValidateEndpoints` (create).
pub fn validate_endpoints(ep: &Endpoints) -> Vec<FieldError> {
    // Paths are spelled only when an error needs one: the endpoints controllers rewrite every
    // Endpoints object on each readiness change, and valid objects are the rule.
    let mut errs = names::validate_meta(&ep.metadata, true, NameRule::Dns1123Subdomain);
    for (i, ss) in ep.subsets.iter().enumerate() {
        let sp = || index("subsets", i);
        if ss.addresses.is_empty() && ss.not_ready_addresses.is_empty() {
            errs.push(FieldError::required(&sp(), "must specify `addresses` or `notReadyAddresses`"));
        }
        for (list, name) in [(&ss.addresses, "addresses"), (&ss.not_ready_addresses, "notReadyAddresses")] {
            for (j, a) in list.iter().enumerate() {
                let ap = || index(&child(&sp(), name), j);
                if !a.hostname.is_empty() {
                    for m in names::dns1123_label(&a.hostname) {
                        errs.push(FieldError::invalid(
                            &child(&ap(), "hostname"),
                            BadValue::Str(a.hostname.clone()),
                            &m,
                        ));
                    }
                }
                if let Some(e) = names::special_ip(a.ip) {
                    errs.push(FieldError::invalid(&child(&ap(), "ip"), BadValue::Str(a.ip.to_string()), e));
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (j, p) in ss.ports.iter().enumerate() {
            let pp = || index(&child(&sp(), "ports"), j);
            if ss.ports.len() > 1 && p.name.is_empty() {
                errs.push(FieldError::required(&child(&pp(), "name"), ""));
            } else if !p.name.is_empty() {
                for m in names::dns1123_label(&p.name) {
                    errs.push(FieldError::invalid(&child(&pp(), "name"), BadValue::Str(p.name.clone()), &m));
                }
                if !seen.insert(p.name.as_str()) {
                    errs.push(FieldError::duplicate(&child(&pp(), "name"), BadValue::Str(p.name.clone())));
                }
            }
            for m in names::port_num(i64::from(p.port)) {
                errs.push(FieldError::invalid(&child(&pp(), "port"), BadValue::Int(i64::from(p.port)), &m));
            }
            if matches!(p.protocol, Some(Protocol::Unsupported(_))) {
                errs.extend(protocol_errors(&child(&pp(), "protocol"), &p.protocol));
            }
        }
    }
    errs
}

/// discovery `ValidateEndpointSlice` (create), reduced to addresses, ports and the address type.
pub fn validate_endpoint_slice(es: &EndpointSlice) -> Vec<FieldError> {
    let mut errs = names::validate_meta(&es.metadata, true, NameRule::Dns1123Subdomain);
    match &es.address_type {
        None => errs.push(FieldError::required("addressType", "")),
        Some(AddressType::Unsupported(v)) => {
            errs.push(FieldError::not_supported("addressType", v, AddressType::SUPPORTED));
        }
        Some(_) => {}
    }
    for (i, ep) in es.endpoints.iter().enumerate() {
        // Spelled only for an error (see `validate_endpoints`).
        let p = || index("endpoints", i);
        let ap = || child(&p(), "addresses");
        if ep.addresses.is_empty() {
            errs.push(FieldError::required(&ap(), "must contain at least 1 address"));
        } else if ep.addresses.len() > 100 {
            errs.push(FieldError {
                field: ap(),
                type_: super::ErrorType::TooMany,
                value: BadValue::Int(ep.addresses.len() as i64),
                detail: "must have at most 100 items".to_string(),
            });
        }
        for (j, a) in ep.addresses.iter().enumerate() {
            let aj = || index(&ap(), j);
            match es.address_type {
                Some(AddressType::IPv4) if a.parse::<std::net::Ipv4Addr>().is_err() => errs.push(
                    FieldError::invalid(&aj(), BadValue::Str(a.clone()), "must be a valid IPv4 address"),
                ),
                Some(AddressType::IPv6) if a.parse::<std::net::Ipv6Addr>().is_err() => errs.push(
                    FieldError::invalid(&aj(), BadValue::Str(a.clone()), "must be a valid IPv6 address"),
                ),
                Some(AddressType::FQDN) => {
                    for m in names::dns1123_subdomain(a) {
                        errs.push(FieldError::invalid(&aj(), BadValue::Str(a.clone()), &m));
                    }
                }
                _ => {}
            }
        }
        if let Some(h) = &ep.hostname {
            for m in names::dns1123_label(h) {
                errs.push(FieldError::invalid(&child(&p(), "hostname"), BadValue::Str(h.clone()), &m));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (i, p) in es.ports.iter().enumerate() {
        let pp = index("ports", i);
        let name = p.name.clone().unwrap_or_default();
        if !name.is_empty() {
            for m in names::dns1123_label(&name) {
                errs.push(FieldError::invalid(&child(&pp, "name"), BadValue::Str(name.clone()), &m));
            }
        }
        if !seen.insert(name.clone()) {
            errs.push(FieldError::duplicate(&child(&pp, "name"), BadValue::Str(name.clone())));
        }
        if let Some(port) = p.port {
            for m in names::port_num(i64::from(port)) {
                errs.push(FieldError::invalid(&child(&pp, "port"), BadValue::Int(i64::from(port)), &m));
            }
        }
        errs.extend(protocol_errors(&child(&pp, "protocol"), &p.protocol));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::load_str;

    fn service_errors(yaml: &str) -> Vec<String> {
        let out = load_str("t.yaml", yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let Some(crate::api::Object::Service(svc)) = out.objects.first().map(|l| &l.value) else {
            return vec!["no service".to_string()];
        };
        validate_service(svc).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn article_004_nodeport_manifest_as_written() {
        let errs = service_errors(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-nginx\n  labels:\n    run: my-nginx\nspec:\n  type: NodePort\n  ports:\n  - nodePort: 8080\n    targetPort: 80\n    protocol: TCP\n    name: http\n  - nodePort: 443\n    protocol: TCP\n    name: https\n  selector:\n    run: my-nginx\n",
        );
        assert_eq!(
            errs,
            vec![
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:0, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
            ]
        );
    }

    #[test]
    fn etp_on_cluster_ip() {
        let errs = service_errors(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  externalTrafficPolicy: Local\n  ports:\n  - port: 80\n",
        );
        assert_eq!(
            errs,
            vec![
                "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set when `type` is 'NodePort' or 'LoadBalancer'"
            ]
        );
    }
}
