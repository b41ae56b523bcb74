//! Load in simulated time: a client that opens a new TCP connection (one HTTP request, as a
//! `curl` loop does) or sends one UDP datagram (from one fixed source port, as DNS clients
//! and statsd emitters do) at a constant rate, while the scenario goes on — pods roll,
//! kube-proxy stops, nodes go down. Every request is an ordinary client conversation of
//! sim-net, walked through every hop and rule like any other; nothing here decides where a
//! request goes. [`Cluster::start_traffic`] registers the requests and schedules their starts on
//! the event queue, so they run interleaved with whatever the following steps do;
//! [`Cluster::traffic_requests`] reads how each ended.
//!
//! With [`Connection::Persistent`] TCP requests go one after another on one long-lived
//! connection (HTTP/1.1 keep-alive, [`sim_net::network::KeepAlive`]): its conntrack entry keeps
//! the backend its first packet was DNATed to, so when that pod goes the connection's next
//! request is reset (the address answers without the socket) or times out (no one answers),
//! and the requests after it are not sent — unless the client reconnects, when a new
//! connection goes through the rules again.
//!
//! Left out: request pipelining; client-side retries of a failed request; the server closing an
//! idle keep-alive connection (nginx's `keepalive_timeout`) or at graceful shutdown.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};
use sim_net::iface::HostId;
use sim_net::network::{ConvId, ConvProto, ConversationSpec, KeepAlive, NetEvent, Outcome};

use super::facade::{Cluster, Target};
use super::world::ClusterEvent;
use crate::apps::HttpRequest;

/// The most requests one traffic step may send (a bound on memory, not a model limit).
pub const MAX_REQUESTS: u64 = 1_000_000;

/// How TCP requests use connections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Connection {
    /// A new connection per request (a `curl` loop).
    #[default]
    New,
    /// One long-lived connection carrying every request in turn.
    Persistent {
        /// Open a new connection when it breaks.
        reconnect: bool,
    },
}

/// What a traffic step asks for, resolved against the running cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficSpec {
    /// The client.
    pub from: Target,
    /// Destination as written (`my-svc:80`, `10.96.0.10:53`).
    pub to: String,
    /// TCP (a new connection per request) or UDP (one datagram per request).
    pub proto: ConvProto,
    /// Requests per `per`.
    pub count: u64,
    /// The period `count` requests are spread over (`50/s`: 50 per second).
    pub per: SimDuration,
    /// How long the load lasts.
    pub duration: SimDuration,
    /// A fixed client source port (UDP); else each request takes an ephemeral port.
    pub src_port: Option<u16>,
    /// How long one request waits for its answer.
    pub timeout: SimDuration,
    /// TCP: a new connection per request, or one persistent connection.
    pub connection: Connection,
    /// UDP: each datagram is a DNS query for this name's A record (as `dig NAME` sends it,
    /// the request's number as its ID) instead of a plain payload.
    pub dns_query: Option<crate::dns::Name>,
}

