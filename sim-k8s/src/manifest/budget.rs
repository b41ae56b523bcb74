//! Limits on hostile or huge input, checked before the work they bound: reading a source stops
//! at its size cap instead of buffering it whole, and the objects a load would create (its
//! own objects plus the pods its workloads ask for) are counted against `--max-objects` before
//! the cluster is built, so an oversized input ends with the limit's name and exit status 2,
//! not the allocator's `memory allocation of N bytes failed` abort.

use std::io::Read;

use crate::api::Object;

use super::{LoadError, LoadErrorKind, Loaded};

/// The default `--max-objects`: API objects plus the pods workloads would create. Ten times the
/// Kubernetes scalability envelope of 150,000 pods, so real dumps pass and a `replicas:
/// 2000000000` typo does not.
pub const DEFAULT_MAX_OBJECTS: u64 = 2_000_000;

/// Reads `r` as UTF-8 text, at most `limit` bytes: a longer source is refused after reading
/// `limit + 1` bytes, whatever its length (stdin has none to ask in advance).
pub fn read_capped(name: &str, r: impl Read, limit: usize) -> Result<String, LoadError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let err = |message: String, kind| LoadError {
        file: name.to_string(),
        loc: None,
        field: String::new(),
        message,
        kind,
    };
    r.take(cap).read_to_end(&mut bytes).map_err(|e| err(format!("cannot read: {e}"), LoadErrorKind::Io))?;
    if bytes.len() > limit {
        return Err(err(
            format!("manifest is too large: over the limit of {limit} bytes"),
            LoadErrorKind::TooLarge,
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        err(format!("file is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()), LoadErrorKind::Syntax)
    })
}

/// How many objects loading `objects` would make: each object, plus the pods of Deployments,
/// ReplicaSets and StatefulSets (their `replicas`, default 1) and of DaemonSets (one per node).
pub fn object_count(objects: &[Loaded<Object>], nodes: u64) -> u64 {
    objects
        .iter()
        .map(|o| {
            let pods = match &o.value {
                Object::Deployment(d) => d.spec.replicas.unwrap_or(1),
                Object::ReplicaSet(r) => r.spec.replicas.unwrap_or(1),
                Object::StatefulSet(s) => s.spec.replicas.unwrap_or(1),
                Object::DaemonSet(_) => i32::try_from(nodes).unwrap_or(i32::MAX),
                _ => 0,
            };
            1 + u64::try_from(pods.max(0)).unwrap_or(0)
        })
        .fold(0u64, u64::saturating_add)
}

/// `Err` naming the limit when `objects` would make more than `max` objects.
pub fn check_objects(objects: &[Loaded<Object>], nodes: u64, max: u64) -> Result<(), String> {
    let n = object_count(objects, nodes);
    if n > max {
        return Err(format!(
            "the manifests would create {n} objects (theirs and their workloads' pods), more than --max-objects {max}; raise --max-objects to simulate a cluster this large"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_at_the_cap() {
        let big = std::io::repeat(b'a').take(10_000);
        let e = read_capped("STDIN", big, 100).err().map(|e| e.kind);
        assert_eq!(e, Some(LoadErrorKind::TooLarge));
        assert_eq!(read_capped("x", &b"ok"[..], 2).ok().as_deref(), Some("ok"));
    }
}
