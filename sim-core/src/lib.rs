//! sim-core: the deterministic heart of netsim. It knows nothing of networks or Kubernetes.
//!
//! - [`time`]: virtual time in integer nanoseconds ([`SimTime`], [`SimDuration`]). No wall clock.
//! - [`queue`]: the event queue ([`EventQueue`]), totally ordered by `(time, insertion sequence)`,
//!   so equal times pop FIFO; with schedule, cancel and run-until.
//! - [`engine`]: [`Simulation`] drives a [`World`] whose events are a plain enum (no `dyn Any`).
//! - [`rng`]: [`SimRng`], seeded ChaCha streams split by name with [`SimRng::fork`], so adding a
//!   component never shifts another component's draws.
//! - [`hash`]: [`hash::FxBuildHasher`], an unseeded hasher for lookup tables.
//! - [`trace`]: structured [`TraceRecord`]s pushed to a [`TraceSink`]; rendering lives elsewhere.
//!
//! Architecture invariant: nothing in this crate reads the wall clock or an OS random source.

pub mod engine;
pub mod hash;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;

pub use engine::{Scheduler, Simulation, World};
pub use queue::{EventId, EventQueue};
pub use rng::SimRng;
pub use time::{SimDuration, SimTime};
pub use trace::{TraceRecord, TraceSink, VecSink};
