//! Connection tracking: the kernel's `nf_conntrack` table for one network namespace.
//!
//! Follows `net/netfilter/nf_conntrack_core.c` and the per-protocol trackers
//! (`nf_conntrack_proto_{tcp,udp,icmp}.c`): every packet is classified against the table before
//! the first hook (NEW / ESTABLISHED / RELATED / INVALID); a new connection's entry is
//! *unconfirmed* and travels with its first packet, picking up NAT bindings on the way, and is
//! inserted only when that packet survives to POSTROUTING or INPUT (`__nf_conntrack_confirm`) —
//! so a dropped first packet leaves no entry and a retransmission is a brand-new connection.
//! Entries expire in simulated time (lazy expiry on lookup plus [`Conntrack::sweep`]).
//!
//! A new connection that finds `nf_conntrack_max` entries (`__nf_conntrack_alloc`) first tries
//! `early_drop`, evicting an entry that is not ASSURED, and otherwise is dropped with the log
//! line [`TABLE_FULL_MESSAGE`]; both count in the `conntrack -S` statistics ([`CtStats`]).
//!
//! Left out: expectations/helpers (FTP ...), zones, sequence-number window tracking, accounting
//! counters, the hash-bucket layout (listing order is creation order instead), the kernel's
//! choice of early-drop victim among the few buckets next to the new tuple's (we evict the oldest
//! non-ASSURED entry of the table), the GC worker's early drop of ASSURED entries in closing TCP
//! states once the table was full (`gc_worker_can_early_drop`), and per-CPU statistics (every
//! event counts on CPU 0).

pub mod print;
pub mod sctp;
pub mod tcp;
pub mod tuple;

use std::collections::BTreeSet;

// The maps are never iterated in hash order, so the hasher shows in no output; an unseeded one
// (not std's SipHash with OS-random keys) keeps the packet path free of OS randomness.
use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher as FxBuild;

use sim_core::{SimDuration, SimTime};

use crate::netfilter::CtState;
use crate::wire::{Icmp, Packet, Transport};

pub use print::{CtFilter, CtFilterError, CtListing};
pub use sctp::{SctpState, SctpTransition};
pub use tcp::{TcpState, TcpTransition};
pub use tuple::{L4Tuple, Tuple};

/// The kernel log line printed when a new connection finds the table full
/// (`net_warn_ratelimited("nf_conntrack: table full, dropping packet\n")` under the module's
/// `pr_fmt` prefix, as `dmesg` shows it).
pub const TABLE_FULL_MESSAGE: &str = "nf_conntrack: nf_conntrack: table full, dropping packet";

/// The per-CPU statistics `conntrack -S` prints (`ip_conntrack_stat`, as kernels since 5.15
/// report them over ctnetlink). netsim counts on one CPU; the fields it never increments
/// (`found`, `insert`, `error`, `search_restart`, `chaintoolong`) are printed as 0, as current
/// kernels print `found` and `insert`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtStats {
    /// `invalid`: packets conntrack could not track (classified INVALID).
    pub invalid: u64,
    /// `insert_failed`: entries that could not be inserted at confirmation (a clash).
    pub insert_failed: u64,
    /// `drop`: new connections dropped because the table was full and nothing could be
    /// early-dropped.
    pub drop: u64,
    /// `early_drop`: entries evicted to make room for a new connection.
    pub early_drop: u64,
    /// `clash_resolve`: clashes at confirmation resolved by letting the packet use the
    /// winning entry.
    pub clash_resolve: u64,
}

impl CtStats {
    /// `conntrack -S` (conntrack-tools 1.4.7): one line per CPU, everything counted on CPU 0.
    /// Checked against the real tool in a network namespace (two CPUs):
    /// `cpu=0   \tfound=0 invalid=0 insert=0 ... chaintoolong=0 ` with a trailing space.
    pub fn render(&self, cpus: u32) -> String {
        let mut out = String::new();
        for cpu in 0..cpus.max(1) {
            let s = if cpu == 0 { *self } else { CtStats::default() };
            out.push_str(&format!(
                "cpu={cpu:<4}\tfound=0 invalid={} insert=0 insert_failed={} drop={} early_drop={} error=0 search_restart=0 clash_resolve={} chaintoolong=0 \n",
                s.invalid, s.insert_failed, s.drop, s.early_drop, s.clash_resolve
            ));
        }
        out
    }
}

