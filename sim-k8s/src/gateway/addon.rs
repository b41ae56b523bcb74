//! A scenario's `cluster.gateway` setting: the Gateway API CRDs and NGINX Gateway Fabric added
//! as a user adds them — the CRDs first (`scenarios/manifests/gateway-api-crds.yaml`, the
//! standard channel's four simulated kinds), then the controller's manifest
//! (`scenarios/manifests/nginx-gateway-fabric.yaml`), both applied before the scenario's own
//! manifests. Nothing is special-cased: without them a Gateway cannot even be written.

use std::fmt;

/// The four CRDs (names, versions and printer columns as upstream's v1.6.1).
pub const GATEWAY_API_CRDS: &str = include_str!("../../../scenarios/manifests/gateway-api-crds.yaml");
/// NGINX Gateway Fabric's control plane and its GatewayClass.
pub const NGINX_GATEWAY_FABRIC: &str = include_str!("../../../scenarios/manifests/nginx-gateway-fabric.yaml");

/// A Gateway API controller a cluster setting installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayAddon {
    /// NGINX Gateway Fabric (GatewayClass `nginx`).
    NginxGatewayFabric,
}

/// The values `cluster.gateway` accepts, for error messages.
pub const GATEWAY_ADDONS: &str = "nginx-gateway-fabric";

impl GatewayAddon {
    /// Parses a `cluster.gateway` value.
    pub fn parse(s: &str) -> Result<GatewayAddon, String> {
        match s {
            "nginx-gateway-fabric" | "nginx" | "ngf" => Ok(GatewayAddon::NginxGatewayFabric),
            other => {
                Err(format!("unknown Gateway API controller {other:?}: expected one of {GATEWAY_ADDONS}"))
            }
        }
    }

    /// The manifests a user would apply, in order, each with the name its locations are given
    /// under.
    pub fn manifests(self) -> [(&'static str, &'static str); 2] {
        match self {
            GatewayAddon::NginxGatewayFabric => [
                ("gateway-api/standard-install.yaml", GATEWAY_API_CRDS),
                ("nginx-gateway-fabric/deploy/default/deploy.yaml", NGINX_GATEWAY_FABRIC),
            ],
        }
    }
}

impl fmt::Display for GatewayAddon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GatewayAddon::NginxGatewayFabric => "nginx-gateway-fabric",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifests_load_and_install_the_kinds() {
        let sources: Vec<_> = GatewayAddon::NginxGatewayFabric
            .manifests()
            .iter()
            .map(|(n, t)| crate::manifest::Source::text(n, t))
            .collect();
        let out = crate::manifest::load(&sources);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert!(out.not_simulated.is_empty(), "{:?}", out.not_simulated);
        let crds = out
            .objects
            .iter()
            .filter(|o| o.value.kind() == crate::api::Kind::CustomResourceDefinition)
            .count();
        assert_eq!(crds, 4);
        assert_eq!(
            GatewayAddon::parse("traefik").unwrap_err(),
            "unknown Gateway API controller \"traefik\": expected one of nginx-gateway-fabric"
        );
    }
}
