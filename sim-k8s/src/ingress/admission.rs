//! The ingress-nginx controller's validating admission webhook
//! (`validate.nginx.ingress.kubernetes.io`, served on `--validating-webhook=:8443` and
//! registered by deploy.yaml's ValidatingWebhookConfiguration `ingress-nginx-admission`), as
//! `NGINXController.CheckIngress` in `internal/ingress/controller/controller.go` (v1.15) decides:
//!
//! 1. the deep inspection (`internal/ingress/inspector`, `--deep-inspect`, default on): a host,
//!    path, TLS host or secret name matching a forbidden pattern (`alias …;`, `root …;`,
//!    `/etc/nginx`, `/var/run/secrets`, `*_by_lua*`) is refused as `invalid object: …`;
//! 2. an Ingress of another class is accepted untouched (the controller does not own it);
//! 3. `strict-validate-path-type` (default on since v1.12): an `Exact` or `Prefix` path must
//!    match `^/[[:alnum:]._\-/]*$` — regexes need `ImplementationSpecific`;
//! 4. `*-snippet` annotations are refused (`allow-snippet-annotations` defaults to false);
//! 5. `checkOverlap`: a host and path another Ingress already claims is refused, unless exactly
//!    one of the two is a canary.
//!
//! The `nginx -t` test of the rendered configuration is not run: v1.12.1 disabled it
//! (CVE-2025-1974), so an invalid regex is accepted here, as it is upstream.
//! The controller's ConfigMap settings are not read (their defaults are used), and the
//! webhook's warnings (`CheckWarning`) are not returned.

use super::class::ControllerFlags;
use crate::api::Ingress;

/// `canary`: the annotation whose presence makes an overlap legal.
const CANARY: &str = "nginx.ingress.kubernetes.io/canary";

/// `internal/ingress/inspector/rules.go`'s forbidden patterns, as plain checks.
fn forbidden(value: &str) -> bool {
    let directive = |word: &str| {
        // `(?s)\s*WORD\s*.*;`: the word followed somewhere later by a semicolon.
        value.find(word).is_some_and(|i| value[i + word.len()..].contains(';'))
    };
    let etc = ["passwd", "shadow", "group", "nginx", "ingress-controller"]
        .iter()
        .any(|d| value.contains(&format!("/etc/{d}")));
    let by_lua = value.find("_by_lua").is_some();
    directive("alias") || directive("root") || etc || value.contains("/var/run/secrets") || by_lua
}

/// `inspector.InspectIngress`.
fn deep_inspect(ing: &Ingress, key: &str) -> Result<(), String> {
    let Ok(spec) = ing.rules() else { return Ok(()) };
    let bad = |v: &str| format!("invalid value found: {v}");
    for rule in &spec.rules {
        if !rule.host.is_empty() && forbidden(&rule.host) {
            return Err(format!("invalid host in ingress {key}: {}", bad(&rule.host)));
        }
        for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
            let path = p.path.as_deref().unwrap_or("");
            if forbidden(path) {
                return Err(format!("invalid rule in ingress {key}: invalid http path: {}", bad(path)));
            }
        }
    }
    for tls in &spec.tls {
        let secret = tls.secret_name.as_deref().unwrap_or("");
        if forbidden(secret) {
            return Err(format!("invalid secret in ingress {key}: {}", bad(secret)));
        }
        for h in &tls.hosts {
            if forbidden(h) {
                return Err(format!("invalid host in ingress tls config {key}: {}", bad(h)));
            }
        }
    }
    Ok(())
}

/// `validPathType`: `(?i)^/[[:alnum:]\.\_\-/]*$`.
fn valid_strict_path(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| {
        rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
    })
}

/// `inspector.ValidatePathType`: every offending path, joined as `errors.Join` does.
pub fn validate_path_type(ing: &Ingress) -> Result<(), String> {
    let Ok(spec) = ing.rules() else { return Ok(()) };
    let mut errs = Vec::new();
    for p in spec.rules.iter().flat_map(|r| r.http.iter()).flat_map(|h| h.paths.iter()) {
        let Some(path) = p.path.as_deref().filter(|p| !p.is_empty()) else { continue };
        let ty = p.path_type.as_deref();
        if ty != Some("ImplementationSpecific") && !valid_strict_path(path) {
            errs.push(format!("path {path} cannot be used with pathType {}", ty.unwrap_or("nil")));
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs.join("\n")) }
}