/// Conntrack sysctls (`/proc/sys/net/netfilter/nf_conntrack_*`), in seconds where timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtConfig {
    /// `nf_conntrack_max`: the table size limit (0: none). The kernel sizes it from memory;
    /// 262144 is what a 4 GiB+ host gets. kube-proxy sets max(32768 per core, 131072).
    pub max: usize,
    /// `nf_conntrack_tcp_timeout_syn_sent` (120).
    pub tcp_syn_sent: u64,
    /// `nf_conntrack_tcp_timeout_syn_recv` (60).
    pub tcp_syn_recv: u64,
    /// `nf_conntrack_tcp_timeout_established` (432000 = 5 days; kube-proxy sets 86400).
    pub tcp_established: u64,
    /// `nf_conntrack_tcp_timeout_fin_wait` (120).
    pub tcp_fin_wait: u64,
    /// `nf_conntrack_tcp_timeout_close_wait` (60; kube-proxy sets 3600).
    pub tcp_close_wait: u64,
    /// `nf_conntrack_tcp_timeout_last_ack` (30).
    pub tcp_last_ack: u64,
    /// `nf_conntrack_tcp_timeout_time_wait` (120).
    pub tcp_time_wait: u64,
    /// `nf_conntrack_tcp_timeout_close` (10).
    pub tcp_close: u64,
    /// `nf_conntrack_udp_timeout` (30): unreplied, or replied but younger than 2 s.
    pub udp: u64,
    /// `nf_conntrack_udp_timeout_stream` (120): a UDP flow still active 2 s after it began.
    pub udp_stream: u64,
    /// `nf_conntrack_icmp_timeout` (30).
    pub icmp: u64,
    /// `nf_conntrack_tcp_be_liberal` (0): accept out-of-window TCP packets. Recorded, not
    /// enforced (the model tracks no windows); kube-proxy's iptables mode writes no
    /// INVALID-drop rule when it is set.
    pub tcp_be_liberal: bool,
}

impl Default for CtConfig {
    /// The kernel defaults.
    fn default() -> Self {
        CtConfig {
            max: 262_144,
            tcp_syn_sent: 120,
            tcp_syn_recv: 60,
            tcp_established: 432_000,
            tcp_fin_wait: 120,
            tcp_close_wait: 60,
            tcp_last_ack: 30,
            tcp_time_wait: 120,
            tcp_close: 10,
            udp: 30,
            udp_stream: 120,
            icmp: 30,
            tcp_be_liberal: false,
        }
    }
}

impl CtConfig {
    /// What kube-proxy configures on a node (`--conntrack-tcp-timeout-established=24h`,
    /// `--conntrack-tcp-timeout-close-wait=1h`, `--conntrack-min=131072`).
    pub fn kube_proxy() -> Self {
        CtConfig { max: 131_072, tcp_established: 86_400, tcp_close_wait: 3_600, ..CtConfig::default() }
    }

    /// The timeout of a TCP state in seconds.
    pub fn tcp_timeout(&self, s: TcpState) -> u64 {
        match s {
            TcpState::None | TcpState::Close => self.tcp_close,
            TcpState::SynSent | TcpState::SynSent2 => self.tcp_syn_sent,
            TcpState::SynRecv => self.tcp_syn_recv,
            TcpState::Established => self.tcp_established,
            TcpState::FinWait => self.tcp_fin_wait,
            TcpState::CloseWait => self.tcp_close_wait,
            TcpState::LastAck => self.tcp_last_ack,
            TcpState::TimeWait => self.tcp_time_wait,
        }
    }
}

/// The identity of a conntrack entry (the kernel's `ct id`), in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CtId(pub u64);

/// The direction of a packet relative to its connection (`IP_CT_DIR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Same direction as the first packet.
    Original,
    /// The other way.
    Reply,
}

impl Direction {
    /// The other direction.
    pub fn flip(self) -> Direction {
        match self {
            Direction::Original => Direction::Reply,
            Direction::Reply => Direction::Original,
        }
    }
}

/// The `IPS_*` status bits of an entry (values as in `nf_conntrack_common.h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtStatus(pub u32);

impl CtStatus {
    /// `IPS_SEEN_REPLY`: a packet was seen in the reply direction (no `[UNREPLIED]`).
    pub const SEEN_REPLY: u32 = 1 << 1;
    /// `IPS_ASSURED`: never early-dropped; printed `[ASSURED]`.
    pub const ASSURED: u32 = 1 << 2;
    /// `IPS_CONFIRMED`: inserted in the table.
    pub const CONFIRMED: u32 = 1 << 3;
    /// `IPS_SRC_NAT`: the source is translated.
    pub const SRC_NAT: u32 = 1 << 4;
    /// `IPS_DST_NAT`: the destination is translated.
    pub const DST_NAT: u32 = 1 << 5;

    /// True if `bit` is set.
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
    /// Sets `bit`.
    pub fn set(&mut self, bit: u32) {
        self.0 |= bit;
    }
}

/// TCP tracker memory used to decide whether a SYN may reopen a closed connection
/// (`IP_CT_TCP_FLAG_CLOSE_INIT`, `last_dir`/`last_index` in `nf_conntrack_proto_tcp.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSeen {
    /// Some side began closing with a FIN (its direction moved to FIN_WAIT).
    pub close_init: bool,
    /// The last packet seen was a RST, in this direction.
    pub last_rst: Option<Direction>,
}

/// One tracked connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtEntry {
    /// Creation-order identity.
    pub id: CtId,
    /// The tuple of the first packet, as it arrived.
    pub orig: Tuple,
    /// The tuple replies carry: the inverse of the original tuple *after* NAT.
    pub reply: Tuple,
    /// Status bits.
    pub status: CtStatus,
    /// TCP state (TCP only).
    pub tcp: Option<TcpState>,
    /// What the TCP tracker remembers beyond the state (for reopening, see [`TcpSeen`]).
    pub tcp_seen: TcpSeen,
    /// SCTP state (SCTP only).
    pub sctp: Option<SctpState>,
    /// The connection mark (`ct mark`).
    pub mark: u32,
    /// When the entry was created (for the UDP 2-second stream rule).
    pub created: SimTime,
    /// When it expires unless refreshed.
    pub expires: SimTime,
}

