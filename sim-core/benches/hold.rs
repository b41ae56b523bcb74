//! Criterion bench of the "hold" workload (see examples/hold.rs): population 10,000; each fired
//! event schedules one successor at now + uniform(0..1000 ns). Target: ≥ 10 million events/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::{Scheduler, SimDuration, SimRng, SimTime, Simulation, World};

struct Hold {
    rng: SimRng,
}
struct Tick;

impl World for Hold {
    type Event = Tick;
    fn handle(&mut self, _now: SimTime, _ev: Tick, sched: &mut Scheduler<Tick>) {
        let delay = self.rng.below(0, 1000);
        sched.schedule_in(SimDuration::from_nanos(delay), Tick);
    }
}

fn primed(population: u64) -> Simulation<Hold> {
    let mut sim = Simulation::new(Hold { rng: SimRng::new(1).fork("hold") });
    let mut init = SimRng::new(1).fork("hold/init");
    for _ in 0..population {
        let t = SimTime::from_nanos(init.below(0, 1000));
        sim.scheduler().schedule_at(t, Tick);
    }
    sim
}

fn hold(c: &mut Criterion) {
    const STEPS: u64 = 100_000;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(STEPS));
    // The hold model is stationary: one primed simulation keeps stepping across iterations,
    // so the measurement is the steady state (as in examples/hold.rs and ns-3's hold tests).
    let mut sim = primed(10_000);
    for _ in 0..1_000_000 {
        sim.step();
    }
    g.bench_function("hold/population=10000", |b| {
        b.iter(|| {
            for _ in 0..STEPS {
                sim.step();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