/// Who claims each host and path among the Ingresses the controller serves: `checkOverlap`'s
/// `ingressForHostPath` over the configuration built from them (oldest first; canaries claim
/// nothing, they are alternatives of the location's owner).
fn owners<'a>(existing: &[&'a Ingress]) -> Vec<(String, String, &'a Ingress)> {
    let mut sorted: Vec<&Ingress> = existing.to_vec();
    sorted.sort_by(|a, b| {
        (&a.metadata.creation_timestamp, &a.metadata.namespace, &a.metadata.name).cmp(&(
            &b.metadata.creation_timestamp,
            &b.metadata.namespace,
            &b.metadata.name,
        ))
    });
    let mut out: Vec<(String, String, &Ingress)> = Vec::new();
    for ing in sorted {
        if ing.metadata.annotations.get(CANARY).is_some_and(|v| v.trim() == "true") {
            continue;
        }
        let Ok(spec) = ing.rules() else { continue };
        for rule in &spec.rules {
            let host = if rule.host.is_empty() { "_".to_string() } else { rule.host.to_ascii_lowercase() };
            for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
                if p.backend.service().is_none() {
                    continue;
                }
                let path = p.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_string());
                out.push((host.clone(), path, ing));
            }
        }
    }
    out
}

/// `checkOverlap`, with its quirk kept: only the first path that some Ingress already has
/// decides (the function returns after it).
fn check_overlap(ing: &Ingress, others: &[&Ingress]) -> Result<(), String> {
    let Ok(spec) = ing.rules() else { return Ok(()) };
    let claims = owners(others);
    let canary = |i: &Ingress| i.metadata.annotations.get(CANARY).map(|v| v.trim() == "true");
    for rule in &spec.rules {
        let Some(http) = &rule.http else { continue };
        let host = if rule.host.is_empty() { "_".to_string() } else { rule.host.to_ascii_lowercase() };
        for p in &http.paths {
            if p.backend.service().is_none() {
                continue;
            }
            let path = p.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_string());
            let existing: Vec<&Ingress> =
                claims.iter().filter(|(h, pp, _)| *h == host && *pp == path).map(|(_, _, i)| *i).collect();
            if existing.is_empty() {
                continue;
            }
            for e in &existing {
                let (mine, theirs) = (canary(ing), canary(e));
                let both_canary = mine == Some(true) && theirs == Some(true);
                let neither_annotated = mine.is_none() && theirs.is_none();
                if both_canary || neither_annotated {
                    return Err(format!(
                        "host \"{}\" and path \"{path}\" is already defined in ingress {}/{}",
                        rule.host, e.metadata.namespace, e.metadata.name
                    ));
                }
            }
            return Ok(());
        }
    }
    Ok(())
}

