//! The slice of the API server the controllers and kubectl need: borrowed reads of typed
//! objects keyed by `ObjectKey` in key order, the informers' indexed lookups, the change log
//! (the controllers' watch) and create/update/delete. Written as a trait so the controllers do
//! not depend on the store's internals. Also holds the simulated wall clock: RFC 3339
//! timestamps derived from `SimTime` (epoch [`SIM_EPOCH_UNIX`]).
//! Left out: resourceVersion conflicts (one writer at a time, so none can happen).

use std::collections::BTreeMap;

use sim_core::SimTime;
use thiserror::Error;

use crate::api::{Kind, Object, ObjectKey, ObjectStatus, Pod};
use crate::apiserver::{ApiError, ApiServer, Change};

/// Why a store write failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StoreError {
    /// Create of a key that exists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// REST resource (`services`).
        resource: String,
        /// Object name.
        name: String,
    },
    /// Update or delete of a missing key.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// REST resource (`services`).
        resource: String,
        /// Object name.
        name: String,
    },
    /// Any other refusal, in the store's words.
    #[error("{0}")]
    Rejected(String),
}

impl StoreError {
    /// NotFound for `key`.
    pub fn not_found(key: &ObjectKey) -> Self {
        StoreError::NotFound { resource: key.kind.resource().to_string(), name: key.name.clone() }
    }
    /// AlreadyExists for `key`.
    pub fn already_exists(key: &ObjectKey) -> Self {
        StoreError::AlreadyExists { resource: key.kind.resource().to_string(), name: key.name.clone() }
    }
}

