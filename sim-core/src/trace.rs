//! Trace recording. Model crates push structured [`TraceRecord`]s (time, sequence, their own
//! event enum) into a [`TraceSink`]; printers in the root package render them. The sequence
//! number orders records that share a timestamp.

use crate::time::SimTime;

/// One recorded happening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord<E> {
    /// Position in the recording, from 0.
    pub seq: u64,
    /// Simulated time of the happening.
    pub at: SimTime,
    /// What happened, in the recording crate's own vocabulary.
    pub event: E,
}

/// Where trace records go (ripgrep's push-`Sink` model).
pub trait TraceSink<E> {
    /// Accepts one record.
    fn record(&mut self, record: TraceRecord<E>);
}

/// A sink that keeps every record in memory, numbering them as they arrive.
#[derive(Clone, Debug)]
pub struct VecSink<E> {
    /// The records, in arrival order.
    pub records: Vec<TraceRecord<E>>,
}

impl<E> Default for VecSink<E> {
    fn default() -> Self {
        VecSink { records: Vec::new() }
    }
}

impl<E> VecSink<E> {
    /// Pushes `event` at `at` with the next sequence number.
    pub fn push(&mut self, at: SimTime, event: E) {
        let seq = self.records.len() as u64;
        self.records.push(TraceRecord { seq, at, event });
    }
}

impl<E> TraceSink<E> for VecSink<E> {
    fn record(&mut self, record: TraceRecord<E>) {
        self.records.push(record);
    }
}
