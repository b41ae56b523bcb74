//! Gateway API (GatewayClass, Gateway, HTTPRoute, ReferenceGrant), routed by a simulated NGINX
//! Gateway Fabric (nginx/nginx-gateway-fabric, controllerName
//! `gateway.nginx.org/nginx-gateway-controller`): chosen because its data plane is nginx
//! proxying to endpoints directly, as the ingress-nginx model does, so both share
//! `crate::ingress::backends` and `crate::ingress::proxy`. It is installed as users install it
//! (the CRDs, then its manifest; [`addon`] for a scenario's `cluster.gateway`), and nothing
//! routes unless its control-plane pod runs.
//!
//! - [`addon`]: the `cluster.gateway` setting.
//! - [`controller`]: the control plane: GatewayClass acceptance, the per-Gateway nginx
//!   Deployment and LoadBalancer Service, route attachment and every status.
//! - [`routing`]: hostname intersection, nginx servers per port, the spec's match precedence.
//! - [`data_plane`]: the Gateway's nginx pods: filters, weighted backends, the proxied
//!   connection to an endpoint.

pub mod addon;
pub mod controller;
pub mod data_plane;
pub mod routing;

pub use addon::GatewayAddon;
pub use data_plane::{GatewayNginxApp, GatewayState};
