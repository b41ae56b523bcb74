//! sim-net: a Linux network model. Nothing here knows about Kubernetes.
//!
//! - [`wire`]: packets as typed data (addresses, TCP/UDP/ICMP headers, a payload), no bytes.
//! - [`netfilter`]: tables, chains, rules, matches and targets; `iptables-restore` input and
//!   `iptables-save` output; evaluation of one packet at one hook with kernel semantics.
//! - [`nftables`]: the `nft -f` language, `nft list` output and nftables base chains, run at
//!   the hooks in priority order with the iptables tables.
//! - [`conntrack`]: the connection-tracking table (tuples, TCP states, timeouts, `conntrack -L`).
//! - [`nat`]: NAT bindings on conntrack entries and the translation of every later packet.
//! - [`ipvs`]: IP Virtual Server (services, real servers, the kernel's schedulers, its connection
//!   table) and `ipvsadm`; hooked into the walk at LOCAL_IN, LOCAL_OUT and FORWARD.
//! - [`iface`], [`route`], [`host`]: interfaces, the routing table (`ip route`), namespaces.
//! - [`socket`]: listeners and the [`socket::Application`] trait servers implement.
//! - [`network`]: hosts and links, the packet walk as events, client conversations, traces.
//! - [`capture`]: `tcpdump`: taps on interfaces, the pcap filter subset, tcpdump's lines.
//!
//! Architecture invariants: no wall clock (time is passed in as [`sim_core::SimTime`]); every
//! iterated collection has a defined order; a dropped packet is a trace event, not an `Err`.

pub mod capture;
pub mod conntrack;
pub mod host;
pub mod iface;
pub mod ipvs;
pub mod nat;
pub mod netfilter;
pub mod network;
pub mod nftables;
pub mod on_first_use;
pub mod route;
pub mod socket;
pub mod sysctl;
pub mod wire;
