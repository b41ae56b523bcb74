//! The simulation loop. A [`World`] owns all model state and handles its own event enum; the
//! [`Simulation`] owns the clock and the queue and hands the world a [`Scheduler`] to post
//! follow-up events. Events are data: a missing `match` arm is a compile error.

use crate::queue::{EventId, EventQueue};
use crate::time::{SimDuration, SimTime};

/// The model driven by a [`Simulation`].
pub trait World {
    /// The closed set of things that can happen.
    type Event;
    /// Handles one event at `now`, scheduling any consequences on `sched`.
    fn handle(&mut self, now: SimTime, event: Self::Event, sched: &mut Scheduler<Self::Event>);
}

/// The clock and queue, lent to a [`World`] while it handles an event.
pub struct Scheduler<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E> Scheduler<E> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Schedules `event` at the absolute time `at` (never before now).
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventId {
        self.queue.schedule(at.max(self.now), event)
    }
    /// Schedules `event` after `delay`.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.schedule(self.now + delay, event)
    }
    /// Cancels a pending event.
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.queue.cancel(id)
    }
    /// Time of the next pending event.
    pub fn next_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }
}

/// A world, its clock and its pending events.
pub struct Simulation<W: World> {
    /// The model. Public so drivers can inspect and poke it between runs.
    pub world: W,
    sched: Scheduler<W::Event>,
    fired: u64,
}

impl<W: World> Simulation<W> {
    /// A simulation at time zero with no pending events.
    pub fn new(world: W) -> Self {
        Simulation { world, sched: Scheduler { now: SimTime::ZERO, queue: EventQueue::new() }, fired: 0 }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.sched.now
    }

    /// How many events have fired so far.
    pub fn events_fired(&self) -> u64 {
        self.fired
    }

    /// Access to the scheduler between runs (to inject events from outside).
    pub fn scheduler(&mut self) -> &mut Scheduler<W::Event> {
        &mut self.sched
    }

    /// The world and the scheduler at once, to act on the world from outside the event loop
    /// (e.g. a user command that schedules follow-up events).
    pub fn split(&mut self) -> (&mut W, &mut Scheduler<W::Event>) {
        (&mut self.world, &mut self.sched)
    }

    /// Fires the next event, if any; returns its time.
    pub fn step(&mut self) -> Option<SimTime> {
        let (at, _, event) = self.sched.queue.pop()?;
        self.sched.now = at;
        self.fired += 1;
        self.world.handle(at, event, &mut self.sched);
        Some(at)
    }

    /// Fires every event scheduled at or before `until`, then sets the clock to `until`
    /// (unless it is [`SimTime::MAX`], where the clock stays at the last event).
    pub fn run_until(&mut self, until: SimTime) {
        while let Some(t) = self.sched.queue.peek_time() {
            if t > until {
                break;
            }
            self.step();
        }
        if until != SimTime::MAX && until > self.sched.now {
            self.sched.now = until;
        }
    }

    /// Advances the clock by `d`, firing everything due on the way.
    pub fn run_for(&mut self, d: SimDuration) {
        let until = self.sched.now + d;
        self.run_until(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ping-pong world: each event schedules the next one 10ns later, up to a limit.
    struct Counter {
        seen: Vec<(u64, u32)>,
    }
    enum Ev {
        Tick(u32),
    }
    impl World for Counter {
        type Event = Ev;
        fn handle(&mut self, now: SimTime, event: Ev, sched: &mut Scheduler<Ev>) {
            let Ev::Tick(n) = event;
            self.seen.push((now.as_nanos(), n));
            if n < 3 {
                sched.schedule_in(SimDuration::from_nanos(10), Ev::Tick(n + 1));
            }
        }
    }

    #[test]
    fn run_until_stops_at_the_bound_and_sets_the_clock() {
        let mut sim = Simulation::new(Counter { seen: vec![] });
        sim.scheduler().schedule_at(SimTime::ZERO, Ev::Tick(0));
        sim.run_until(SimTime::from_nanos(15));
        assert_eq!(sim.world.seen, vec![(0, 0), (10, 1)]);
        assert_eq!(sim.now(), SimTime::from_nanos(15));
        sim.run_until(SimTime::MAX);
        assert_eq!(sim.world.seen.last(), Some(&(30, 3)));
        assert_eq!(sim.events_fired(), 4);
    }
}
