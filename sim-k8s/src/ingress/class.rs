//! Which Ingresses a controller serves, as ingress-nginx decides it
//! (`internal/ingress/controller/store` `IsValid` and the class checks): an Ingress naming an
//! IngressClass (`spec.ingressClassName`) is served when that class exists and its
//! `spec.controller` is the controller's `--controller-class`; one with the legacy
//! `kubernetes.io/ingress.class` annotation when the value is the controller's
//! `--ingress-class`; one with no class when `--watch-ingress-without-class` is set, or when a
//! default IngressClass of this controller exists (the API server's DefaultIngressClass
//! admission would have set it). Everything else is ignored, with the controller's log line.

use crate::api::{Ingress, IngressClass};

/// The controller's name in IngressClasses (`--controller-class` default).
pub const DEFAULT_CONTROLLER_CLASS: &str = "k8s.io/ingress-nginx";
/// `--ingress-class` default.
pub const DEFAULT_INGRESS_CLASS: &str = "nginx";

/// The flags of an ingress-nginx controller pod that decide what it serves and publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerFlags {
    /// `--controller-class`.
    pub controller_class: String,
    /// `--ingress-class`.
    pub ingress_class: String,
    /// `--watch-ingress-without-class`.
    pub watch_without_class: bool,
    /// `--publish-service` (`ns/name`).
    pub publish_service: Option<String>,
    /// `--publish-status-address`.
    pub publish_status_address: Option<String>,
}

impl Default for ControllerFlags {
    fn default() -> Self {
        ControllerFlags {
            controller_class: DEFAULT_CONTROLLER_CLASS.into(),
            ingress_class: DEFAULT_INGRESS_CLASS.into(),
            watch_without_class: false,
            publish_service: None,
            publish_status_address: None,
        }
    }
}

impl ControllerFlags {
    /// Reads the container's args (`$(POD_NAMESPACE)` expanded to the pod's namespace).
    pub fn from_args(args: &[String], pod_namespace: &str) -> ControllerFlags {
        let mut f = ControllerFlags::default();
        let mut it = args.iter().map(|a| a.replace("$(POD_NAMESPACE)", pod_namespace)).peekable();
        while let Some(a) = it.next() {
            let (name, value) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            let mut value = || value.clone().or_else(|| it.next_if(|n| !n.starts_with("--")));
            match name.as_str() {
                "--controller-class" => f.controller_class = value().unwrap_or(f.controller_class.clone()),
                "--ingress-class" => f.ingress_class = value().unwrap_or(f.ingress_class.clone()),
                "--watch-ingress-without-class" => {
                    f.watch_without_class = value().is_none_or(|v| v == "true");
                }
                "--publish-service" => f.publish_service = value(),
                "--publish-status-address" => f.publish_status_address = value(),
                _ => {}
            }
        }
        f
    }

    /// Whether this controller serves `ing`; `Err` is the reason it is ignored, as logged.
    pub fn serves(&self, ing: &Ingress, classes: &[&IngressClass]) -> Result<(), String> {
        let key = format!("{}/{}", ing.metadata.namespace, ing.metadata.name);
        let spec_class = ing.spec.as_ref().and_then(|s| s.get("ingressClassName")).and_then(|v| v.as_str());
        if let Some(name) = spec_class {
            return match classes.iter().find(|c| c.metadata.name == name) {
                Some(c) if c.spec.controller == self.controller_class => Ok(()),
                Some(c) => Err(format!(
                    "Ignoring ingress \"{key}\": its IngressClass \"{name}\" is for controller \"{}\", not \"{}\"",
                    c.spec.controller, self.controller_class
                )),
                None => Err(format!(
                    "Ignoring ingress because of error while validating ingress class\" ingress=\"{key}\" error=\"no object matching key \\\"{name}\\\" in local store\""
                )),
            };
        }
        if let Some(legacy) = ing.metadata.annotations.get(crate::api::ingress::LEGACY_CLASS_ANNOTATION) {
            return if *legacy == self.ingress_class {
                Ok(())
            } else {
                Err(format!(
                    "Ignoring ingress \"{key}\": annotation kubernetes.io/ingress.class is \"{legacy}\", not \"{}\"",
                    self.ingress_class
                ))
            };
        }
        let default_is_ours =
            classes.iter().any(|c| c.is_default() && c.spec.controller == self.controller_class);
        if self.watch_without_class || default_is_ours {
            Ok(())
        } else {
            Err(format!(
                "Ignoring ingress \"{key}\": it names no IngressClass and --watch-ingress-without-class is false"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(name: &str, controller: &str, default: bool) -> IngressClass {
        let mut c = IngressClass::default();
        c.metadata.name = name.into();
        c.spec.controller = controller.into();
        if default {
            c.metadata
                .annotations
                .insert(crate::api::ingress::DEFAULT_CLASS_ANNOTATION.into(), "true".into());
        }
        c
    }

    fn ing(class_name: Option<&str>, legacy: Option<&str>) -> Ingress {
        let mut i = Ingress::default();
        i.metadata.name = "web".into();
        i.metadata.namespace = "default".into();
        i.spec = Some(match class_name {
            Some(c) => serde_json::json!({"ingressClassName": c}),
            None => serde_json::json!({}),
        });
        if let Some(l) = legacy {
            i.metadata.annotations.insert("kubernetes.io/ingress.class".into(), l.into());
        }
        i
    }

    #[test]
    fn class_selection_as_upstream() {
        let flags = ControllerFlags::from_args(
            &[
                "/nginx-ingress-controller".into(),
                "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller".into(),
                "--ingress-class=nginx".into(),
            ],
            "ingress-nginx",
        );
        assert_eq!(flags.publish_service.as_deref(), Some("ingress-nginx/ingress-nginx-controller"));
        let nginx = class("nginx", DEFAULT_CONTROLLER_CLASS, false);
        let other = class("traefik", "traefik.io/ingress-controller", false);
        let classes = [&nginx, &other];
        assert!(flags.serves(&ing(Some("nginx"), None), &classes).is_ok());
        assert!(flags.serves(&ing(Some("traefik"), None), &classes).is_err());
        assert!(flags.serves(&ing(Some("missing"), None), &classes).is_err());
        assert!(flags.serves(&ing(None, Some("nginx")), &classes).is_ok());
        assert!(flags.serves(&ing(None, Some("traefik")), &classes).is_err());
        assert!(flags.serves(&ing(None, None), &classes).is_err());
        let default = class("nginx", DEFAULT_CONTROLLER_CLASS, true);
        assert!(flags.serves(&ing(None, None), &[&default]).is_ok());
    }
}
