//! Test fixtures shared by the `ss` and `netstat` tests: socket rows written as text and the
//! real tools' recorded outputs in `tests/data/real-tools/ss/`.

use std::net::SocketAddrV4;

use sim_net::socket::{SockProto, SocketEntry, SocketState};

/// One socket row: `local` and `peer` as `IP:PORT`, Recv-Q 0.
pub fn entry(proto: SockProto, state: SocketState, local: &str, peer: &str, send_q: u32) -> SocketEntry {
    let sa = |s: &str| s.parse::<SocketAddrV4>().unwrap_or_else(|e| panic!("{s}: {e}"));
    SocketEntry { proto, state, local: sa(local), peer: sa(peer), recv_q: 0, send_q }
}

/// A recorded output of the real tool (`tests/data/real-tools/ss/NAME`).
pub fn real(name: &str) -> String {
    let path = format!("{}/../tests/data/real-tools/ss/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
