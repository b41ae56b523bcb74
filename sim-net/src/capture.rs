//! Packet capture as `tcpdump` does it with libpcap on Linux: a `PF_PACKET` tap on one
//! interface (or on all of them, `any`) sees a frame when the device receives it
//! (`__netif_receive_skb`, before the bridge and IP layers) and when it transmits one
//! (`dev_queue_xmit_nit`). While a capture is active the network records, for each frame its
//! filter accepts, the simulated time, the interface, the direction and the packet as it was at
//! that point (after DNAT on the way out of a node, before it on the way in).
//! [`print`] turns the records into tcpdump 4.99's lines.
//!
//! Where the taps are: a frame arriving at an interface (`Network::rx`, before a bridge port
//! hands it to its bridge, so a port sees every frame), a frame leaving a veth or an ethernet
//! (`send_on_port`), a bridge device for what its own stack receives and sends and, while a
//! capture holds it promiscuous (tcpdump without `-p`), for the frames it bridges from port to
//! port (`br_handle_frame_finish`'s `local_rcv`; after br_netfilter's PREROUTING when that
//! runs, so a DNATed packet shows its new destination there), and loopback once,
//! incoming: libpcap drops the outgoing copy on `lo`, which still counts as received by the
//! filter. With no capture active the walk pays one branch per tap.
//!
//! Left out: link-layer headers (`-e`), snaplen truncation, kernel drops (always 0), the
//! filter language beyond [`filter`]'s subset, pcap files (`-w`/`-r`).

pub mod filter;
pub mod print;
pub mod tcp;

use sim_core::SimTime;

use crate::iface::HostId;
use crate::network::ConvId;
use crate::wire::Packet;

pub use filter::{Filter, FilterError};
pub use print::{Names, PrintOptions};

/// The identity of a capture on a [`crate::network::Network`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaptureId(pub usize);

/// The interface a capture listens on (`tcpdump -i`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureIface {
    /// `-i any`: every interface of the namespace (the `LINUX_SLL2` cooked link type).
    Any,
    /// One interface by name.
    Named(String),
}

impl CaptureIface {
    /// True if a frame on `iface` is seen by this capture.
    pub fn sees(&self, iface: &str) -> bool {
        match self {
            CaptureIface::Any => true,
            CaptureIface::Named(n) => n == iface,
        }
    }
}

/// Which way a frame crossed the interface (`PACKET_HOST` / `PACKET_OUTGOING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapDir {
    /// Received by the interface.
    In,
    /// Transmitted by the interface.
    Out,
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// When the tap saw it.
    pub at: SimTime,
    /// The interface.
    pub iface: String,
    /// The direction.
    pub dir: TapDir,
    /// The packet as it was at the interface.
    pub pkt: Packet,
    /// The conversation it belongs to.
    pub conv: Option<ConvId>,
    /// The TCP fields the packet does not carry, derived at the capture point ([`tcp`]).
    pub tcp: Option<tcp::TcpNumbers>,
}

/// What to capture: `tcpdump -i IFACE [-c N] EXPRESSION` on a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSpec {
    /// The namespace.
    pub host: HostId,
    /// The interface.
    pub iface: CaptureIface,
    /// The filter expression (kernel-side: only what it accepts is counted).
    pub filter: Filter,
    /// `-c N`: stop after N packets.
    pub count: Option<u64>,
    /// Stop at this time (`timeout SECS tcpdump ...`).
    pub until: Option<SimTime>,
    /// Puts the interface in promiscuous mode (tcpdump's default; `-p` clears it; `any`
    /// cannot be promiscuous): a bridge then passes every bridged frame up to its device.
    pub promiscuous: bool,
}

/// A capture and what it has seen so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// What it captures.
    pub spec: CaptureSpec,
    /// The frames captured, in order.
    pub packets: Vec<Captured>,
    /// Frames the filter accepted ("packets received by filter").
    pub received: u64,
    /// When it stopped (`-c` reached, its time over, or stopped by its user).
    pub stopped: Option<SimTime>,
    /// The TCP connections its interfaces have seen.
    pub tcp: tcp::TcpModel,
}

impl Capture {
    /// A capture that has seen nothing yet.
    pub fn new(spec: CaptureSpec) -> Capture {
        Capture { spec, packets: Vec::new(), received: 0, stopped: None, tcp: tcp::TcpModel::default() }
    }

    /// When the capture ends by itself if it has not already: `-c` reached, or its `until`
    /// time at or before `now`.
    pub fn ended_by(&self, now: SimTime) -> Option<SimTime> {
        self.stopped.or(self.spec.until.filter(|u| *u <= now))
    }

    /// True if it still records at `now`.
    pub fn active_at(&self, now: SimTime) -> bool {
        self.stopped.is_none() && self.spec.until.is_none_or(|u| now <= u)
    }
}
