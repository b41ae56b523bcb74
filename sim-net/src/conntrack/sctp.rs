//! The SCTP connection tracker's state machine, from the kernel's
//! `net/netfilter/nf_conntrack_proto_sctp.c` (v6.x): the `sctp_conntracks[dir][chunk][state]`
//! table, `sctp_new_state`'s chunk index, the default `sctp_timeouts` and the names
//! `conntrack -L` prints (`sctp_conntrack_names`).
//!
//! Departures: the model sends one chunk per packet and no verification tags, so the tag
//! checks of `nf_conntrack_sctp_packet` (Sec 8.5) always pass; `init[dir]` collisions are not
//! tracked.

use crate::wire::SctpChunk;

/// `enum sctp_conntrack` (without `NONE`, which is an entry's state before its first chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SctpState {
    /// `CLOSED`: an INIT seen (the kernel's first state for it), or the close completed.
    Closed,
    /// `COOKIE_WAIT`: an INIT_ACK answered the INIT.
    CookieWait,
    /// `COOKIE_ECHOED`: the COOKIE_ECHO went out.
    CookieEchoed,
    /// `ESTABLISHED`: the COOKIE_ACK came back.
    Established,
    /// `SHUTDOWN_SENT`: a SHUTDOWN in the original direction.
    ShutdownSent,
    /// `SHUTDOWN_RECD`: a SHUTDOWN in the reply direction.
    ShutdownRecd,
    /// `SHUTDOWN_ACK_SENT`: the SHUTDOWN_ACK answered it.
    ShutdownAckSent,
    /// `HEARTBEAT_SENT`: a HEARTBEAT opened a (secondary-path) flow.
    HeartbeatSent,
}

impl SctpState {
    /// The name `conntrack -L` prints.
    pub const fn name(self) -> &'static str {
        match self {
            SctpState::Closed => "CLOSED",
            SctpState::CookieWait => "COOKIE_WAIT",
            SctpState::CookieEchoed => "COOKIE_ECHOED",
            SctpState::Established => "ESTABLISHED",
            SctpState::ShutdownSent => "SHUTDOWN_SENT",
            SctpState::ShutdownRecd => "SHUTDOWN_RECD",
            SctpState::ShutdownAckSent => "SHUTDOWN_ACK_SENT",
            SctpState::HeartbeatSent => "HEARTBEAT_SENT",
        }
    }

    /// The default timeout in seconds (`nf_conntrack_sctp_timeout_*`).
    pub const fn timeout_secs(self) -> u64 {
        match self {
            SctpState::Closed => 10,
            SctpState::CookieWait | SctpState::CookieEchoed => 3,
            SctpState::Established => 210,
            SctpState::ShutdownSent | SctpState::ShutdownRecd | SctpState::ShutdownAckSent => 3,
            SctpState::HeartbeatSent => 30,
        }
    }
}

/// What one chunk does to an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SctpTransition {
    /// The new state.
    To(SctpState),
    /// DATA, SACK and other chunks do not change the state.
    Stay,
    /// `sIV`: the packet is INVALID.
    Invalid,
}

// Table cells: the kernel's abbreviations (sNO, 0, never appears as a result here).
const CL: u8 = 1;
const CW: u8 = 2;
const CE: u8 = 3;
const ES: u8 = 4;
const SS: u8 = 5;
const SR: u8 = 6;
const SA: u8 = 7;
const HS: u8 = 8;
const IV: u8 = 9;

