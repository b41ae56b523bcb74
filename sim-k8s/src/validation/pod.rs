//! Pod and pod-template validation (`ValidatePodSpec`, `validateContainers`,
//! `validateContainerPorts`, `validateEnv`, `validateProbe`, DNS policy checks) for the fields
//! netsim models. Paths are built under the caller's prefix so a Deployment's errors read
//! `spec.template.spec.containers[0].ports[0].containerPort`. Left out: resources, volumes,
//! security contexts, affinity and every other field absent from `api::pod`.

use std::collections::BTreeSet;

use super::names::{self, NameRule};
use super::service::port_num_or_name;
use super::{BadValue, FieldError, child, index};
use crate::api::pod::{DnsPolicy, RestartPolicy};
use crate::api::{Container, Pod, PodSpec, Probe, Protocol};

const ENV_VAR_FMT: &str = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

/// `IsEnvVarName`.
pub fn env_var_name(name: &str) -> Vec<String> {
    let b = name.as_bytes();
    let ok_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_');
    if !b.is_empty() && !b[0].is_ascii_digit() && b.iter().all(|&c| ok_char(c)) {
        return Vec::new();
    }
    vec![format!(
        "{ENV_VAR_MSG} (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '{ENV_VAR_FMT}')"
    )]
}

fn nonnegative(path: &str, v: Option<i32>) -> Vec<FieldError> {
    match v {
        Some(n) if n < 0 => {
            vec![FieldError::invalid(path, BadValue::Int(i64::from(n)), "must be greater than or equal to 0")]
        }
        _ => Vec::new(),
    }
}

fn validate_probe(probe: &Probe, path: &str, success_must_be_one: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut handlers = 0;
    if let Some(h) = &probe.exec {
        handlers += 1;
        if h.command.is_empty() {
            errs.push(FieldError::required(&child(&child(path, "exec"), "command"), ""));
        }
    }
    if let Some(h) = &probe.http_get {
        handlers += 1;
        if handlers > 1 {
            errs.push(FieldError::forbidden(
                &child(path, "httpGet"),
                "may not specify more than 1 handler type",
            ));
        } else {
            errs.extend(port_num_or_name(&child(&child(path, "httpGet"), "port"), &h.port));
            if !matches!(h.scheme.as_str(), "" | "HTTP" | "HTTPS") {
                errs.push(FieldError::not_supported(
                    &child(&child(path, "httpGet"), "scheme"),
                    &h.scheme,
                    &["HTTP", "HTTPS"],
                ));
            }
        }
    }
    if let Some(h) = &probe.tcp_socket {
        handlers += 1;
        if handlers > 1 {
            errs.push(FieldError::forbidden(
                &child(path, "tcpSocket"),
                "may not specify more than 1 handler type",
            ));
        } else {
            errs.extend(port_num_or_name(&child(&child(path, "tcpSocket"), "port"), &h.port));
        }
    }
    if probe.grpc.is_some() {
        handlers += 1;
        if handlers > 1 {
            errs.push(FieldError::forbidden(
                &child(path, "grpc"),
                "may not specify more than 1 handler type",
            ));
        }
    }
    if handlers == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs.extend(nonnegative(&child(path, "initialDelaySeconds"), probe.initial_delay_seconds));
    errs.extend(nonnegative(&child(path, "timeoutSeconds"), probe.timeout_seconds));
    errs.extend(nonnegative(&child(path, "periodSeconds"), probe.period_seconds));
    errs.extend(nonnegative(&child(path, "successThreshold"), probe.success_threshold));
    errs.extend(nonnegative(&child(path, "failureThreshold"), probe.failure_threshold));
    if let Some(s) = probe.success_threshold
        && s != 1
        && success_must_be_one
    {
        errs.push(FieldError::invalid(
            &child(path, "successThreshold"),
            BadValue::Int(i64::from(s)),
            "must be 1",
        ));
    }
    errs
}

fn validate_container(c: &Container, path: &str, host_network: bool, init: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if c.image.trim().is_empty() {
        errs.push(FieldError::required(&child(path, "image"), ""));
    }
    let mut seen = BTreeSet::new();
    for (i, p) in c.ports.iter().enumerate() {
        let pp = index(&child(path, "ports"), i);
        if !p.name.is_empty() {
            let msgs = names::port_name(&p.name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(&child(&pp, "name"), BadValue::Str(p.name.clone()), &m));
                }
            } else if !seen.insert(p.name.clone()) {
                errs.push(FieldError::duplicate(&child(&pp, "name"), BadValue::Str(p.name.clone())));
            }
        }
        if p.container_port == 0 {
            errs.push(FieldError::required(&child(&pp, "containerPort"), ""));
        } else {
            for m in names::port_num(i64::from(p.container_port)) {
                errs.push(FieldError::invalid(
                    &child(&pp, "containerPort"),
                    BadValue::Int(i64::from(p.container_port)),
                    &m,
                ));
            }
        }
        let hp = p.host_port.unwrap_or(0);
        if hp != 0 {
            for m in names::port_num(i64::from(hp)) {
                errs.push(FieldError::invalid(&child(&pp, "hostPort"), BadValue::Int(i64::from(hp)), &m));
            }
        }
        if let Some(Protocol::Unsupported(v)) = &p.protocol {
            errs.push(FieldError::not_supported(&child(&pp, "protocol"), v, Protocol::SUPPORTED));
        }
        if host_network && hp != 0 && hp != p.container_port {
            errs.push(FieldError::invalid(
                &child(&pp, "hostPort"),
                BadValue::Int(i64::from(hp)),
                "must match `containerPort` when `hostNetwork` is true",
            ));
        }
    }
    for (i, e) in c.env.iter().enumerate() {
        let ep = index(&child(path, "env"), i);
        if e.name.is_empty() {
            errs.push(FieldError::required(&child(&ep, "name"), ""));
        } else {
            for m in env_var_name(&e.name) {
                errs.push(FieldError::invalid(&child(&ep, "name"), BadValue::Str(e.name.clone()), &m));
            }
        }
        if e.value.as_deref().is_some_and(|v| !v.is_empty()) && e.value_from.is_some() {
            errs.push(FieldError::invalid(
                &child(&ep, "valueFrom"),
                BadValue::Str(String::new()),
                "may not be specified when `value` is not empty",
            ));
        }
    }
    if let Some(p) = &c.readiness_probe {
        if init {
            errs.push(FieldError::forbidden(
                &child(path, "readinessProbe"),
                "may not be set for init containers",
            ));
        } else {
            errs.extend(validate_probe(p, &child(path, "readinessProbe"), false));
        }
    }
    if let Some(p) = &c.liveness_probe
        && !init
    {
        errs.extend(validate_probe(p, &child(path, "livenessProbe"), true));
    }
    if let Some(p) = &c.startup_probe
        && !init
    {
        errs.extend(validate_probe(p, &child(path, "startupProbe"), true));
    }
    errs
}