impl TrafficSpec {
    /// How many requests the step sends: `count` per `per` over `duration`.
    pub fn total(&self) -> u64 {
        let per = u128::from(self.per.as_nanos().max(1));
        let n = u128::from(self.duration.as_nanos()) * u128::from(self.count) / per;
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// The offset of request `i` from the start: evenly spaced, computed from `i` so that no
    /// rounding accumulates.
    pub fn offset(&self, i: u64) -> SimDuration {
        let n = u128::from(i) * u128::from(self.per.as_nanos()) / u128::from(self.count.max(1));
        SimDuration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

/// A running (or finished) traffic step.
#[derive(Clone, Debug)]
pub struct TrafficRun {
    /// What was asked.
    pub spec: TrafficSpec,
    /// The address requests go to.
    pub dst: SocketAddrV4,
    /// When the first request starts.
    pub started: SimTime,
    /// When the last request has certainly ended (its start plus its timeout).
    pub ends: SimTime,
    /// The requests' conversations, in start order.
    convs: Vec<ConvId>,
    /// Whether the network recorded traces before the run (restored by [`Cluster::finish_traffic`]).
    tracing_before: bool,
}

/// How one request ended, in the words the timeline uses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestOutcome {
    /// Answered; by this pod, node or host (`pod/NAME`).
    Served(String),
    /// TCP: the SYN was answered with RST (ECONNREFUSED); UDP: ICMP port unreachable.
    Refused,
    /// TCP: an established connection was reset.
    Reset,
    /// An ICMP error other than port unreachable came back (host or net unreachable, or a
    /// REJECT rule's `icmp-port-unreachable` counts as refused above).
    Unreachable,
    /// Nothing came back in time, though a server's socket took the request.
    TimedOut,
    /// Nothing came back in time and no server saw the request: dropped on the way (a DROP
    /// rule, no neighbour, a down interface, a full conntrack table).
    Blackholed,
    /// Not sent: no route from the client, no client, or (a persistent connection that broke,
    /// without reconnecting) no connection.
    NotSent,
    /// The client's `sendmsg` failed with EPERM: its own host's OUTPUT or POSTROUTING chain
    /// dropped or rejected the datagram (UDP, ICMP).
    NotPermitted,
    /// Still waiting for an answer.
    Pending,
}

impl RequestOutcome {
    /// True for an answered request.
    pub fn served(&self) -> bool {
        matches!(self, RequestOutcome::Served(_))
    }

    /// The outcome's name in the timeline (`refused`, `timed out`, ...), or the server.
    pub fn label(&self) -> &str {
        match self {
            RequestOutcome::Served(by) => by,
            RequestOutcome::Refused => "refused",
            RequestOutcome::Reset => "reset",
            RequestOutcome::Unreachable => "unreachable",
            RequestOutcome::TimedOut => "timed out",
            RequestOutcome::Blackholed => "blackholed",
            RequestOutcome::NotSent => "not sent",
            RequestOutcome::NotPermitted => "not permitted",
            RequestOutcome::Pending => "pending",
        }
    }
}

/// One request of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// When it started.
    pub at: SimTime,
    /// How it ended.
    pub outcome: RequestOutcome,
    /// TCP: SYNs sent beyond the first (retransmissions after 1 s, 2 s, ...): a served request
    /// with some connected only that much later.
    pub syn_retransmits: u32,
}

impl Cluster {
    /// Resolves the destination from the client (a name through the client's own resolver,
    /// once, as a client that caches its lookup does), registers every request and schedules
    /// each start. Returns why it could not start, in the words of the client.
    pub fn start_traffic(&mut self, spec: TrafficSpec) -> Result<TrafficRun, String> {
        let Some(from) = self.host_of(&spec.from) else {
            return Err(format!("{}: not running", spec.from));
        };
        let (name, port) = spec
            .to
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("traffic: expected HOST:PORT, got {:?}", spec.to))?;
        let ip = match name.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => self
                .lookup(&spec.from, name)
                .ok()
                .and_then(|r| {
                    r.addresses.iter().find_map(|a| match a {
                        std::net::IpAddr::V4(v) => Some(*v),
                        std::net::IpAddr::V6(_) => None,
                    })
                })
                .ok_or_else(|| format!("traffic: cannot resolve {name} from {}", spec.from))?,
        };
        let total = spec.total();
        if total == 0 {
            return Err("traffic: the rate and duration give no request".to_string());
        }
        if total > MAX_REQUESTS {
            return Err(format!("traffic: {total} requests is more than {MAX_REQUESTS}"));
        }
        let dst = SocketAddrV4::new(ip, port);
        let payload = match spec.proto {
            ConvProto::Tcp => HttpRequest::render("GET", &spec.to, "/", "curl/8.5.0"),
            ConvProto::Udp | ConvProto::Icmp | ConvProto::Sctp => b"netsim traffic\n".to_vec(),
        };
        let started = self.now();
        let tracing_before = self.world().net.tracing;
        // Thousands of requests need no hop-by-hop records; a `trace` step turns it on for itself.
        self.world_mut().net.tracing = false;
        let mut convs = Vec::with_capacity(total as usize);
        for i in 0..total {
            let payload = match &spec.dns_query {
                Some(name) if spec.proto == ConvProto::Udp => crate::dns::Message::query(
                    (i % 65535 + 1) as u16,
                    name.clone(),
                    crate::dns::RecordType::A,
                )
                .encode(),
                _ => payload.clone(),
            };
            let conv = ConversationSpec {
                from,
                proto: spec.proto,
                dst,
                payload,
                src_port: spec.src_port,
                timeout: spec.timeout,
            };
            let net = &mut self.world_mut().net;
            let id = match spec.connection {
                Connection::Persistent { reconnect } if spec.proto == ConvProto::Tcp => {
                    net.start_keep_alive(conv, KeepAlive { after: convs.last().copied(), reconnect })
                }
                _ => net.start_conversation(conv),
            };
            let at = started + spec.offset(i);
            self.sim.scheduler().schedule_at(at, ClusterEvent::Net(NetEvent::ConvStart(id)));
            convs.push(id);
        }
        let ends = started + spec.offset(total - 1) + spec.timeout;
        Ok(TrafficRun { spec, dst, started, ends, convs, tracing_before })
    }

    /// How each request of `run` ended so far, in start order.
    pub fn traffic_requests(&self, run: &TrafficRun) -> Vec<Request> {
        let w = self.world();
        run.convs
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let at = run.started + run.spec.offset(i as u64);
                let Some(cv) = w.net.conversation(*id) else {
                    return Request { at, outcome: RequestOutcome::NotSent, syn_retransmits: 0 };
                };
                let outcome = match &cv.outcome {
                    None => RequestOutcome::Pending,
                    Some(Outcome::Completed { .. }) => match &cv.served_by {
                        Some(s) => RequestOutcome::Served(self.server_label(s.host)),
                        None => RequestOutcome::TimedOut,
                    },
                    Some(Outcome::Refused) => RequestOutcome::Refused,
                    Some(Outcome::Reset) => RequestOutcome::Reset,
                    Some(Outcome::Unreachable { icmp_type: 3, code: 3, .. }) => RequestOutcome::Refused,
                    Some(Outcome::Unreachable { .. }) => RequestOutcome::Unreachable,
                    Some(Outcome::TimedOut) if cv.served_by.is_some() => RequestOutcome::TimedOut,
                    Some(Outcome::TimedOut) => RequestOutcome::Blackholed,
                    Some(Outcome::NoRoute) | Some(Outcome::Failed(_)) => RequestOutcome::NotSent,
                    Some(Outcome::NotPermitted) => RequestOutcome::NotPermitted,
                };
                // A request on a reused keep-alive connection sent no SYN of its own.
                Request { at, outcome, syn_retransmits: cv.syns_sent.saturating_sub(1) }
            })
            .collect()
    }

    /// Ends a run's bookkeeping: the network records traces again if it did before.
    pub fn finish_traffic(&mut self, run: &TrafficRun) {
        self.world_mut().net.tracing = run.tracing_before;
    }

    /// `pod/NAME`, `node/NAME` or `host/NAME` for a namespace, also after the pod is gone (a
    /// pod's namespace keeps its name, `NS/NAME` or `NAME`, with `#N` for a re-created one).
    fn server_label(&self, host: HostId) -> String {
        let w = self.world();
        if let Some(n) = w.nodes.iter().find(|n| n.host == host) {
            return format!("node/{}", n.name);
        }
        if let Some((name, _)) = w.externals.iter().find(|(_, h)| **h == host) {
            return format!("host/{name}");
        }
        let name = w.net.host_name(host);
        let name = name.split('#').next().unwrap_or(name);
        format!("pod/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(count: u64, per_ms: u64, for_ms: u64) -> TrafficSpec {
        TrafficSpec {
            from: Target::Host("client".into()),
            to: "10.96.0.1:443".into(),
            proto: ConvProto::Tcp,
            count,
            per: SimDuration::from_millis(per_ms),
            duration: SimDuration::from_millis(for_ms),
            src_port: None,
            timeout: SimDuration::from_secs(1),
            connection: Connection::New,
            dns_query: None,
        }
    }

    #[test]
    fn requests_are_evenly_spaced_without_drift() {
        let s = spec(3, 1000, 10_000);
        assert_eq!(s.total(), 30);
        assert_eq!(s.offset(1).as_nanos(), 333_333_333);
        assert_eq!(s.offset(3), SimDuration::from_secs(1));
        assert_eq!(s.offset(29).as_nanos(), 9_666_666_666);
        assert_eq!(spec(50, 1000, 60_000).total(), 3000);
        assert_eq!(spec(1, 60_000, 30_000).total(), 0);
    }
}