/// `sctp_conntracks[2][11][SCTP_CONNTRACK_MAX]`; columns sNO, sCL, sCW, sCE, sES, sSS, sSR,
/// sSA, sHS; rows init, init_ack, abort, shutdown, shutdown_ack, error, cookie_echo,
/// cookie_ack, shutdown_comp, heartbeat, heartbeat_ack.
const TABLE: [[[u8; 9]; 11]; 2] = [
    [
        // ORIGINAL
        [CL, CL, CW, CE, ES, CL, CL, SA, CW],
        [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        [CL, CL, CL, CL, CL, CL, CL, CL, CL],
        [CL, CL, CW, CE, SS, SS, SR, SA, CL],
        [SA, CL, CW, CE, ES, SA, SA, SA, SA],
        [CL, CL, CW, CE, ES, SS, SR, SA, CL],
        [CL, CL, CE, CE, ES, SS, SR, SA, CL],
        [CL, CL, CW, ES, ES, SS, SR, SA, CL],
        [CL, CL, CW, CE, ES, SS, SR, CL, CL],
        [HS, CL, CW, CE, ES, SS, SR, SA, HS],
        [CL, CL, CW, CE, ES, SS, SR, SA, HS],
    ],
    [
        // REPLY
        [IV, CL, CW, CE, ES, SS, SR, SA, IV],
        [IV, CW, CW, CE, ES, SS, SR, SA, IV],
        [IV, CL, CL, CL, CL, CL, CL, CL, IV],
        [IV, CL, CW, CE, SR, SS, SR, SA, IV],
        [IV, CL, CW, CE, ES, SA, SA, SA, IV],
        [IV, CL, CW, CL, ES, SS, SR, SA, IV],
        [IV, CL, CE, CE, ES, SS, SR, SA, IV],
        [IV, CL, CW, ES, ES, SS, SR, SA, IV],
        [IV, CL, CW, CE, ES, SS, SR, CL, IV],
        [IV, CL, CW, CE, ES, SS, SR, SA, HS],
        [IV, CL, CW, CE, ES, SS, SR, SA, ES],
    ],
];

fn from_cell(c: u8) -> Option<SctpState> {
    Some(match c {
        CL => SctpState::Closed,
        CW => SctpState::CookieWait,
        CE => SctpState::CookieEchoed,
        ES => SctpState::Established,
        SS => SctpState::ShutdownSent,
        SR => SctpState::ShutdownRecd,
        SA => SctpState::ShutdownAckSent,
        HS => SctpState::HeartbeatSent,
        _ => return None,
    })
}

fn column(s: Option<SctpState>) -> usize {
    match s {
        None => 0,
        Some(SctpState::Closed) => 1,
        Some(SctpState::CookieWait) => 2,
        Some(SctpState::CookieEchoed) => 3,
        Some(SctpState::Established) => 4,
        Some(SctpState::ShutdownSent) => 5,
        Some(SctpState::ShutdownRecd) => 6,
        Some(SctpState::ShutdownAckSent) => 7,
        Some(SctpState::HeartbeatSent) => 8,
    }
}

/// `sctp_new_state(dir, cur, chunk)`: `cur` is `None` for a new entry (sNO).
pub fn transition(reply: bool, cur: Option<SctpState>, chunk: SctpChunk) -> SctpTransition {
    let row = match chunk {
        SctpChunk::Init => 0,
        SctpChunk::InitAck => 1,
        SctpChunk::Abort => 2,
        SctpChunk::Shutdown => 3,
        SctpChunk::ShutdownAck => 4,
        SctpChunk::Error => 5,
        SctpChunk::CookieEcho => 6,
        SctpChunk::CookieAck => 7,
        SctpChunk::ShutdownComplete => 8,
        SctpChunk::Heartbeat => 9,
        SctpChunk::HeartbeatAck => 10,
        SctpChunk::Data | SctpChunk::Sack => return SctpTransition::Stay,
    };
    let cell = TABLE[usize::from(reply)][row][column(cur)];
    match from_cell(cell) {
        Some(s) => SctpTransition::To(s),
        None => SctpTransition::Invalid,
    }
}

/// A first packet's state (`sctp_new` and the first pass of `nf_conntrack_sctp_packet`):
/// an out-of-the-blue ABORT, SHUTDOWN_COMPLETE or COOKIE_ACK creates no entry (Sec 8.4);
/// otherwise the ORIGINAL row from sNO; `None` for an invalid first packet (DATA or SACK
/// first: the state stays sNO).
pub fn new_state(chunk: SctpChunk) -> Option<SctpState> {
    if matches!(chunk, SctpChunk::Abort | SctpChunk::ShutdownComplete | SctpChunk::CookieAck) {
        return None;
    }
    match transition(false, None, chunk) {
        SctpTransition::To(s) => Some(s),
        // DATA or SACK first: the state stays sNO, "invalid new".
        SctpTransition::Stay | SctpTransition::Invalid => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SctpChunk::*;

    /// The four-way handshake and the three-way close, as `conntrack -E` shows them on a
    /// real node: CLOSED (INIT), COOKIE_WAIT (INIT ACK), COOKIE_ECHOED, ESTABLISHED, then
    /// SHUTDOWN_SENT, SHUTDOWN_ACK_SENT, CLOSED.
    #[test]
    fn handshake_and_close() {
        let mut s = new_state(Init);
        assert_eq!(s, Some(SctpState::Closed));
        for (reply, chunk, want) in [
            (true, InitAck, SctpState::CookieWait),
            (false, CookieEcho, SctpState::CookieEchoed),
            (true, CookieAck, SctpState::Established),
            (false, Data, SctpState::Established),
            (true, Sack, SctpState::Established),
            (false, Shutdown, SctpState::ShutdownSent),
            (true, ShutdownAck, SctpState::ShutdownAckSent),
            (false, ShutdownComplete, SctpState::Closed),
        ] {
            match transition(reply, s, chunk) {
                SctpTransition::To(n) => s = Some(n),
                SctpTransition::Stay => {}
                SctpTransition::Invalid => panic!("{chunk:?} invalid"),
            }
            assert_eq!(s, Some(want), "after {chunk:?}");
        }
    }

    #[test]
    fn out_of_the_blue_and_invalid() {
        // Sec 8.4: these never create an entry.
        for c in [Abort, ShutdownComplete, CookieAck] {
            assert_eq!(new_state(c), None, "{c:?}");
        }
        // A reply chunk of a flow in sNO is sIV; an ABORT closes from anywhere.
        assert_eq!(transition(true, None, InitAck), SctpTransition::Invalid);
        assert_eq!(
            transition(true, Some(SctpState::Established), Abort),
            SctpTransition::To(SctpState::Closed)
        );
        // A HEARTBEAT on a new flow: HEARTBEAT_SENT, its ACK makes it ESTABLISHED.
        assert_eq!(new_state(Heartbeat), Some(SctpState::HeartbeatSent));
        assert_eq!(
            transition(true, Some(SctpState::HeartbeatSent), HeartbeatAck),
            SctpTransition::To(SctpState::Established)
        );
        assert_eq!(SctpState::Established.timeout_secs(), 210);
        assert_eq!(SctpState::CookieWait.timeout_secs(), 3);
    }
}
