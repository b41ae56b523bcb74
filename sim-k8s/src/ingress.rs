//! The ingress-nginx controller (kubernetes/ingress-nginx, the most used Ingress controller),
//! as an application in its pods. It is installed the way users install it — the upstream
//! `deploy.yaml` (namespace `ingress-nginx`, Deployment `ingress-nginx-controller` with image
//! `registry.k8s.io/ingress-nginx/controller`, its Service, IngressClass `nginx`) or a
//! scenario's `cluster.ingress: nginx` ([`addon`]) — and nothing routes an Ingress unless such a pod runs.
//!
//! - [`addon`]: the `cluster.ingress` setting, which applies upstream's deploy.yaml.
//! - [`admission`]: the controller's validating webhook (`CheckIngress`): strict path types,
//!   snippets, overlapping host and path.
//! - [`class`]: which Ingresses a controller serves (IngressClass, the legacy annotation,
//!   the default class).
//! - [`annotations`]: the `nginx.ingress.kubernetes.io/*` annotations read.
//! - [`routing`]: the nginx servers and locations built from the Ingresses, and nginx's choice
//!   of location for a request (Exact, Prefix, ImplementationSpecific, `use-regex`).
//! - [`controller`]: the pod's nginx: routing, redirects, canaries, affinity, allow-lists and
//!   the proxied second connection to an endpoint, with ingress-nginx's headers and logs.
//! - [`view`]: the objects the controller watches, and the `status.loadBalancer` it publishes.
//! - [`backends`] and [`proxy`]: the Services and ready endpoints a proxy watches and nginx's
//!   relaying of an upstream's answer, shared with the Gateway API controller
//!   (`crate::gateway`).

pub mod addon;
pub mod admission;
pub mod annotations;
pub mod backends;
pub mod class;
pub mod controller;
pub mod proxy;
pub mod routing;
pub mod view;

pub use addon::IngressAddon;
pub use class::ControllerFlags;
pub use controller::{IngressNginxApp, IngressState};
pub use routing::RoutingTable;