/// The admission server's answer for `ing` (created or updated): `Err` is the message the
/// API server quotes after `admission webhook "…" denied the request: `. `all` are the stored
/// Ingresses (the one being replaced among them), `classes` the IngressClasses.
pub fn check_ingress(
    flags: &ControllerFlags,
    ing: &Ingress,
    all: &[&Ingress],
    classes: &[&crate::api::IngressClass],
) -> Result<(), String> {
    let key = format!("{}/{}", ing.metadata.namespace, ing.metadata.name);
    deep_inspect(ing, &key).map_err(|e| format!("invalid object: {e}"))?;
    if flags.serves(ing, classes).is_err() {
        return Ok(());
    }
    validate_path_type(ing).map_err(|e| format!("ingress contains invalid paths: {e}"))?;
    for k in ing.metadata.annotations.keys() {
        if k.ends_with("-snippet") {
            return Err(format!(
                "{k} annotation cannot be used. Snippet directives are disabled by the Ingress administrator"
            ));
        }
    }
    let others: Vec<&Ingress> = all
        .iter()
        .copied()
        .filter(|o| !(o.metadata.namespace == ing.metadata.namespace && o.metadata.name == ing.metadata.name))
        .filter(|o| flags.serves(o, classes).is_ok())
        .collect();
    check_overlap(ing, &others)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress(
        name: &str,
        created: &str,
        annotations: &[(&str, &str)],
        host: &str,
        paths: &[(&str, &str)],
    ) -> Ingress {
        let paths: Vec<serde_json::Value> = paths
            .iter()
            .map(|(p, t)| serde_json::json!({"path": p, "pathType": t, "backend": {"service": {"name": "web", "port": {"number": 80}}}}))
            .collect();
        let mut i = Ingress {
            spec: Some(
                serde_json::json!({"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": paths}}]}),
            ),
            ..Default::default()
        };
        i.metadata.name = name.into();
        i.metadata.namespace = "default".into();
        i.metadata.creation_timestamp = Some(created.into());
        for (k, v) in annotations {
            i.metadata.annotations.insert(k.to_string(), v.to_string());
        }
        i
    }

    fn class() -> crate::api::IngressClass {
        let mut c = crate::api::IngressClass::default();
        c.metadata.name = "nginx".into();
        c.spec.controller = "k8s.io/ingress-nginx".into();
        c
    }

    #[test]
    fn overlap_is_refused_unless_one_is_a_canary() {
        let flags = ControllerFlags::default();
        let c = class();
        let a = ingress("a", "2024-01-01T00:00:00Z", &[], "foo.bar.com", &[("/", "Prefix")]);
        let b = ingress("b", "2024-01-01T00:00:01Z", &[], "foo.bar.com", &[("/", "Prefix")]);
        assert_eq!(
            check_ingress(&flags, &b, &[&a], &[&c]).unwrap_err(),
            "host \"foo.bar.com\" and path \"/\" is already defined in ingress default/a"
        );
        // The same Ingress re-applied is no overlap.
        assert!(check_ingress(&flags, &a, &[&a], &[&c]).is_ok());
        let canary =
            ingress("b", "2024-01-01T00:00:01Z", &[(CANARY, "true")], "foo.bar.com", &[("/", "Prefix")]);
        assert!(check_ingress(&flags, &canary, &[&a], &[&c]).is_ok());
        // `canary: "false"` on one side only: upstream then accepts the overlap too.
        let not_canary = ingress("b", "x", &[(CANARY, "false")], "foo.bar.com", &[("/", "Prefix")]);
        assert!(check_ingress(&flags, &not_canary, &[&a], &[&c]).is_ok());
        let other_host = ingress("b", "x", &[], "other.com", &[("/", "Prefix")]);
        assert!(check_ingress(&flags, &other_host, &[&a], &[&c]).is_ok());
    }

    #[test]
    fn strict_path_types_snippets_and_deep_inspection() {
        let flags = ControllerFlags::default();
        let c = class();
        let regex = ingress("r", "x", &[], "h", &[("/foo(/|$)(.*)", "Prefix"), ("/bar.+", "Exact")]);
        assert_eq!(
            check_ingress(&flags, &regex, &[], &[&c]).unwrap_err(),
            "ingress contains invalid paths: path /foo(/|$)(.*) cannot be used with pathType Prefix\npath /bar.+ cannot be used with pathType Exact"
        );
        let ok = ingress(
            "r",
            "x",
            &[],
            "h",
            &[("/foo(/|$)(.*)", "ImplementationSpecific"), ("/a_b-c.d/e", "Prefix")],
        );
        assert!(check_ingress(&flags, &ok, &[], &[&c]).is_ok());
        let snippet = ingress(
            "s",
            "x",
            &[("nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers \"X: y\";")],
            "h",
            &[("/", "Prefix")],
        );
        assert_eq!(
            check_ingress(&flags, &snippet, &[], &[&c]).unwrap_err(),
            "nginx.ingress.kubernetes.io/configuration-snippet annotation cannot be used. Snippet directives are disabled by the Ingress administrator"
        );
        let escape = ingress("e", "x", &[], "h", &[("/var/run/secrets", "ImplementationSpecific")]);
        assert_eq!(
            check_ingress(&flags, &escape, &[], &[&c]).unwrap_err(),
            "invalid object: invalid rule in ingress default/e: invalid http path: invalid value found: /var/run/secrets"
        );
        // Another class's Ingress is not this controller's business.
        let mut traefik = regex.clone();
        traefik.spec = Some(serde_json::json!({"ingressClassName": "traefik", "rules": []}));
        assert!(check_ingress(&flags, &traefik, &[], &[&c]).is_ok());
    }
}