/// Object access as controllers and kubectl use it: borrowed reads (nothing is cloned unless
/// the caller clones it), the indexed lookups informers offer (by selector, by controlling
/// owner, pods by node), the change log the controllers watch, and writes. Keys always carry
/// the effective namespace.
pub trait ObjectStore {
    /// Every object of `kind`, in key order (namespace, then name).
    fn list(&self, kind: Kind) -> Box<dyn Iterator<Item = &Object> + '_>;
    /// One object.
    fn get(&self, key: &ObjectKey) -> Option<&Object>;
    /// An object by its key's parts, without building the key.
    fn get_named(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        self.get(&ObjectKey::new(kind, namespace, name))
    }
    /// One object, shared: a controller holds it across its own writes without copying it
    /// (as an informer's cache hands out pointers).
    fn shared(&self, key: &ObjectKey) -> Option<std::rc::Rc<Object>>;
    /// [`Self::owned`], shared.
    fn owned_shared(
        &self,
        kind: Kind,
        namespace: &str,
        owner_kind: &str,
        owner: &str,
    ) -> Vec<std::rc::Rc<Object>>;
    /// [`ObjectStore::select`] for a map selector given as its `(key, value)` pairs, each
    /// object shared with the store (to hold across writes).
    fn select_shared(
        &self,
        kind: Kind,
        namespace: &str,
        selector: &[(&str, &str)],
    ) -> Vec<std::rc::Rc<Object>>;
    /// Objects of `kind` in `namespace` whose labels satisfy a map selector, in name order (an
    /// empty selector selects nothing).
    fn select(&self, kind: Kind, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<&Object>;
    /// Objects of `kind` in `namespace` controlled by the `owner_kind` named `owner`.
    fn owned(&self, kind: Kind, namespace: &str, owner_kind: &str, owner: &str) -> Vec<&Object>;
    /// Services in `namespace` whose non-empty selector `labels` satisfy, in name order.
    fn services_selecting(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<&crate::api::Service>;
    /// Pods bound to `node`, in key order.
    fn pods_on(&self, node: &str) -> Vec<&Pod>;
    /// The change log after entry `after` (a watch from that resourceVersion).
    fn changes_since(&self, after: u64) -> &[Change];
    /// The object a change is about as stored now, as `get(&change.key)`.
    fn get_changed(&self, change: &Change) -> Option<&Object> {
        self.get(&change.key)
    }
    /// The position before the oldest change kept: a watch from further back missed changes.
    fn log_start(&self) -> u64;
    /// Stores a new object; fails if the key exists.
    fn create(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError>;
    /// Replaces an existing object (spec, metadata and status alike).
    fn update(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError>;
    /// Creates (`create`) or updates an object a controller built from stored, validated
    /// objects: a pod from its owner's template, Endpoints and EndpointSlices from pods and
    /// Services. The API server's validation passes such objects by construction and runs only
    /// in debug builds (where a failure is a netsim bug and fails the write).
    fn write_built(&mut self, obj: Object, create: bool, now: SimTime) -> Result<(), StoreError>;
    /// Writes only the object's `status` (the `/status` subresource the kubelet and the
    /// workload controllers write): no defaulting, validation or spec comparison.
    fn update_status(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError>;
    /// Writes `status` as the stored object's status, in place (see
    /// [`ApiServer::set_status`]); true if it changed.
    fn set_status(&mut self, key: &ObjectKey, status: ObjectStatus, now: SimTime)
    -> Result<bool, StoreError>;
    /// Binds the pod `key` to `node` (the `pods/binding` subresource).
    fn bind(&mut self, key: &ObjectKey, node: &str, now: SimTime) -> Result<(), StoreError>;
    /// Removes an object.
    fn delete(&mut self, key: &ObjectKey, now: SimTime) -> Result<Object, StoreError>;
    /// A counter that changes on every write (the last change's sequence number).
    fn revision(&self) -> u64;
}

impl From<ApiError> for StoreError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::AlreadyExists { kind, name } => {
                StoreError::AlreadyExists { resource: kind.resource().into(), name }
            }
            ApiError::NotFound { kind, name } => {
                StoreError::NotFound { resource: kind.resource().into(), name }
            }
            other => StoreError::Rejected(other.to_string()),
        }
    }
}

/// The real store: creates go through `create`, updates through the merge path of `apply`
/// (status included, server-owned metadata kept), deletes through `delete`.
impl ObjectStore for ApiServer {
    fn list(&self, kind: Kind) -> Box<dyn Iterator<Item = &Object> + '_> {
        Box::new(ApiServer::list(self, kind))
    }
    fn get_named(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        ApiServer::get_named(self, kind, namespace, name)
    }
    fn get(&self, key: &ObjectKey) -> Option<&Object> {
        ApiServer::get(self, key)
    }
    fn shared(&self, key: &ObjectKey) -> Option<std::rc::Rc<Object>> {
        ApiServer::shared(self, key)
    }
    fn owned_shared(
        &self,
        kind: Kind,
        namespace: &str,
        owner_kind: &str,
        owner: &str,
    ) -> Vec<std::rc::Rc<Object>> {
        ApiServer::owned_shared(self, kind, namespace, owner_kind, owner)
    }
    fn select_shared(
        &self,
        kind: Kind,
        namespace: &str,
        selector: &[(&str, &str)],
    ) -> Vec<std::rc::Rc<Object>> {
        ApiServer::select_shared(self, kind, namespace, selector)
    }
    fn select(&self, kind: Kind, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<&Object> {
        ApiServer::select(self, kind, namespace, selector)
    }
    fn owned(&self, kind: Kind, namespace: &str, owner_kind: &str, owner: &str) -> Vec<&Object> {
        ApiServer::owned(self, kind, namespace, owner_kind, owner)
    }
    fn services_selecting(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<&crate::api::Service> {
        ApiServer::services_selecting(self, namespace, labels)
    }
    fn pods_on(&self, node: &str) -> Vec<&Pod> {
        ApiServer::pods_on(self, node).collect()
    }
    fn get_changed(&self, change: &Change) -> Option<&Object> {
        ApiServer::get_changed(self, change)
    }
    fn changes_since(&self, after: u64) -> &[Change] {
        ApiServer::changes_since(self, after)
    }
    fn log_start(&self) -> u64 {
        ApiServer::log_start(self)
    }
    fn create(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError> {
        self.set_now(now);
        ApiServer::create(self, obj).map(|_| ()).map_err(StoreError::from)
    }
    fn update(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError> {
        self.set_now(now);
        let key = obj.key("default");
        if ApiServer::get(self, &key).is_none() {
            return Err(StoreError::not_found(&key));
        }
        self.apply(obj).map(|_| ()).map_err(StoreError::from)
    }
    fn write_built(&mut self, obj: Object, create: bool, now: SimTime) -> Result<(), StoreError> {
        self.set_now(now);
        if create {
            return ApiServer::create_built(self, obj).map(|_| ()).map_err(StoreError::from);
        }
        let key = obj.key("default");
        if ApiServer::get(self, &key).is_none() {
            return Err(StoreError::not_found(&key));
        }
        ApiServer::update_built(self, obj).map(|_| ()).map_err(StoreError::from)
    }
    fn update_status(&mut self, obj: Object, now: SimTime) -> Result<(), StoreError> {
        self.set_now(now);
        ApiServer::update_status(self, obj).map(|_| ()).map_err(StoreError::from)
    }
    fn set_status(
        &mut self,
        key: &ObjectKey,
        status: ObjectStatus,
        now: SimTime,
    ) -> Result<bool, StoreError> {
        self.set_now(now);
        ApiServer::set_status(self, key, status)
            .map(|r| r != crate::apiserver::ApplyResult::Unchanged)
            .map_err(StoreError::from)
    }
    fn bind(&mut self, key: &ObjectKey, node: &str, now: SimTime) -> Result<(), StoreError> {
        self.set_now(now);
        ApiServer::bind(self, key, node).map(|_| ()).map_err(StoreError::from)
    }
    fn delete(&mut self, key: &ObjectKey, now: SimTime) -> Result<Object, StoreError> {
        self.set_now(now);
        ApiServer::delete(self, key.kind, &key.namespace, &key.name).map_err(StoreError::from)
    }
    fn revision(&self) -> u64 {
        self.last_seq()
    }
}

/// Unix time of `SimTime::ZERO`: 2024-01-01T00:00:00Z, the API server's default
/// `epoch_unix_secs`. Timestamps in objects are this plus the simulated clock, so ages computed
/// back from them are pure simulated time.
pub const SIM_EPOCH_UNIX: i64 = 1_704_067_200;

/// The RFC 3339 (`2025-01-01T00:00:05Z`) spelling of a simulated instant, seconds precision
/// like `metav1.Time`.
pub fn timestamp(t: SimTime) -> String {
    crate::apiserver::naming::timestamp(SIM_EPOCH_UNIX, t)
}

/// Parses an RFC 3339 timestamp back into a simulated instant (None if malformed or before the
/// simulation epoch).
pub fn parse_timestamp(s: &str) -> Option<SimTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let unix = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
    let since = unix - SIM_EPOCH_UNIX;
    u64::try_from(since).ok().map(|s| SimTime::from_nanos(s * 1_000_000_000))
}

/// Creation time of an object's metadata as a simulated instant.
pub fn created_at(meta: &crate::api::ObjectMeta) -> Option<SimTime> {
    meta.creation_timestamp.as_deref().and_then(parse_timestamp)
}

// Howard Hinnant's civil calendar algorithm (proleptic Gregorian); the other direction is
// `naming::civil_from_days`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(timestamp(SimTime::ZERO), "2024-01-01T00:00:00Z");
        // 2024 is a leap year: day 59 is February 29th.
        let t = SimTime::from_nanos(86_400 * 59 * 1_000_000_000 + 3_723_000_000_000);
        assert_eq!(timestamp(t), "2024-02-29T01:02:03Z");
        assert_eq!(parse_timestamp("2024-02-29T01:02:03Z"), Some(t));
        assert_eq!(parse_timestamp("2023-12-31T23:59:59Z"), None);
        assert_eq!(parse_timestamp("garbage"), None);
    }
}
