//! Kubernetes Events as the controllers emit them (`Scheduled`, `SuccessfulCreate`,
//! `ScalingReplicaSet`, `FailedScheduling`, `Killing`, `BackOff`, ...), with the API's
//! aggregation of repeats into a count (client-go's EventCorrelator, reduced to exact repeats).
//! Reasons and message wording follow the emitting controllers' source. Left out: Event API
//! objects in the store (events live here and are rendered by `kubectl describe`).

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
    /// The object the event is about.
    pub involved: ObjectKey,
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason.
    pub reason: String,
    /// Component that reported it (`default-scheduler`, `kubelet`, `replicaset-controller`).
    pub source: String,
    /// Human-readable message.
    pub message: String,
    /// First occurrence.
    pub first_seen: SimTime,
    /// Last occurrence.
    pub last_seen: SimTime,
    /// Number of occurrences.
    pub count: u32,
}

/// Recorded events, oldest first, with an index from (object, reason, message, source) — by a
/// fixed hash — to the events that may repeat, so folding a repeat costs a lookup, not a scan.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
    /// Hashed: only looked up, never walked (a B-tree of 400,000 events was a cache miss per
    /// level on every event at 100,000 pods).
    by_identity: indexmap::IndexMap<u64, Vec<usize>, sim_core::hash::FxBuildHasher>,
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
        reason: &str,
        source: &str,
        message: String,
        now: SimTime,
    ) {
        let id = identity(involved, reason, &message, source);
        let candidates = self.by_identity.entry(id).or_default();
        let events = &mut self.events;
        let repeat = candidates.iter().copied().find(|&i| {
            events.get(i).is_some_and(|e| {
                &e.involved == involved && e.reason == reason && e.message == message && e.source == source
            })
        });
        if let Some(e) = repeat.and_then(|i| events.get_mut(i)) {
            e.count += 1;
            e.last_seen = now;
            return;
        }
        candidates.push(events.len());
        events.push(Event {
            involved: involved.clone(),
            type_,
            reason: reason.to_string(),
            source: source.to_string(),
            message,
            first_seen: now,
            last_seen: now,
            count: 1,
        });
    }

    /// Every event.
    pub fn all(&self) -> &[Event] {
        &self.events
    }
}
