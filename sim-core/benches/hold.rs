//! Criterion bench of the "hold" workload (see examples/hold.rs): population 10,000; each fired
//! event schedules one successor at now + uniform(0..1000 ns). Target: ≥ 10 million events/s.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
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
    g.bench_function("hold/population=10000", |b| {
        b.iter_batched_ref(
            || primed(10_000),
            |sim| {
                for _ in 0..STEPS {
                    sim.step();
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