impl CtEntry {
    /// The tuple a packet in direction `dir` carries *before* translation.
    pub fn tuple(&self, dir: Direction) -> Tuple {
        match dir {
            Direction::Original => self.orig,
            Direction::Reply => self.reply,
        }
    }
    /// The tuple a packet in direction `dir` must carry *after* translation (the inverse of the
    /// other direction's tuple).
    pub fn target(&self, dir: Direction) -> Tuple {
        self.tuple(dir.flip()).invert()
    }
    /// Whole seconds left before expiry, as `conntrack -L` prints them.
    pub fn remaining_secs(&self, now: SimTime) -> u64 {
        self.expires.saturating_since(now).as_secs()
    }
}

/// How conntrack classified a packet. The entry is a snapshot taken after the state update, so
/// NAT can still translate a packet whose connection was just killed (a reply RST).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtClass {
    /// The first packet of a new connection; the entry is unconfirmed until
    /// [`Conntrack::confirm`].
    New(CtEntry),
    /// A packet of a tracked connection: ctstate NEW (original direction before any reply) or
    /// ESTABLISHED.
    Tracked { entry: CtEntry, dir: Direction, state: CtState },
    /// An ICMP error quoting a tracked connection; `dir` is the error's own direction.
    Related { entry: CtEntry, dir: Direction },
    /// Not trackable (a stray SYN-ACK, an echo reply or ICMP error matching nothing).
    Invalid,
    /// A new connection found the table full: drop it ([`TABLE_FULL_MESSAGE`]).
    Full,
    /// Exempted from tracking by a raw-table `NOTRACK` / `CT --notrack` rule.
    Untracked,
}

impl CtClass {
    /// The `--ctstate` value of the packet.
    pub fn state(&self) -> CtState {
        match self {
            CtClass::New(_) => CtState::New,
            CtClass::Tracked { state, .. } => *state,
            CtClass::Related { .. } => CtState::Related,
            CtClass::Invalid | CtClass::Full => CtState::Invalid,
            CtClass::Untracked => CtState::Untracked,
        }
    }
}

/// What the kernel does when two packets of one new UDP flow race through `nf_conntrack_in`
/// on different CPUs and the second one's entry, with NAT bound, is confirmed after the first
/// (`__nf_conntrack_confirm` finds the tuple taken).
///
/// netsim treats packets of one UDP tuple that reach a namespace at the same simulated instant
/// as such a race (glibc's and musl's A and AAAA queries, sent together from one socket): the
/// second is classified as if the first's entry were not yet confirmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NatClash {
    /// Kernels before Florian Westphal's 2020 patch "netfilter: conntrack: allow insertion of
    /// clashing entries": `nf_ct_resolve_clash` lets the loser through only when its entry is
    /// identical to the winner's (same NAT); a loser DNATed to another endpoint is dropped
    /// (`insert_failed` in `conntrack -S`). The "5-second DNS delay" of kubernetes#56903.
    Drop,
    /// Later kernels: the loser is inserted too (`IPS_NAT_CLASH`, reply direction only) and
    /// its answer comes back. netsim lets the later packet follow the first one's entry.
    #[default]
    Insert,
}

/// Why an unconfirmed entry could not be inserted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    /// Another entry already owns one of its tuples (`nf_conntrack_confirm` clash: the kernel
    /// drops the packet).
    #[error("conntrack entry clashes with an existing entry for {0}")]
    Clash(Tuple),
}

/// The conntrack table of one network namespace.
#[derive(Clone, Debug)]
pub struct Conntrack {
    config: CtConfig,
    /// Entries by id. Hashed for O(1) access; every iteration sorts by id (creation order), so
    /// `swap_remove`'s reordering never shows.
    entries: IndexMap<CtId, CtEntry, FxBuild>,
    /// Both tuples of every entry → the entry. Hashed for O(1) lookups; never iterated (so
    /// `swap_remove`'s reordering cannot leak into any output).
    index: IndexMap<Tuple, (CtId, Direction), FxBuild>,
    /// Expiry queue. A key may be earlier than the entry's real expiry (refreshes extend
    /// lazily); never later.
    expiry: BTreeSet<(SimTime, CtId)>,
    /// The time each entry is queued at in `expiry`.
    queued: IndexMap<CtId, SimTime, FxBuild>,
    next_id: u64,
    nat_clash: NatClash,
    /// Packets reaching the namespace at one instant run on different CPUs ([`Self::set_parallel`]).
    parallel: bool,
    /// The `conntrack -S` counters.
    stats: CtStats,
}

impl Default for Conntrack {
    fn default() -> Self {
        Conntrack::new(CtConfig::default())
    }
}

impl Conntrack {
    /// An empty table.
    pub fn new(config: CtConfig) -> Self {
        Conntrack {
            config,
            entries: IndexMap::default(),
            index: IndexMap::default(),
            expiry: BTreeSet::new(),
            queued: IndexMap::default(),
            next_id: 1,
            nat_clash: NatClash::default(),
            parallel: false,
            stats: CtStats::default(),
        }
    }

