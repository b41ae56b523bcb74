//! A scenario's `cluster.ingress` setting: the ingress-nginx controller added to the cluster
//! exactly as a user adds it, by applying upstream's `deploy.yaml` (the same copies as in
//! `scenarios/manifests/`). `nginx` is the cloud provider's manifest (a LoadBalancer Service
//! with `externalTrafficPolicy: Local`, the quick start's `kubectl apply -f .../cloud/deploy.yaml`);
//! `nginx-baremetal` is the bare-metal one (a NodePort Service). Nothing is special-cased:
//! the objects are loaded from the manifest text, applied before the scenario's own
//! manifests, and what the manifest holds that netsim does not simulate is listed as such.

use std::fmt;

/// ingress-nginx's `deploy/static/provider/cloud/deploy.yaml`, unchanged.
pub const CLOUD_DEPLOY: &str = include_str!("../../../scenarios/manifests/ingress-nginx-cloud-deploy.yaml");
/// ingress-nginx's `deploy/static/provider/baremetal/deploy.yaml`, unchanged.
pub const BAREMETAL_DEPLOY: &str =
    include_str!("../../../scenarios/manifests/ingress-nginx-baremetal-deploy.yaml");

/// An ingress controller a cluster setting installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngressAddon {
    /// ingress-nginx, cloud provider manifest (Service type LoadBalancer).
    Nginx,
    /// ingress-nginx, bare-metal manifest (Service type NodePort).
    NginxBaremetal,
}

/// The values `cluster.ingress` accepts, for error messages.
pub const INGRESS_ADDONS: &str = "nginx, nginx-baremetal";

impl IngressAddon {
    /// Parses a `cluster.ingress` value.
    pub fn parse(s: &str) -> Result<IngressAddon, String> {
        match s {
            "nginx" | "ingress-nginx" => Ok(IngressAddon::Nginx),
            "nginx-baremetal" | "ingress-nginx-baremetal" => Ok(IngressAddon::NginxBaremetal),
            other => Err(format!("unknown ingress controller {other:?}: expected one of {INGRESS_ADDONS}")),
        }
    }

    /// The manifest a user would apply for it, with the name its locations are given under
    /// (upstream's path of the file).
    pub fn manifest(self) -> (&'static str, &'static str) {
        match self {
            IngressAddon::Nginx => ("ingress-nginx/deploy/static/provider/cloud/deploy.yaml", CLOUD_DEPLOY),
            IngressAddon::NginxBaremetal => {
                ("ingress-nginx/deploy/static/provider/baremetal/deploy.yaml", BAREMETAL_DEPLOY)
            }
        }
    }
}

impl fmt::Display for IngressAddon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IngressAddon::Nginx => "nginx",
            IngressAddon::NginxBaremetal => "nginx-baremetal",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_manifests_load_with_the_controller() {
        for addon in [IngressAddon::Nginx, IngressAddon::NginxBaremetal] {
            let (name, text) = addon.manifest();
            let out = crate::manifest::load(&[crate::manifest::Source::text(name, text)]);
            assert!(out.errors.is_empty(), "{addon}: {:?}", out.errors);
            assert!(
                out.objects.iter().any(|o| o.value.name() == "ingress-nginx-controller"
                    && o.value.kind() == crate::api::Kind::Deployment),
                "{addon}"
            );
            assert_eq!(IngressAddon::parse(&addon.to_string()), Ok(addon));
        }
        assert_eq!(
            IngressAddon::parse("traefik").unwrap_err(),
            "unknown ingress controller \"traefik\": expected one of nginx, nginx-baremetal"
        );
    }
}
