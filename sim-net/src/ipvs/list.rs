//! `ipvsadm -L` output, transcribed from ipvsadm.c (`list_all`, `print_title`,
//! `print_service_entry`, `print_largenum`, `list_conn`/`print_conn`, `list_timeout`) and
//! ipvsadm-save's rule format (`-S`).
//!
//! Services are sorted by protocol, address, port and real servers by address, port
//! (`ipvs_cmp_services`, `ipvs_cmp_dests`) unless `--nosort`. Addresses are always
//! numeric: netsim has no resolver for `ipvsadm -L` without `-n` to consult, so it prints as
//! `-n` does.

use std::fmt::Write as _;

use sim_core::SimTime;

use super::conn::Expire;
use super::dest::Dest;
use super::{CONN_TAB_SIZE, Ipvs, IpvsError, Service, ServiceKey, VERSION};

/// Which columns `-L` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListFormat {
    /// Forward, Weight, ActiveConn, InActConn.
    #[default]
    Normal,
    /// `--stats`: Conns, InPkts, OutPkts, InBytes, OutBytes.
    Stats,
    /// `--rate`: CPS, InPPS, OutPPS, InBPS, OutBPS.
    Rate,
    /// `-S` / `--save`: the commands that recreate the table.
    Rule,
}

/// `-L` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListOpts {
    /// Columns.
    pub format: ListFormat,
    /// `--nosort`: kernel order (services by key; real servers in list order).
    pub nosort: bool,
    /// `--exact`: no K/M/G abbreviation.
    pub exact: bool,
}