    /// The kernel's insertion-race behaviour ([`NatClash`]).
    pub fn nat_clash(&self) -> NatClash {
        self.nat_clash
    }

    /// Sets the kernel's insertion-race behaviour.
    pub fn set_nat_clash(&mut self, clash: NatClash) {
        self.nat_clash = clash;
    }

    /// Whether packets that reach the namespace at the same simulated instant are processed
    /// in parallel, as on a machine with more than one CPU: each one's entry is then still
    /// unconfirmed while the others' NAT is decided ([`Self::nat_tuple_used`]). Off by default
    /// (one packet at a time, each confirmed before the next is classified).
    pub fn set_parallel(&mut self, on: bool) {
        self.parallel = on;
    }

    /// `nf_nat_used_tuple` as NAT's port search sees the table at `now`: a live entry owns
    /// `t`, and (with [`Self::set_parallel`]) was not created at this very instant by another
    /// packet, whose confirmation on its own CPU has not happened yet. Such an entry still
    /// counts when the later one is confirmed ([`Self::confirm`]): the clash is found then.
    pub fn nat_tuple_used(&self, now: SimTime, t: &Tuple) -> bool {
        self.index
            .get(t)
            .and_then(|(id, _)| self.entries.get(id))
            .is_some_and(|e| e.expires > now && !(self.parallel && e.created == now))
    }

    /// Packets dropped because their entry clashed at confirmation (`insert_failed`).
    pub fn insert_failed(&self) -> u64 {
        self.stats.insert_failed
    }

    /// The `conntrack -S` counters.
    pub fn stats(&self) -> CtStats {
        self.stats
    }

    /// With [`NatClash::Drop`]: a UDP packet whose tuple belongs to an unreplied entry created
    /// at this very instant raced the packet that created it, so it gets a new unconfirmed
    /// entry of its own (NAT is decided for it again) instead of the first one's.
    pub fn packet_in_racing(&mut self, now: SimTime, pkt: &Packet) -> Option<CtClass> {
        if self.nat_clash != NatClash::Drop || !matches!(pkt.transport, Transport::Udp { .. }) {
            return None;
        }
        let t = Tuple::of_packet(pkt)?;
        let (e, dir) = self.lookup(now, &t)?;
        let racing = dir == Direction::Original && e.created == now && !e.status.has(CtStatus::SEEN_REPLY);
        racing.then(|| self.new_conn(now, t, pkt))
    }

    /// `nf_ct_resolve_clash` for an entry [`confirm`](Self::confirm) refused: the entry that
    /// won, when the loser's packet may join it (both directions equal, i.e. the same NAT);
    /// `None` when the packet is dropped (counted in `insert_failed`).
    pub fn resolve_clash(&mut self, now: SimTime, loser: &CtEntry) -> Option<CtEntry> {
        match self.lookup(now, &loser.orig) {
            Some((winner, Direction::Original)) if winner.reply == loser.reply => {
                self.stats.clash_resolve += 1;
                Some(winner)
            }
            _ => {
                self.stats.insert_failed += 1;
                None
            }
        }
    }

    /// The sysctls in force.
    pub fn config(&self) -> &CtConfig {
        &self.config
    }

    /// Changes the sysctls (existing entries keep their current expiry until refreshed).
    pub fn set_config(&mut self, config: CtConfig) {
        self.config = config;
    }

    /// Number of confirmed entries (`nf_conntrack_count`), including expired ones not yet swept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An entry by id.
    pub fn get(&self, id: CtId) -> Option<&CtEntry> {
        self.entries.get(&id)
    }

    /// Every live entry in creation order.
    pub fn entries(&self, now: SimTime) -> impl Iterator<Item = &CtEntry> {
        let mut v: Vec<&CtEntry> = self.entries.values().filter(|e| e.expires > now).collect();
        v.sort_by_key(|e| e.id);
        v.into_iter()
    }

    /// Finds the entry owning `t` in either direction, expiring it first if its time is up.
    pub fn lookup(&mut self, now: SimTime, t: &Tuple) -> Option<(CtEntry, Direction)> {
        let (id, dir) = *self.index.get(t)?;
        let e = *self.entries.get(&id)?;
        if e.expires <= now {
            self.remove(id);
            return None;
        }
        Some((e, dir))
    }

    /// True if a live entry owns `t` in either direction (NAT's `nf_nat_used_tuple`).
    pub fn tuple_taken(&self, now: SimTime, t: &Tuple) -> bool {
        self.index.get(t).and_then(|(id, _)| self.entries.get(id)).is_some_and(|e| e.expires > now)
    }

    /// Removes expired entries; returns how many.
    pub fn sweep(&mut self, now: SimTime) -> usize {
        let mut n = 0;
        while let Some(&(at, id)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            match self.entries.get(&id).map(|e| e.expires) {
                // Refreshed since it was queued: queue it again at its real expiry.
                Some(real) if real > now => {
                    self.expiry.insert((real, id));
                    self.queued.insert(id, real);
                }
                Some(_) => {
                    self.remove(id);
                    n += 1;
                }
                None => {}
            }
        }
        n
    }

