//! The data an echo request carries, as iputils `ping` (20221126) and busybox `ping` (1.36)
//! fill it, and the `-s SIZE` option that sizes it.
//!
//! iputils fills `-s` bytes (56 by default) with the byte pattern `i & 0xff` at data offset
//! `i` and stamps the first 16 with a `struct timeval` when there is room (`datalen >=
//! sizeof(struct timeval)`); only then does it print `time=` and the `rtt` summary. busybox
//! fills the data with its pattern byte (0) and stamps the first 4 with a microsecond counter
//! when `datalen >= 4`, with the same consequence for `time=` and `round-trip`. The stamps here
//! are the simulated clock. Only the lengths are visible (tcpdump's `length 64`, the IPVS and
//! iptables byte counters); the receiving stack echoes the data unchanged.

use sim_core::SimTime;

/// Both pings' default data length (`DEFDATALEN`): 56 bytes, a 64-byte ICMP message.
pub const DEFAULT_DATA_LEN: u32 = 56;

/// The largest data length whose echo request fits an IPv4 datagram (65535 − 20 − 8).
pub const MAX_DATA_LEN: u32 = 65507;

/// iputils' timestamp, a 64-bit `struct timeval`: 16 bytes.
const IPUTILS_STAMP_LEN: u32 = 16;

/// busybox's timestamp, a 32-bit microsecond counter: 4 bytes.
const BUSYBOX_STAMP_LEN: u32 = 4;

/// `-s SIZE` as typed: each ping reads (and words its complaint about) it itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeArg {
    /// No `-s`: [`DEFAULT_DATA_LEN`].
    Default,
    /// `-s` and its argument.
    Given(String),
}

/// Which ping fills the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingFlavour {
    /// iputils `ping` (Debian's, on nodes and in iputils-based images).
    Iputils,
    /// busybox `ping` (busybox, alpine and curl images).
    Busybox,
}