/// `print_largenum`.
fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>w$}");
        return;
    }
    let _ = if i < 100_000_000 {
        write!(out, "{i:>9}")
    } else if i < 1_000_000_000 {
        write!(out, "{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        write!(out, "{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        write!(out, "{:>8}G", i / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", i / 1_000_000_000_000)
    };
}

fn title(out: &mut String, format: ListFormat) {
    let cols = match format {
        ListFormat::Stats => ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"],
        ListFormat::Rate => ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"],
        ListFormat::Normal => {
            out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
            out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
            return;
        }
        ListFormat::Rule => return,
    };
    let _ = writeln!(
        out,
        "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
        "Prot LocalAddress:Port", cols[0], cols[1], cols[2], cols[3], cols[4]
    );
}

fn truncated(s: String, n: usize) -> String {
    s.chars().take(n).collect()
}

fn service_entry(out: &mut String, s: &mut Service, now: SimTime, opts: ListOpts) {
    let key = s.config.key;
    let vname = format!("{}:{}", key.addr, key.port);
    let svc_name = match opts.format {
        ListFormat::Rule => format!("{} {vname}", key.proto.option()),
        _ => truncated(format!("{}  {vname}", key.proto.name()), 33),
    };
    match opts.format {
        ListFormat::Rule => {
            let _ = write!(out, "-A {svc_name} -s {}", s.config.scheduler);
            if let Some(p) = s.config.persistence {
                let _ = write!(out, " -p {}", p.timeout);
                if p.netmask != std::net::Ipv4Addr::BROADCAST {
                    let _ = write!(out, " -M {}", p.netmask);
                }
            }
        }
        ListFormat::Stats => {
            let _ = write!(out, "{svc_name:<33}");
            s.stats.advance(now);
            for v in [s.stats.conns, s.stats.inpkts, s.stats.outpkts, s.stats.inbytes, s.stats.outbytes] {
                largenum(out, v, opts.exact);
            }
        }
        ListFormat::Rate => {
            let _ = write!(out, "{svc_name:<33}");
            let r = s.stats.rates(now);
            for v in [r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
                largenum(out, v, opts.exact);
            }
        }
        ListFormat::Normal => {
            let _ = write!(out, "{svc_name} {}", s.config.scheduler);
            if let Some(p) = s.config.persistence {
                let _ = write!(out, " persistent {}", p.timeout);
                if p.netmask != std::net::Ipv4Addr::BROADCAST {
                    let _ = write!(out, " mask {}", p.netmask);
                }
            }
        }
    }
    out.push('\n');
    let mut order: Vec<usize> = (0..s.dests.len()).collect();
    if !opts.nosort {
        order.sort_by_key(|&i| (*s.dests[i].server.addr.ip(), s.dests[i].server.addr.port()));
    }
    for i in order {
        let d: &mut Dest = &mut s.dests[i];
        let a = d.server.addr;
        if opts.format == ListFormat::Rule {
            let _ = writeln!(out, "-a {svc_name} -r {a} {} -w {}", d.server.method.option(), d.server.weight);
            continue;
        }
        let dname = truncated(a.to_string(), 28);
        match opts.format {
            ListFormat::Stats => {
                let _ = write!(out, "  -> {dname:<28}");
                d.stats.advance(now);
                for v in [d.stats.conns, d.stats.inpkts, d.stats.outpkts, d.stats.inbytes, d.stats.outbytes] {
                    largenum(out, v, opts.exact);
                }
                out.push('\n');
            }
            ListFormat::Rate => {
                let r = d.stats.rates(now);
                let _ = write!(out, "  -> {dname:<28} {:>8} {:>8} {:>8}", r.cps, r.inpps, r.outpps);
                largenum(out, r.inbps, opts.exact);
                largenum(out, r.outbps, opts.exact);
                out.push('\n');
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                    d.server.method.name(),
                    d.server.weight,
                    d.active_conns,
                    d.inact_conns
                );
            }
        }
    }
}

impl Ipvs {
    /// `ipvsadm -L -n [--stats|--rate|-S]`: every service, with the version line (not for `-S`).
    pub fn list(&mut self, now: SimTime, opts: ListOpts) -> String {
        self.expire(now);
        let mut out = String::new();
        if opts.format != ListFormat::Rule {
            let _ = writeln!(out, "IP Virtual Server version {VERSION} (size={CONN_TAB_SIZE})");
        }
        title(&mut out, opts.format);
        for s in self.services_mut() {
            service_entry(&mut out, s, now, opts);
        }
        out
    }

    /// `ipvsadm -L -n -t|-u ADDR:PORT`: one service, no version line.
    pub fn list_service(
        &mut self,
        now: SimTime,
        key: &ServiceKey,
        opts: ListOpts,
    ) -> Result<String, IpvsError> {
        self.expire(now);
        let mut out = String::new();
        let s = self.service_mut(key).ok_or(IpvsError::NoSuchService)?;
        title(&mut out, opts.format);
        service_entry(&mut out, s, now, opts);
        Ok(out)
    }

    /// `ipvsadm -L -n -c`: the connection table (`/proc/net/ip_vs_conn` as `print_conn`
    /// formats it).
    pub fn list_conns(&mut self, now: SimTime) -> String {
        self.expire(now);
        let mut out = String::from("IPVS connection entries\n");
        let _ = writeln!(out, "pro expire {:<11} {:<18} {:<18} destination", "state", "source", "virtual");
        for c in self.conns().iter() {
            let left = c.expires.saturating_since(now).as_secs();
            let _ = writeln!(
                out,
                "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
                c.proto.name(),
                Expire(left).to_string(),
                c.state_name(),
                c.client.to_string(),
                c.vaddr.to_string(),
                c.dest
            );
        }
        out
    }

    /// `ipvsadm -L --timeout`.
    pub fn list_timeout(&self) -> String {
        let t = self.timeouts();
        format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp[1], t.tcp[4], t.udp)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::super::{Persistence, RealServer, SchedName, VirtualService};
    use super::*;

    /// The verbatim `ipvsadm -Ln` of formats.md §1.5 (a kubeadm node), with the trailing
    /// spaces `%-10u` leaves after InActConn.
    #[test]
    fn formats_md_sample_byte_for_byte() {
        let mut v = Ipvs::default();
        let t0 = SimTime::ZERO;
        let api = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 443);
        let dns_tcp = ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 10), 53);
        let dns_udp = ServiceKey::udp(Ipv4Addr::new(10, 0, 0, 10), 53);
        let svc = VirtualService::new(api, SchedName::Rr).persistent(Persistence::new(10800));
        for (key, s, rs) in [
            (api, svc, "192.168.0.1:6443"),
            (dns_tcp, VirtualService::new(dns_tcp, SchedName::Rr), "172.17.0.2:53"),
            (dns_udp, VirtualService::new(dns_udp, SchedName::Rr), "172.17.0.2:53"),
        ] {
            let rs: SocketAddrV4 = rs.parse().unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
            assert_eq!(v.add_service(s, t0), Ok(()));
            assert_eq!(v.add_dest(&key, RealServer::masq(rs, 1), t0), Ok(()));
        }
        if let Some(d) = v.service_mut(&api).and_then(|s| s.dests.first_mut()) {
            d.active_conns = 1;
        }
        assert_eq!(
            v.command(&["-Ln"], t0),
            Ok("IP Virtual Server version 1.2.1 (size=4096)\n\
                Prot LocalAddress:Port Scheduler Flags\n\
                \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
                TCP  10.0.0.1:443 rr persistent 10800\n\
                \x20 -> 192.168.0.1:6443             Masq    1      1          0         \n\
                TCP  10.0.0.10:53 rr\n\
                \x20 -> 172.17.0.2:53                Masq    1      0          0         \n\
                UDP  10.0.0.10:53 rr\n\
                \x20 -> 172.17.0.2:53                Masq    1      0          0         \n"
                .to_string())
        );
    }

    #[test]
    fn largenum_matches_ipvsadm() {
        let f = |i, e| {
            let mut s = String::new();
            largenum(&mut s, i, e);
            s
        };
        assert_eq!(f(42, false), "       42");
        assert_eq!(f(123_456_789, false), "  123456K");
        assert_eq!(f(12_345_678_901, false), "   12345M");
        assert_eq!(f(1_234_567_890, true), " 1234567890");
    }
}
