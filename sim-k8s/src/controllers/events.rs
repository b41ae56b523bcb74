//! Kubernetes Events as the controllers emit them (`Scheduled`, `SuccessfulCreate`,
//! `ScalingReplicaSet`, `FailedScheduling`, `Killing`, `BackOff`, ...), with the API's
//! aggregation of repeats into a count (client-go's EventCorrelator, reduced to exact repeats).
//! Reasons and message wording follow the emitting controllers' source. Left out: Event API
//! objects in the store (events live here and are rendered by `kubectl describe`).

use std::rc::Rc;

use sim_core::SimTime;

use crate::api::ObjectKey;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Routine progress.
    Normal,
    /// Something went wrong.
    Warning,
}

impl EventType {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One (aggregated) event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The object the event is about (shared by consecutive events about one object: a
    /// kubelet's Pulled, Created and Started, a ReplicaSet's SuccessfulCreate for each pod).
    pub involved: Rc<ObjectKey>,
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason (a constant of the emitting controller's source).
    pub reason: &'static str,
    /// Component that reported it (`default-scheduler`, `kubelet`, `replicaset-controller`).
    pub source: &'static str,
    /// Human-readable message.
    pub message: String,
    /// First occurrence.
    pub first_seen: SimTime,
    /// Last occurrence.
    pub last_seen: SimTime,
    /// Number of occurrences.
    pub count: u32,
    /// The next older event with the same identity hash (`NONE`: none), so the events that may
    /// repeat one another form a chain from the newest, without a list per identity.
    older_same_hash: u32,
}

/// The end of an identity chain.
const NONE: u32 = u32::MAX;

/// Recorded events, oldest first, with an index from (object, reason, message, source) — by a
/// fixed hash — to the newest event that may repeat it, so folding a repeat costs a lookup, not
/// a scan.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
    /// Hashed: only looked up, never walked (a B-tree of 400,000 events was a cache miss per
    /// level on every event at 100,000 pods). The value is the newest event with that hash.
    by_identity: indexmap::IndexMap<u64, u32, sim_core::hash::FxBuildHasher>,
}

fn identity(involved: &ObjectKey, reason: &str, message: &str, source: &str) -> u64 {
    use std::hash::BuildHasher;
    // The unseeded Fx hash: the same input gives the same hash on every run (a repeat is
    // still confirmed field by field).
    sim_core::hash::FxBuildHasher::default().hash_one((involved, reason, message, source))
}

impl EventLog {
    /// Records an event, folding an exact repeat into the previous one.
    pub fn record(
        &mut self,
        involved: &ObjectKey,
        type_: EventType,
        reason: &'static str,
        source: &'static str,
        message: String,
        now: SimTime,
    ) {
        let id = identity(involved, reason, &message, source);
        let head = self.by_identity.entry(id).or_insert(NONE);
        let mut at = *head;
        while let Some(e) = self.events.get_mut(at as usize) {
            if *e.involved == *involved && e.reason == reason && e.message == message && e.source == source {
                e.count += 1;
                e.last_seen = now;
                return;
            }
            at = e.older_same_hash;
        }
        let older_same_hash = *head;
        *head = u32::try_from(self.events.len()).unwrap_or(NONE);
        let involved = match self.events.last() {
            Some(last) if *last.involved == *involved => Rc::clone(&last.involved),
            _ => Rc::new(involved.clone()),
        };
        self.events.push(Event {
            involved,
            type_,
            reason,
            source,
            message,
            first_seen: now,
            last_seen: now,
            count: 1,
            older_same_hash,
        });
    }

    /// Every event.
    pub fn all(&self) -> &[Event] {
        &self.events
    }
}
