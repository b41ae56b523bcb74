//! The API objects the ingress-nginx controller watches, read into its state, and the status
//! it publishes on the Ingresses it serves.
//!
//! Status (`internal/ingress/status/status.go`): with `--publish-service` the addresses of that
//! Service (`statusAddressFromService`: a LoadBalancer's ingress IPs/hostnames, else its
//! externalIPs, else for ClusterIP/NodePort its ClusterIP); with `--publish-status-address`
//! those addresses; else the addresses of the nodes its pods run on. Only a running, ready
//! controller pod publishes, as only a leader does upstream.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;

use serde_json::json;

use super::class::ControllerFlags;
use super::controller::{ControllerConfig, ControllerView, IngressState};
use super::routing::RoutingTable;
use crate::api::{Ingress, IngressClass, Kind, Object, Pod, ServiceType};
use crate::apiserver::ApiServer;
use crate::apps::AppKind;

/// The running, ready ingress-nginx controller pods and their flags.
pub fn controller_pods(api: &ApiServer) -> Vec<(&Pod, ControllerFlags)> {
    api.pods()
        .filter_map(|p| {
            let c =
                p.spec.containers.iter().find(|c| AppKind::from_image(&c.image) == AppKind::IngressNginx)?;
            let running = p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some();
            running.then(|| (p, ControllerFlags::from_args(&c.args, &p.metadata.namespace)))
        })
        .collect()
}

fn classes(api: &ApiServer) -> Vec<&IngressClass> {
    api.list(Kind::IngressClass)
        .filter_map(|o| if let Object::IngressClass(c) = o { Some(c) } else { None })
        .collect()
}

fn ingresses(api: &ApiServer) -> Vec<&Ingress> {
    api.list(Kind::Ingress).filter_map(|o| if let Object::Ingress(i) = o { Some(i) } else { None }).collect()
}

/// Rebuilds the controllers' configurations and the watched Services and endpoints.
pub fn refresh(state: &mut IngressState, api: &ApiServer, now: sim_core::SimTime) {
    // Without Ingresses every controller answers 404 from its default backend, and without a
    // controller nothing routes: then nothing else is read, so a cluster without Ingresses
    // pays nothing here at its changes.
    let all = ingresses(api);
    let pods = if all.is_empty() { Vec::new() } else { controller_pods(api) };
    if pods.is_empty() {
        state.controllers.clear();
        state.view = ControllerView::default();
        return;
    }
    let classes = classes(api);
    let mut controllers = BTreeMap::new();
    let mut new_log = Vec::new();
    for (_, flags) in pods {
        if controllers.contains_key(&flags.controller_class) {
            continue;
        }
        let mut served = Vec::new();
        for ing in &all {
            match flags.serves(ing, &classes) {
                Ok(()) => served.push(*ing),
                Err(why) => new_log.push(why),
            }
        }
        let table = RoutingTable::build(&served);
        new_log.extend(table.log.iter().cloned());
        for ing in &served {
            let unsimulated = super::annotations::unsimulated(&ing.metadata.annotations);
            if !unsimulated.is_empty() {
                new_log.push(format!(
                    "ingress \"{}/{}\": annotations not simulated by netsim: {}",
                    ing.metadata.namespace,
                    ing.metadata.name,
                    unsimulated.join(", ")
                ));
            }
        }
        controllers.insert(flags.controller_class.clone(), ControllerConfig { flags, table: Rc::new(table) });
    }
    state.controllers = controllers;
    let view = ControllerView::build(api);
    // `createServers`: a host listed under `tls` whose Secret is not in the store is served
    // with the default (fake) certificate.
    for cfg in state.controllers.values() {
        for server in cfg.table.servers.values() {
            if let Some(key) = &server.tls_secret
                && !view.tls_secrets.contains(key)
            {
                new_log.push(format!(
                    "Error getting SSL certificate \"{key}\": local SSL certificate {key} was not found. Using default certificate"
                ));
            }
        }
    }
    state.view = view;
    let unix = state.epoch_unix_secs + now.as_secs() as i64;
    for line in new_log {
        if !state.logged.contains(&line) {
            state.logged.insert(line.clone());
            state.klog('W', unix, "store.go:425", &line);
        }
    }
}

/// The addresses a controller publishes (`status.loadBalancer.ingress[]` entries as JSON).
fn published(api: &ApiServer, pod: &Pod, flags: &ControllerFlags) -> Vec<serde_json::Value> {
    if let Some(addrs) = &flags.publish_status_address {
        return addrs.split(',').map(|a| a.trim()).filter(|a| !a.is_empty()).map(ip_or_host).collect();
    }
    if let Some(svc) = &flags.publish_service {
        let (ns, name) = svc.split_once('/').unwrap_or(("default", svc));
        let Some(Object::Service(s)) = api.get_named(Kind::Service, ns, name) else { return Vec::new() };
        if s.spec.service_type() == ServiceType::LoadBalancer {
            let lb: Vec<serde_json::Value> = s
                .status
                .iter()
                .flat_map(|st| st.load_balancer.ingress.iter())
                .filter_map(|i| {
                    if !i.ip.is_empty() {
                        Some(json!({"ip": i.ip}))
                    } else {
                        (!i.hostname.is_empty()).then(|| json!({"hostname": i.hostname}))
                    }
                })
                .collect();
            let mut out = lb;
            out.extend(s.spec.external_ips.iter().map(|ip| json!({"ip": ip})));
            return out;
        }
        if !s.spec.external_ips.is_empty() {
            return s.spec.external_ips.iter().map(|ip| json!({"ip": ip})).collect();
        }
        return s.spec.cluster_ip.ip().map(|ip| vec![json!({"ip": ip.to_string()})]).unwrap_or_default();
    }
    pod.status
        .as_ref()
        .and_then(|s| s.host_ip)
        .map(|ip| vec![json!({"ip": ip.to_string()})])
        .unwrap_or_default()
}

fn ip_or_host(a: &str) -> serde_json::Value {
    if a.parse::<IpAddr>().is_ok() { json!({"ip": a}) } else { json!({"hostname": a}) }
}

/// The Ingresses whose `status.loadBalancer` should change, with their new status.
pub fn status_updates(api: &ApiServer) -> Vec<Ingress> {
    if api.list(Kind::Ingress).next().is_none() {
        return Vec::new();
    }
    let pods = controller_pods(api);
    let classes = classes(api);
    let mut out = Vec::new();
    for ing in ingresses(api) {
        let Some((pod, flags)) = pods
            .iter()
            .find(|(p, f)| crate::controllers::pods::is_ready(p) && f.serves(ing, &classes).is_ok())
        else {
            continue;
        };
        let mut addrs = published(api, pod, flags);
        addrs.sort_by_key(|v| v.to_string());
        addrs.dedup();
        if addrs.is_empty() {
            continue;
        }
        let status = json!({"loadBalancer": {"ingress": addrs}});
        if ing.status.as_ref() != Some(&status) {
            let mut updated = ing.clone();
            updated.status = Some(status);
            out.push(updated);
        }
    }
    out
}