    /// Removes one entry.
    pub fn remove(&mut self, id: CtId) -> Option<CtEntry> {
        let e = self.entries.swap_remove(&id)?;
        self.index.swap_remove(&e.orig);
        self.index.swap_remove(&e.reply);
        if let Some(q) = self.queued.swap_remove(&id) {
            self.expiry.remove(&(q, id));
        }
        Some(e)
    }

    /// Classifies `pkt` and updates the state of its connection (`nf_conntrack_in`).
    pub fn packet_in(&mut self, now: SimTime, pkt: &Packet) -> CtClass {
        if let Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) =
            &pkt.transport
        {
            return self.icmp_error(now, original);
        }
        let class = match Tuple::of_packet(pkt) {
            None => CtClass::Invalid,
            Some(t) => match self.lookup(now, &t) {
                Some((e, dir)) => self.update(now, e, dir, pkt),
                None => self.new_conn(now, t, pkt),
            },
        };
        if class.state() == CtState::Invalid && class != CtClass::Full {
            self.stats.invalid += 1;
        }
        class
    }

    /// An ICMP error is RELATED to the connection its quoted packet belongs to; the error
    /// travels in the opposite direction of the quoted packet (`icmp_error_message`).
    fn icmp_error(&mut self, now: SimTime, quoted: &Packet) -> CtClass {
        let Some(inner) = Tuple::of_packet(quoted) else { return CtClass::Invalid };
        match self.lookup(now, &inner.invert()) {
            Some((entry, dir)) => CtClass::Related { entry, dir },
            None => CtClass::Invalid,
        }
    }

    fn new_conn(&mut self, now: SimTime, t: Tuple, pkt: &Packet) -> CtClass {
        let mut sctp = None;
        let (tcp, timeout) = match &pkt.transport {
            Transport::Tcp { flags, .. } => match tcp::transition(TcpState::None, *flags, false) {
                TcpTransition::To(s) => (Some(s), self.config.tcp_timeout(s)),
                TcpTransition::Ignore | TcpTransition::Invalid => return CtClass::Invalid,
            },
            Transport::Udp { .. } => (None, self.config.udp),
            Transport::Sctp { chunk, .. } => match sctp::new_state(*chunk) {
                Some(s) => {
                    sctp = Some(s);
                    (None, s.timeout_secs())
                }
                None => return CtClass::Invalid,
            },
            Transport::Icmp(Icmp::EchoRequest { .. }) => (None, self.config.icmp),
            Transport::Icmp(_) => return CtClass::Invalid,
        };
        if self.config.max != 0 && self.entries.len() >= self.config.max && !self.early_drop() {
            // "Too stressed to deal" (nf_conntrack_in): counted in `drop`.
            self.stats.drop += 1;
            return CtClass::Full;
        }
        let id = CtId(self.next_id);
        self.next_id += 1;
        CtClass::New(CtEntry {
            id,
            orig: t,
            reply: t.invert(),
            status: CtStatus::default(),
            tcp,
            tcp_seen: TcpSeen::default(),
            sctp,
            mark: 0,
            created: now,
            expires: now + SimDuration::from_secs(timeout),
        })
    }

    /// `early_drop`: evicts one entry that is not ASSURED (the oldest, here).
    fn early_drop(&mut self) -> bool {
        let victim = self.entries.values().filter(|e| !e.status.has(CtStatus::ASSURED)).map(|e| e.id).min();
        let dropped = victim.and_then(|id| self.remove(id)).is_some();
        if dropped {
            self.stats.early_drop += 1;
        }
        dropped
    }

    fn update(&mut self, now: SimTime, mut e: CtEntry, dir: Direction, pkt: &Packet) -> CtClass {
        let reply = dir == Direction::Reply;
        let seen_reply_before = e.status.has(CtStatus::SEEN_REPLY);
        let timeout = match (&pkt.transport, e.tcp) {
            (Transport::Tcp { flags, .. }, Some(old)) => {
                let new = match tcp::transition(old, *flags, reply) {
                    TcpTransition::To(s) => s,
                    TcpTransition::Ignore => old,
                    TcpTransition::Invalid => {
                        return CtClass::Tracked { entry: e, dir, state: CtState::Invalid };
                    }
                };
                if new == TcpState::SynSent
                    && matches!(old, TcpState::TimeWait | TcpState::Close)
                    && (e.tcp_seen.close_init || e.tcp_seen.last_rst == Some(dir))
                {
                    // A SYN reopening a closed or aborted connection: "Delete this connection
                    // and look up again" — it becomes a new connection, with new NAT.
                    self.remove(e.id);
                    return match Tuple::of_packet(pkt) {
                        Some(t) => self.new_conn(now, t, pkt),
                        None => CtClass::Invalid,
                    };
                }
                if new == TcpState::FinWait && old != TcpState::FinWait {
                    e.tcp_seen.close_init = true;
                }
                e.tcp_seen.last_rst = tcp::is_rst(*flags).then_some(dir);
                if reply && !seen_reply_before && tcp::is_rst(*flags) {
                    // "If only reply is a RST, we can consider ourselves not to have an
                    // established connection" (nf_conntrack_proto_tcp.c): kill it now.
                    self.remove(e.id);
                    e.tcp = Some(TcpState::Close);
                    return CtClass::Tracked { entry: e, dir, state: CtState::Established };
                }
                if seen_reply_before
                    && !e.status.has(CtStatus::ASSURED)
                    && matches!(old, TcpState::SynRecv | TcpState::Established)
                    && new == TcpState::Established
                {
                    e.status.set(CtStatus::ASSURED);
                }
                e.tcp = Some(new);
                if tcp::is_rst(*flags) { self.config.tcp_close } else { self.config.tcp_timeout(new) }
            }
            (Transport::Udp { .. }, _) => {
                if seen_reply_before || reply {
                    // Still active two seconds after it began: a stream (nf_conntrack_udp_packet).
                    if seen_reply_before && now.saturating_since(e.created) > SimDuration::from_secs(2) {
                        e.status.set(CtStatus::ASSURED);
                        self.config.udp_stream
                    } else {
                        self.config.udp
                    }
                } else {
                    self.config.udp
                }
            }
            (Transport::Sctp { chunk, .. }, _) => {
                let old = e.sctp;
                let new = match sctp::transition(reply, old, *chunk) {
                    SctpTransition::To(s) => s,
                    SctpTransition::Stay => old.unwrap_or(SctpState::Closed),
                    SctpTransition::Invalid => {
                        return CtClass::Tracked { entry: e, dir, state: CtState::Invalid };
                    }
                };
                if new == SctpState::Established && old != Some(SctpState::Established) {
                    e.status.set(CtStatus::ASSURED);
                }
                e.sctp = Some(new);
                new.timeout_secs()
            }
            _ => self.config.icmp,
        };
        if reply {
            e.status.set(CtStatus::SEEN_REPLY);
        }
        let expires = now + SimDuration::from_secs(timeout);
        if let Some(slot) = self.entries.get_mut(&e.id) {
            e.expires = expires;
            *slot = e;
            // Extending needs no queue change (the sweep re-queues lazily); shortening does.
            if let Some(q) = self.queued.get_mut(&e.id)
                && expires < *q
            {
                self.expiry.remove(&(*q, e.id));
                self.expiry.insert((expires, e.id));
                *q = expires;
            }
        }
        let state =
            if reply || e.status.has(CtStatus::SEEN_REPLY) { CtState::Established } else { CtState::New };
        CtClass::Tracked { entry: e, dir, state }
    }

    /// Inserts an unconfirmed entry (`__nf_conntrack_confirm`), with its NAT bindings final.
    pub fn confirm(&mut self, now: SimTime, mut e: CtEntry) -> Result<CtId, ConfirmError> {
        for t in [e.orig, e.reply] {
            if self.tuple_taken(now, &t) {
                return Err(ConfirmError::Clash(t));
            }
            if let Some((id, _)) = self.index.get(&t).copied() {
                self.remove(id);
            }
        }
        e.status.set(CtStatus::CONFIRMED);
        self.index.insert(e.orig, (e.id, Direction::Original));
        self.index.insert(e.reply, (e.id, Direction::Reply));
        self.expiry.insert((e.expires, e.id));
        self.queued.insert(e.id, e.expires);
        self.entries.insert(e.id, e);
        Ok(e.id)
    }

    /// Inserts an entry directly (tests, benchmarks, restoring state).
    pub fn insert(
        &mut self,
        now: SimTime,
        orig: Tuple,
        reply: Tuple,
        tcp: Option<TcpState>,
        timeout: SimDuration,
    ) -> Result<CtId, ConfirmError> {
        let id = CtId(self.next_id);
        self.next_id += 1;
        let e = CtEntry {
            id,
            orig,
            reply,
            status: CtStatus::default(),
            tcp,
            tcp_seen: TcpSeen::default(),
            sctp: None,
            mark: 0,
            created: now,
            expires: now + timeout,
        };
        self.confirm(now, e)
    }

    /// Deletes every live entry matching `filter` (`conntrack -D ...`); returns the deleted
    /// entries in creation order.
    pub fn delete(&mut self, now: SimTime, filter: &CtFilter) -> Vec<CtEntry> {
        let ids: Vec<CtId> = self.entries(now).filter(|e| filter.matches(e)).map(|e| e.id).collect();
        ids.into_iter().filter_map(|id| self.remove(id)).collect()
    }

    /// `conntrack -L [filter]`: one line per live entry on stdout and the summary for stderr.
    pub fn list(&self, now: SimTime, filter: &CtFilter) -> CtListing {
        print::listing(self.entries(now).filter(|e| filter.matches(e)), now)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::TcpFlags;

    const A: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 50);
    const B: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);

    fn t(secs_millis: u64) -> SimTime {
        SimTime::from_nanos(secs_millis * 1_000_000)
    }

    fn syn() -> Packet {
        Packet::tcp(A, 52104, B, 443, TcpFlags::SYN)
    }
    fn rev(flags: TcpFlags) -> Packet {
        Packet::tcp(B, 443, A, 52104, flags)
    }
    fn fwd(flags: TcpFlags) -> Packet {
        Packet::tcp(A, 52104, B, 443, flags)
    }

    #[test]
    fn racing_udp_packets_clash_and_only_a_differing_nat_is_dropped() {
        let q = Packet::udp(A, 41000, B, 53);
        let mut ct = Conntrack::default();
        // The default (newer kernels): no race, the second packet follows the first's entry.
        let CtClass::New(e) = ct.packet_in(t(0), &q) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        assert!(ct.packet_in_racing(t(0), &q).is_none());

        let mut ct = Conntrack::default();
        ct.set_nat_clash(NatClash::Drop);
        let CtClass::New(first) = ct.packet_in(t(0), &q) else { panic!("not new") };
        ct.confirm(t(0), first).unwrap();
        // Same instant, unreplied: the second packet gets an unconfirmed entry of its own.
        let Some(CtClass::New(same)) = ct.packet_in_racing(t(0), &q) else { panic!("no race") };
        assert_ne!(same.id, first.id);
        assert!(ct.confirm(t(0), same).is_err());
        // The same NAT (here none): nf_ct_resolve_clash lets it join the winner.
        assert_eq!(ct.resolve_clash(t(0), &same).map(|w| w.id), Some(first.id));
        // DNATed to another endpoint: dropped and counted.
        let Some(CtClass::New(mut other)) = ct.packet_in_racing(t(0), &q) else { panic!("no race") };
        other.reply.src = Ipv4Addr::new(10, 244, 2, 3);
        assert!(ct.confirm(t(0), other).is_err());
        assert_eq!(ct.resolve_clash(t(0), &other), None);
        assert_eq!(ct.insert_failed(), 1);
        // A millisecond later the entry is simply followed.
        assert!(ct.packet_in_racing(t(1), &q).is_none());
    }

    fn open(ct: &mut Conntrack) -> CtId {
        let CtClass::New(e) = ct.packet_in(t(0), &syn()) else { panic!("not new") };
        let id = ct.confirm(t(0), e).unwrap();
        assert!(matches!(
            ct.packet_in(t(1), &rev(TcpFlags(0x12))),
            CtClass::Tracked { state: CtState::Established, .. }
        ));
        assert!(matches!(
            ct.packet_in(t(2), &fwd(TcpFlags::ACK)),
            CtClass::Tracked { state: CtState::Established, .. }
        ));
        id
    }

    #[test]
    fn established_line_matches_the_real_capture() {
        let mut ct = Conntrack::default();
        open(&mut ct);
        let l = ct.list(t(3), &CtFilter::default());
        assert_eq!(
            l.stdout,
            "tcp      6 431999 ESTABLISHED src=192.168.1.50 dst=192.168.1.10 sport=52104 dport=443 src=192.168.1.10 dst=192.168.1.50 sport=443 dport=52104 [ASSURED] mark=0 use=1\n"
        );
        assert_eq!(l.stderr, "conntrack v1.4.6 (conntrack-tools): 1 flow entries have been shown.\n");
    }

    #[test]
    fn unconfirmed_entry_leaves_no_trace_and_syn_sent_is_unreplied() {
        let mut ct = Conntrack::default();
        let CtClass::New(_) = ct.packet_in(t(0), &syn()) else { panic!("not new") };
        assert!(ct.is_empty());
        let CtClass::New(e) = ct.packet_in(t(0), &syn()) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        let l = ct.list(t(1000), &CtFilter::default());
        assert_eq!(
            l.stdout,
            "tcp      6 119 SYN_SENT src=192.168.1.50 dst=192.168.1.10 sport=52104 dport=443 [UNREPLIED] src=192.168.1.10 dst=192.168.1.50 sport=443 dport=52104 mark=0 use=1\n"
        );
        // A retransmitted SYN is ctstate NEW but not a new connection.
        assert!(matches!(ct.packet_in(t(1000), &syn()), CtClass::Tracked { state: CtState::New, .. }));
    }

    #[test]
    fn timeouts_follow_the_state_and_expire() {
        let mut ct = Conntrack::new(CtConfig::kube_proxy());
        let id = open(&mut ct);
        assert_eq!(ct.get(id).unwrap().remaining_secs(t(3)), 86_399);
        ct.packet_in(t(10), &fwd(TcpFlags(0x11)));
        assert_eq!(ct.get(id).unwrap().tcp, Some(TcpState::FinWait));
        ct.packet_in(t(11), &rev(TcpFlags::ACK));
        assert_eq!(ct.get(id).unwrap().tcp, Some(TcpState::CloseWait));
        assert_eq!(ct.get(id).unwrap().remaining_secs(t(11)), 3_600);
        ct.packet_in(t(12), &rev(TcpFlags(0x11)));
        ct.packet_in(t(13), &fwd(TcpFlags::ACK));
        let e = *ct.get(id).unwrap();
        assert_eq!(e.tcp, Some(TcpState::TimeWait));
        assert_eq!(e.remaining_secs(t(13)), 120);
        // 120 s later the entry is gone: lazily on lookup, or by the sweep.
        assert_eq!(ct.sweep(t(13) + SimDuration::from_secs(119)), 0);
        assert_eq!(ct.sweep(t(13) + SimDuration::from_secs(120)), 1);
        assert!(ct.is_empty());
    }

    #[test]
    fn a_syn_reopens_a_time_wait_connection_as_a_new_one() {
        let mut ct = Conntrack::default();
        let id = open(&mut ct);
        for (p, at) in [(fwd(TcpFlags(0x11)), 10), (rev(TcpFlags(0x11)), 11), (fwd(TcpFlags::ACK), 12)] {
            ct.packet_in(t(at), &p);
        }
        assert_eq!(ct.get(id).unwrap().tcp, Some(TcpState::TimeWait));
        let CtClass::New(e) = ct.packet_in(t(20), &syn()) else { panic!("not reopened") };
        assert!(ct.is_empty());
        assert_ne!(e.id, id);
    }

    #[test]
    fn reply_rst_without_seen_reply_kills_the_entry() {
        let mut ct = Conntrack::default();
        let CtClass::New(e) = ct.packet_in(t(0), &syn()) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        let c = ct.packet_in(t(1), &rev(TcpFlags::RST.with(TcpFlags::ACK)));
        assert!(matches!(c, CtClass::Tracked { dir: Direction::Reply, .. }));
        assert!(ct.is_empty());
    }

    #[test]
    fn udp_gets_assured_only_as_a_stream() {
        let mut ct = Conntrack::default();
        let q = Packet::udp(A, 5000, B, 53);
        let r = Packet::udp(B, 53, A, 5000);
        let CtClass::New(e) = ct.packet_in(t(0), &q) else { panic!("not new") };
        let id = ct.confirm(t(0), e).unwrap();
        ct.packet_in(t(1), &r);
        let e = *ct.get(id).unwrap();
        assert!(e.status.has(CtStatus::SEEN_REPLY) && !e.status.has(CtStatus::ASSURED));
        assert_eq!(e.remaining_secs(t(1)), 30);
        ct.packet_in(t(3000), &q);
        let e = *ct.get(id).unwrap();
        assert!(e.status.has(CtStatus::ASSURED));
        assert_eq!(e.remaining_secs(t(3000)), 120);
    }

    #[test]
    fn icmp_errors_are_related_and_stray_replies_invalid() {
        let mut ct = Conntrack::default();
        let q = Packet::udp(A, 5000, B, 53);
        let CtClass::New(e) = ct.packet_in(t(0), &q) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        let err = Packet::icmp(B, A, Icmp::DestUnreachable { code: 3, original: Box::new(q) });
        assert!(matches!(ct.packet_in(t(1), &err), CtClass::Related { dir: Direction::Reply, .. }));
        assert_eq!(ct.packet_in(t(1), &rev(TcpFlags(0x12))), CtClass::Invalid);
        let echo_reply = Packet::icmp(B, A, Icmp::EchoReply { id: 1, seq: 1 });
        assert_eq!(ct.packet_in(t(1), &echo_reply), CtClass::Invalid);
    }

    #[test]
    fn table_full_drops_new_connections_unless_one_can_be_early_dropped() {
        let mut ct = Conntrack::new(CtConfig { max: 1, ..CtConfig::default() });
        let CtClass::New(e) = ct.packet_in(t(0), &syn()) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        // The first entry is not ASSURED: it is evicted to make room.
        let other = Packet::tcp(A, 1, B, 443, TcpFlags::SYN);
        let CtClass::New(e) = ct.packet_in(t(0), &other) else { panic!("not new") };
        assert!(ct.is_empty());
        ct.confirm(t(0), e).unwrap();
        ct.packet_in(t(1), &Packet::tcp(B, 443, A, 1, TcpFlags(0x12)));
        ct.packet_in(t(2), &Packet::tcp(A, 1, B, 443, TcpFlags::ACK));
        assert_eq!(ct.packet_in(t(3), &syn()), CtClass::Full);
        let st = ct.stats();
        assert_eq!((st.early_drop, st.drop, st.invalid), (1, 1, 0));
        assert_eq!(
            st.render(2),
            "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=1 early_drop=1 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n\
             cpu=1   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n"
        );
    }

    #[test]
    fn delete_by_filter() {
        let mut ct = Conntrack::default();
        open(&mut ct);
        let q = Packet::udp(A, 5000, B, 53);
        let CtClass::New(e) = ct.packet_in(t(0), &q) else { panic!("not new") };
        ct.confirm(t(0), e).unwrap();
        let f = CtFilter::parse(&["-p", "udp", "--orig-port-dst", "53"]).unwrap();
        let gone = ct.delete(t(5), &f);
        assert_eq!(gone.len(), 1);
        assert_eq!(ct.len(), 1);
        let out = print::deletion(gone.iter(), t(5));
        assert_eq!(
            out.stdout,
            "udp      17 29 src=192.168.1.50 dst=192.168.1.10 sport=5000 dport=53 [UNREPLIED] src=192.168.1.10 dst=192.168.1.50 sport=53 dport=5000 mark=0 use=1\n"
        );
        assert_eq!(out.stderr, "conntrack v1.4.6 (conntrack-tools): 1 flow entries have been deleted.\n");
    }
}
crate::impl_empty!(Conntrack);
