//! The classic "hold" workload for discrete-event schedulers: a population of pending events;
//! each fired event schedules one successor at `now + uniform(0..1000 ns)`. Prints events per
//! second so the engine can be set beside others (ns-3's schedulers run the same workload).
//!
//! Usage: `cargo run --release -p sim-core --example hold -- EVENTS POPULATION`

use sim_core::{Scheduler, SimDuration, SimRng, SimTime, Simulation, World};

struct Hold {
    rng: SimRng,
}

/// The event carries nothing: the workload measures the queue, not the payload.
struct Tick;

impl World for Hold {
    type Event = Tick;
    fn handle(&mut self, _now: SimTime, _ev: Tick, sched: &mut Scheduler<Tick>) {
        let delay = self.rng.below(0, 1000);
        sched.schedule_in(SimDuration::from_nanos(delay), Tick);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let events: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let population: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let mut sim = Simulation::new(Hold { rng: SimRng::new(1).fork("hold") });
    let mut init = SimRng::new(1).fork("hold/init");
    for _ in 0..population {
        let t = SimTime::from_nanos(init.below(0, 1000));
        sim.scheduler().schedule_at(t, Tick);
    }
    // Wall-clock timing is allowed here: this is a measuring tool, not the library.
    #[allow(clippy::disallowed_types)]
    let start = std::time::Instant::now();
    for _ in 0..events {
        sim.step();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "hold: {events} events, population {population}: {:.3} s, {:.2} million events/s (simulated time {})",
        secs,
        events as f64 / secs / 1e6,
        sim.now()
    );
}
