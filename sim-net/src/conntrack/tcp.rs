//! The TCP connection-tracking state machine of `net/netfilter/nf_conntrack_proto_tcp.c`:
//! the `tcp_conntracks[2][6][10]` table indexed by direction, packet kind
//! (`get_conntrack_index`: RST, then SYN/SYN-ACK, then FIN, then ACK) and current state.
//!
//! Sequence-number window tracking (`tcp_in_window`), the `SYN_SENT2` simultaneous-open path's
//! finer points and the retransmission/unacknowledged-data timeouts are not modelled: the
//! simulator does not carry sequence numbers.

use std::fmt;

use crate::wire::TcpFlags;

/// A conntrack TCP state (`enum tcp_conntrack`); names as `conntrack -L` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    /// No state yet.
    None,
    /// SYN seen in the original direction.
    SynSent,
    /// SYN-ACK seen in the reply direction.
    SynRecv,
    /// Three-way handshake completed.
    Established,
    /// FIN seen.
    FinWait,
    /// ACK of the first FIN seen.
    CloseWait,
    /// FIN seen in both directions.
    LastAck,
    /// Last ACK seen.
    TimeWait,
    /// RST seen.
    Close,
    /// SYN seen in the reply direction (simultaneous open).
    SynSent2,
}

impl TcpState {
    /// The name `conntrack -L` prints (`ESTABLISHED`).
    pub const fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the table says about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpTransition {
    /// Move to this state.
    To(TcpState),
    /// `sIG`: the packet is accepted and the state left alone (e.g. a SYN in ESTABLISHED).
    Ignore,
    /// `sIV`: the packet is invalid for this connection.
    Invalid,
}

/// The packet kinds of `get_conntrack_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    None,
}

fn kind(flags: TcpFlags) -> Kind {
    if flags.contains(TcpFlags::RST) {
        Kind::Rst
    } else if flags.contains(TcpFlags::SYN) {
        if flags.contains(TcpFlags::ACK) { Kind::SynAck } else { Kind::Syn }
    } else if flags.contains(TcpFlags::FIN) {
        Kind::Fin
    } else if flags.contains(TcpFlags::ACK) {
        Kind::Ack
    } else {
        Kind::None
    }
}

use TcpState as S;
use TcpTransition::{Ignore as IG, Invalid as IV};

const fn to(s: TcpState) -> TcpTransition {
    TcpTransition::To(s)
}

/// Columns: sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 (the kernel's order).
const ORIGINAL: [[TcpTransition; 10]; 6] = [
    // syn
    [to(S::SynSent), to(S::SynSent), IG, IG, IG, IG, IG, to(S::SynSent), to(S::SynSent), to(S::SynSent2)],
    // synack
    [IV, IV, to(S::SynRecv), IV, IV, IV, IV, IV, IV, to(S::SynRecv)],
    // fin
    [
        IV,
        IV,
        to(S::FinWait),
        to(S::FinWait),
        to(S::LastAck),
        to(S::LastAck),
        to(S::LastAck),
        to(S::TimeWait),
        to(S::Close),
        IV,
    ],
    // ack (loose pick-up from NONE: nf_conntrack_tcp_loose = 1)
    [
        to(S::Established),
        IV,
        to(S::Established),
        to(S::Established),
        to(S::CloseWait),
        to(S::CloseWait),
        to(S::TimeWait),
        to(S::TimeWait),
        to(S::Close),
        IV,
    ],
    // rst
    [
        IV,
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
    ],
    // none
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

const REPLY: [[TcpTransition; 10]; 6] = [
    // syn
    [IV, to(S::SynSent2), IV, IV, IV, IV, IV, to(S::SynSent), IV, to(S::SynSent2)],
    // synack
    [IV, to(S::SynRecv), IG, IG, IG, IG, IG, IG, IG, to(S::SynRecv)],
    // fin
    [
        IV,
        IV,
        to(S::FinWait),
        to(S::FinWait),
        to(S::LastAck),
        to(S::LastAck),
        to(S::LastAck),
        to(S::TimeWait),
        to(S::Close),
        IV,
    ],
    // ack
    [
        IV,
        IG,
        to(S::SynRecv),
        to(S::Established),
        to(S::CloseWait),
        to(S::CloseWait),
        to(S::TimeWait),
        to(S::TimeWait),
        to(S::Close),
        IG,
    ],
    // rst
    [
        IV,
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
        to(S::Close),
    ],
    // none
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

/// The transition for a packet with `flags` seen in the original (`reply == false`) or reply
/// direction while the connection is in `state`.
pub fn transition(state: TcpState, flags: TcpFlags, reply: bool) -> TcpTransition {
    let row = match kind(flags) {
        Kind::Syn => 0,
        Kind::SynAck => 1,
        Kind::Fin => 2,
        Kind::Ack => 3,
        Kind::Rst => 4,
        Kind::None => 5,
    };
    if reply { REPLY[row][state.index()] } else { ORIGINAL[row][state.index()] }
}

/// True if `flags` is a reset (the timeout becomes `close` whatever the new state).
pub fn is_rst(flags: TcpFlags) -> bool {
    kind(flags) == Kind::Rst
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: TcpFlags = TcpFlags::SYN;
    const SYNACK: TcpFlags = TcpFlags(0x12);
    const ACK: TcpFlags = TcpFlags::ACK;
    const FINACK: TcpFlags = TcpFlags(0x11);
    const RST: TcpFlags = TcpFlags::RST;

    fn walk(steps: &[(TcpFlags, bool)]) -> Vec<&'static str> {
        let mut s = TcpState::None;
        let mut out = vec![];
        for &(f, reply) in steps {
            match transition(s, f, reply) {
                TcpTransition::To(n) => s = n,
                TcpTransition::Ignore => {}
                TcpTransition::Invalid => {
                    out.push("INVALID");
                    continue;
                }
            }
            out.push(s.name());
        }
        out
    }

    #[test]
    fn handshake_and_active_close_by_the_client() {
        let states = walk(&[
            (SYN, false),
            (SYNACK, true),
            (ACK, false),
            (FINACK, false),
            (ACK, true),
            (FINACK, true),
            (ACK, false),
        ]);
        assert_eq!(
            states,
            ["SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT"]
        );
    }

    #[test]
    fn fin_ack_answered_by_fin_ack_goes_straight_to_last_ack() {
        let states = walk(&[
            (SYN, false),
            (SYNACK, true),
            (ACK, false),
            (FINACK, false),
            (FINACK, true),
            (ACK, false),
        ]);
        assert_eq!(states, ["SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "LAST_ACK", "TIME_WAIT"]);
    }

    #[test]
    fn rst_closes_from_any_state_and_stray_synack_is_invalid() {
        assert_eq!(walk(&[(SYN, false), (RST, true)]), ["SYN_SENT", "CLOSE"]);
        assert_eq!(walk(&[(SYNACK, true)]), ["INVALID"]);
        assert_eq!(walk(&[(SYNACK, false)]), ["INVALID"]);
        // Loose pick-up: a mid-stream ACK creates an ESTABLISHED entry.
        assert_eq!(walk(&[(ACK, false)]), ["ESTABLISHED"]);
        // A retransmitted SYN in SYN_SENT stays there.
        assert_eq!(walk(&[(SYN, false), (SYN, false)]), ["SYN_SENT", "SYN_SENT"]);
    }
}