/// `ValidatePodSpec` for the modelled fields, with errors under `path` (`spec` or
/// `spec.template.spec`).
pub fn validate_pod_spec(spec: &PodSpec, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let host_network = spec.host_network.unwrap_or(false);
    let mut names_seen = BTreeSet::new();
    let groups = [(&spec.init_containers, "initContainers", true), (&spec.containers, "containers", false)];
    for (list, field, init) in groups {
        for (i, c) in list.iter().enumerate() {
            let cp = index(&child(path, field), i);
            if c.name.is_empty() {
                errs.push(FieldError::required(&child(&cp, "name"), ""));
            } else {
                for m in names::dns1123_label(&c.name) {
                    errs.push(FieldError::invalid(&child(&cp, "name"), BadValue::Str(c.name.clone()), &m));
                }
                if !names_seen.insert(c.name.clone()) {
                    errs.push(FieldError::duplicate(&child(&cp, "name"), BadValue::Str(c.name.clone())));
                }
            }
            errs.extend(validate_container(c, &cp, host_network, init));
        }
    }
    if spec.containers.is_empty() {
        errs.push(FieldError::required(&child(path, "containers"), ""));
    }
    if let Some(RestartPolicy::Unsupported(v)) = &spec.restart_policy {
        errs.push(FieldError::not_supported(&child(path, "restartPolicy"), v, RestartPolicy::SUPPORTED));
    }
    match &spec.dns_policy {
        Some(DnsPolicy::Unsupported(v)) => {
            errs.push(FieldError::not_supported(&child(path, "dnsPolicy"), v, DnsPolicy::SUPPORTED));
        }
        Some(DnsPolicy::None) if spec.dns_config.is_none() => {
            errs.push(FieldError::required(
                &child(path, "dnsConfig"),
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ));
        }
        _ => {}
    }
    if let Some(cfg) = &spec.dns_config {
        let p = child(path, "dnsConfig");
        if cfg.nameservers.len() > 3 {
            errs.push(FieldError::invalid(
                &child(&p, "nameservers"),
                BadValue::Raw(super::go_string_slice(&cfg.nameservers)),
                "must not have more than 3 nameservers",
            ));
        }
        for (i, ns) in cfg.nameservers.iter().enumerate() {
            errs.extend(names::valid_ip(&index(&child(&p, "nameservers"), i), ns));
        }
        for (i, s) in cfg.searches.iter().enumerate() {
            let d = s.strip_suffix('.').unwrap_or(s);
            for m in names::dns1123_subdomain(d) {
                errs.push(FieldError::invalid(
                    &index(&child(&p, "searches"), i),
                    BadValue::Str(s.clone()),
                    &m,
                ));
            }
        }
        for (i, o) in cfg.options.iter().enumerate() {
            if o.name.is_empty() {
                errs.push(FieldError::required(
                    &index(&child(&p, "options"), i),
                    "Option.Name must not be empty",
                ));
            }
        }
    }
    if !spec.hostname.is_empty() {
        for m in names::dns1123_label(&spec.hostname) {
            errs.push(FieldError::invalid(
                &child(path, "hostname"),
                BadValue::Str(spec.hostname.clone()),
                &m,
            ));
        }
    }
    if !spec.subdomain.is_empty() {
        for m in names::dns1123_label(&spec.subdomain) {
            errs.push(FieldError::invalid(
                &child(path, "subdomain"),
                BadValue::Str(spec.subdomain.clone()),
                &m,
            ));
        }
    }
    if !spec.node_name.is_empty() {
        for m in names::dns1123_subdomain(&spec.node_name) {
            errs.push(FieldError::invalid(
                &child(path, "nodeName"),
                BadValue::Str(spec.node_name.clone()),
                &m,
            ));
        }
    }
    errs.extend(names::labels(&spec.node_selector, &child(path, "nodeSelector")));
    errs
}

/// `ValidatePodCreate` for the modelled fields.
pub fn validate_pod(pod: &Pod) -> Vec<FieldError> {
    let mut errs = names::validate_meta(&pod.metadata, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pod_spec(&pod.spec, "spec"));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names() {
        assert!(env_var_name("MY_SVC_SERVICE_HOST").is_empty());
        assert!(env_var_name("a.b-c").is_empty());
        assert_eq!(env_var_name("1X").len(), 1);
    }
}