impl PingFlavour {
    /// The data length `-s` asks for, or the message and exit status the ping dies with
    /// (measured: iputils 20221126, busybox 1.35). A size whose request fits no IPv4 datagram
    /// (over 65507) makes the real pings' sends fail with EMSGSIZE, which netsim does not
    /// simulate: it says so instead.
    pub fn data_len(self, arg: &SizeArg) -> Result<u32, (String, i32)> {
        let SizeArg::Given(v) = arg else { return Ok(DEFAULT_DATA_LEN) };
        let n = match self {
            PingFlavour::Iputils => match v.parse::<i64>() {
                Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => n as u64,
                Ok(_) => {
                    return Err((
                        format!("ping: invalid argument: '{v}': out of range: 0 <= value <= 2147483647"),
                        1,
                    ));
                }
                Err(_) => return Err((format!("ping: invalid argument: '{v}'"), 1)),
            },
            // xatou16: digits only, at most 65535.
            PingFlavour::Busybox => match v.parse::<u64>() {
                Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) && n <= 65535 => n,
                Ok(_) if v.bytes().all(|b| b.is_ascii_digit()) => {
                    return Err((format!("ping: number {v} is not in 0..65535 range"), 1));
                }
                _ => return Err((format!("ping: invalid number '{v}'"), 1)),
            },
        };
        if n > u64::from(MAX_DATA_LEN) {
            return Err((
                format!(
                    "ping: netsim: -s {n} does not fit an IPv4 datagram (at most {MAX_DATA_LEN} data bytes are simulated)"
                ),
                2,
            ));
        }
        Ok(n as u32)
    }

    /// True when `data_len` bytes hold the send timestamp, so that a reply's round trip is
    /// known and printed (`time=`, the rtt summary).
    pub fn timed(self, data_len: u32) -> bool {
        data_len >= self.stamp_len()
    }

    const fn stamp_len(self) -> u32 {
        match self {
            PingFlavour::Iputils => IPUTILS_STAMP_LEN,
            PingFlavour::Busybox => BUSYBOX_STAMP_LEN,
        }
    }

    /// The `data_len` bytes of an echo request sent at `now`.
    pub fn echo_data(self, data_len: u32, now: SimTime) -> Vec<u8> {
        let n = data_len as usize;
        let mut data: Vec<u8> = match self {
            PingFlavour::Iputils => (0..n).map(|i| i as u8).collect(),
            PingFlavour::Busybox => vec![0; n],
        };
        if self.timed(data_len) {
            let nanos = now.as_nanos();
            let micros = nanos / 1_000;
            match self {
                PingFlavour::Iputils => {
                    let secs = micros / 1_000_000;
                    let usecs = micros % 1_000_000;
                    data[..8].copy_from_slice(&secs.to_le_bytes());
                    data[8..16].copy_from_slice(&usecs.to_le_bytes());
                }
                PingFlavour::Busybox => data[..4].copy_from_slice(&(micros as u32).to_le_bytes()),
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    #[test]
    fn default_requests_are_64_byte_icmp_messages() {
        let at = SimTime::ZERO + SimDuration::from_millis(1500);
        let d = PingFlavour::Iputils.echo_data(DEFAULT_DATA_LEN, at);
        assert_eq!(d.len(), 56);
        // 1 s and 500000 us, then the pattern from offset 16.
        assert_eq!(&d[..8], &1u64.to_le_bytes());
        assert_eq!(&d[8..16], &500_000u64.to_le_bytes());
        assert_eq!(&d[16..20], &[16, 17, 18, 19]);
        let b = PingFlavour::Busybox.echo_data(DEFAULT_DATA_LEN, at);
        assert_eq!(b.len(), 56);
        assert_eq!(&b[..4], &1_500_000u32.to_le_bytes());
        assert!(b[4..].iter().all(|x| *x == 0));
    }

    #[test]
    fn sizes_as_each_ping_reads_them() {
        let given = |v: &str| SizeArg::Given(v.to_string());
        let (ip, bb) = (PingFlavour::Iputils, PingFlavour::Busybox);
        assert_eq!(ip.data_len(&SizeArg::Default), Ok(56));
        assert_eq!(bb.data_len(&given("100")), Ok(100));
        assert_eq!(ip.data_len(&given("abc")), Err(("ping: invalid argument: 'abc'".into(), 1)));
        assert_eq!(
            ip.data_len(&given("-1")),
            Err(("ping: invalid argument: '-1': out of range: 0 <= value <= 2147483647".into(), 1))
        );
        assert_eq!(bb.data_len(&given("-1")), Err(("ping: invalid number '-1'".into(), 1)));
        assert_eq!(bb.data_len(&given("1x")), Err(("ping: invalid number '1x'".into(), 1)));
        assert_eq!(
            bb.data_len(&given("70000")),
            Err(("ping: number 70000 is not in 0..65535 range".into(), 1))
        );
        assert_eq!(ip.data_len(&given("65508")).map_err(|e| e.1), Err(2));
        assert_eq!(bb.data_len(&given("65507")), Ok(65507));
    }

    #[test]
    fn small_sizes_carry_no_timestamp() {
        // Measured: iputils `-s 8` prints `16 bytes from ...: icmp_seq=1 ttl=64` (no time=),
        // `-s 16` prints the time; busybox `-s 3` prints none, `-s 4` does.
        assert!(!PingFlavour::Iputils.timed(15));
        assert!(PingFlavour::Iputils.timed(16));
        assert!(!PingFlavour::Busybox.timed(3));
        assert!(PingFlavour::Busybox.timed(4));
        assert_eq!(PingFlavour::Iputils.echo_data(8, SimTime::ZERO), (0u8..8).collect::<Vec<_>>());
        assert!(PingFlavour::Busybox.echo_data(0, SimTime::ZERO).is_empty());
    }
}
