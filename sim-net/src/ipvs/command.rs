//! `ipvsadm` command lines (`ipvsadm.c` `parse_options` / `process_options`): `-A/-E/-D`
//! services, `-a/-e/-d` real servers, `-C`, `-Z`, `--set`, `-L`/`-l` (`-n`, `-c`, `--stats`,
//! `--rate`, `--exact`, `--nosort`, `--timeout`, `-t|-u ADDR:PORT`) and `-S`, with ipvsadm's
//! defaults (scheduler wlc, forwarding `-g`, weight 1, `-p` without a value 360 s, mask
//! /32; for `-g`/`-i` the real server's port is the service's) and messages. Short options
//! bundle (`-Lnc`); long options take `--opt value` or `--opt=value`.
//!
//! Left out: `-f` firewall marks, `-6`, `-o`, `-x`/`-y` thresholds, `--daemon` and sync
//! daemons, `-R` (restore from stdin), name resolution without `-n`.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::SimTime;

use super::dest::{ForwardMethod, RealServer};
use super::list::{ListFormat, ListOpts};
use super::sched::{DEFAULT_SCHEDULER, SchedName};
use super::service::{DEFAULT_PERSISTENCE_TIMEOUT, IpvsProto, Persistence, ServiceKey, VirtualService};
use super::{Ipvs, IpvsError};

/// ipvsadm's `MAX_TIMEOUT` (31 days).
const MAX_TIMEOUT: u64 = 86_400 * 31;

/// A failed `ipvsadm` command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A usage error ipvsadm reports itself (`fail(2, ...)`), exit status 2.
    #[error("{0}")]
    Usage(String),
    /// The kernel refused (`ipvs_strerror`), exit status 255 (ipvsadm returns -1).
    #[error("{0}")]
    Kernel(#[from] IpvsError),
    /// `-s` named no scheduler the kernel has (`ENOENT` on add/edit), exit status 255.
    #[error("Scheduler not found")]
    SchedulerNotFound,
}

impl CommandError {
    /// The exit status ipvsadm ends with.
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => 2,
            CommandError::Kernel(_) | CommandError::SchedulerNotFound => 255,
        }
    }
}

fn usage(s: impl Into<String>) -> CommandError {
    CommandError::Usage(s.into())
}

/// ipvsadm's "try help" exit text.
const TRY_HELP: &str = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Add,
    Edit,
    Del,
    AddDest,
    EditDest,
    DelDest,
    Flush,
    List,
    Zero,
    Timeout,
    Save,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Add => "add-service",
            Cmd::Edit => "edit-service",
            Cmd::Del => "delete-service",
            Cmd::AddDest => "add-server",
            Cmd::EditDest => "edit-server",
            Cmd::DelDest => "delete-server",
            Cmd::Flush => "flush",
            Cmd::List => "list",
            Cmd::Zero => "zero",
            Cmd::Timeout => "set",
            Cmd::Save => "save",
        }
    }
}

#[derive(Default)]
struct Parsed {
    cmd: Option<Cmd>,
    service: Option<(IpvsProto, Ipv4Addr, Option<u16>)>,
    sched: Option<String>,
    persistent: Option<u64>,
    netmask: Option<Ipv4Addr>,
    server: Option<(Ipv4Addr, Option<u16>)>,
    method: Option<ForwardMethod>,
    weight: Option<u32>,
    connection: bool,
    timeout: bool,
    format: ListFormat,
    nosort: bool,
    exact: bool,
    positional: Vec<String>,
}

/// `parse_service`: `ADDR[:PORT]`.
fn parse_addr_port(s: &str) -> Option<(Ipv4Addr, Option<u16>)> {
    match s.split_once(':') {
        Some((a, p)) => Some((a.parse().ok()?, Some(p.parse().ok()?))),
        None => Some((s.parse().ok()?, None)),
    }
}

fn parse_timeout(s: &str, min: u64, max: u64) -> Result<u64, CommandError> {
    match s.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(usage(format!("invalid timeout value `{s}' specified"))),
    }
}

fn set_command(p: &mut Parsed, c: Cmd) -> Result<(), CommandError> {
    if p.cmd.is_some() {
        return Err(usage("multiple commands specified"));
    }
    p.cmd = Some(c);
    Ok(())
}

/// Splits `args` into (option, attached value) items: `-Lnc` → `-L`, `-n`, `-c`;
/// `--scheduler=rr` → (`--scheduler`, `rr`).
fn options(args: &[&str]) -> Vec<(String, Option<String>)> {
    let mut out = vec![];
    for a in args {
        if let Some(long) = a.strip_prefix("--") {
            match long.split_once('=') {
                Some((k, v)) => out.push((format!("--{k}"), Some(v.to_string()))),
                None => out.push((a.to_string(), None)),
            }
        } else if let Some(short) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            let chars: Vec<char> = short.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                // An option taking a value swallows the rest of the word (`-w5`).
                if "tusMrwp".contains(*c) && i + 1 < chars.len() {
                    out.push((format!("-{c}"), Some(chars[i + 1..].iter().collect())));
                    break;
                }
                out.push((format!("-{c}"), None));
            }
        } else {
            out.push((a.to_string(), None));
        }
    }
    out
}

fn parse(args: &[&str]) -> Result<Parsed, CommandError> {
    let items = options(args);
    let mut p = Parsed::default();
    let mut i = 0;
    while i < items.len() {
        let (opt, attached) = items[i].clone();
        i += 1;
        let value = |i: &mut usize, name: &str| -> Result<String, CommandError> {
            if let Some(v) = attached.clone() {
                return Ok(v);
            }
            let v = items.get(*i).map(|(o, _)| o.clone());
            *i += 1;
            v.ok_or_else(|| usage(format!("{name}: missing argument\n{TRY_HELP}")))
        };
        match opt.as_str() {
            "-A" | "--add-service" => set_command(&mut p, Cmd::Add)?,
            "-E" | "--edit-service" => set_command(&mut p, Cmd::Edit)?,
            "-D" | "--delete-service" => set_command(&mut p, Cmd::Del)?,
            "-a" | "--add-server" => set_command(&mut p, Cmd::AddDest)?,
            "-e" | "--edit-server" => set_command(&mut p, Cmd::EditDest)?,
            "-d" | "--delete-server" => set_command(&mut p, Cmd::DelDest)?,
            "-C" | "--clear" => set_command(&mut p, Cmd::Flush)?,
            "-L" | "-l" | "--list" => set_command(&mut p, Cmd::List)?,
            "-Z" | "--zero" => set_command(&mut p, Cmd::Zero)?,
            "-S" | "--save" => set_command(&mut p, Cmd::Save)?,
            "--set" => set_command(&mut p, Cmd::Timeout)?,
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                let proto = match opt.as_str() {
                    "-t" | "--tcp-service" => IpvsProto::Tcp,
                    "-u" | "--udp-service" => IpvsProto::Udp,
                    _ => IpvsProto::Sctp,
                };
                let v = value(&mut i, &opt)?;
                let (a, port) = parse_addr_port(&v)
                    .ok_or_else(|| usage("illegal virtual server address[:port] specified"))?;
                p.service = Some((proto, a, port));
            }
            "-s" | "--scheduler" => p.sched = Some(value(&mut i, &opt)?),
            "-p" | "--persistent" => {
                // An optional value: the next word if it is not an option.
                let v = match attached.clone() {
                    Some(v) => Some(v),
                    None => match items.get(i) {
                        Some((w, None)) if !w.starts_with('-') => {
                            i += 1;
                            Some(w.clone())
                        }
                        _ => None,
                    },
                };
                p.persistent = Some(match v {
                    Some(v) => parse_timeout(&v, 1, MAX_TIMEOUT)?,
                    None => u64::from(DEFAULT_PERSISTENCE_TIMEOUT),
                });
            }
            "-M" | "--netmask" => {
                let v = value(&mut i, &opt)?;
                let m: Ipv4Addr =
                    v.parse().map_err(|_| usage("illegal virtual server persistent mask specified"))?;
                p.netmask = Some(m);
            }
            "-r" | "--real-server" => {
                let v = value(&mut i, &opt)?;
                p.server = Some(
                    parse_addr_port(&v)
                        .ok_or_else(|| usage("illegal real server address[:port] specified"))?,
                );
            }
            "-m" | "--masquerading" => p.method = Some(ForwardMethod::Masq),
            "-g" | "--gatewaying" => p.method = Some(ForwardMethod::Route),
            "-i" | "--ipip" => p.method = Some(ForwardMethod::Tunnel),
            "-w" | "--weight" => {
                let v = value(&mut i, &opt)?;
                p.weight = Some(
                    v.parse::<u32>()
                        .ok()
                        .filter(|w| *w <= 65_535)
                        .ok_or_else(|| usage("illegal weight specified"))?,
                );
            }
            "-n" | "--numeric" | "--sort" => {}
            "-c" | "--connection" => p.connection = true,
            "--timeout" => p.timeout = true,
            "--stats" => p.format = ListFormat::Stats,
            "--rate" => p.format = ListFormat::Rate,
            "--nosort" => p.nosort = true,
            "-X" | "--exact" => p.exact = true,
            o if o.starts_with('-') => return Err(usage(format!("invalid option `{o}'"))),
            _ => p.positional.push(opt),
        }
    }
    Ok(p)
}

impl Ipvs {
    /// Runs an `ipvsadm` command line (the words after `ipvsadm`); returns what it prints on
    /// stdout. No words lists the table, as bare `ipvsadm` does.
    pub fn command(&mut self, args: &[&str], now: SimTime) -> Result<String, CommandError> {
        if args.is_empty() {
            return Ok(self.list(now, ListOpts::default()));
        }
        let p = parse(args)?;
        let Some(cmd) = p.cmd else { return Err(usage(TRY_HELP)) };
        if cmd == Cmd::Timeout {
            let [tcp, fin, udp] = p.positional.as_slice() else {
                return Err(usage("--set option requires 3 timeout values"));
            };
            let (tcp, fin, udp) = (
                parse_timeout(tcp, 0, MAX_TIMEOUT)?,
                parse_timeout(fin, 0, MAX_TIMEOUT)?,
                parse_timeout(udp, 0, MAX_TIMEOUT)?,
            );
            self.set_timeouts(tcp, fin, udp);
            return Ok(String::new());
        }
        if let Some(extra) = p.positional.first() {
            return Err(usage(format!("unexpected argument {extra}")));
        }
        let need_service =
            matches!(cmd, Cmd::Add | Cmd::Edit | Cmd::Del | Cmd::AddDest | Cmd::EditDest | Cmd::DelDest);
        let need = |what: &str| {
            usage(format!("You need to supply the '{what}' option for the '{}' command", cmd.name()))
        };
        let key = match p.service {
            Some((proto, addr, port)) => Some(ServiceKey { proto, addr, port: port.unwrap_or(0) }),
            None if need_service => return Err(need("service-address")),
            None => None,
        };
        let service = |p: &Parsed, key: ServiceKey| -> Result<VirtualService, CommandError> {
            if key.port == 0 && p.persistent.is_none() {
                return Err(usage("Zero port specified for non-persistent service"));
            }
            let scheduler = match &p.sched {
                Some(s) => SchedName::parse(s).ok_or(CommandError::SchedulerNotFound)?,
                None => DEFAULT_SCHEDULER,
            };
            let persistence = p.persistent.map(|t| Persistence {
                timeout: t as u32,
                netmask: p.netmask.unwrap_or(Ipv4Addr::BROADCAST),
            });
            Ok(VirtualService { key, scheduler, persistence })
        };
        let server = |p: &Parsed, key: ServiceKey| -> Result<RealServer, CommandError> {
            let Some((addr, port)) = p.server else { return Err(need("real-server")) };
            let method = p.method.unwrap_or(ForwardMethod::Route);
            // For -g and -i the real server's port is the service's.
            let port = match method {
                ForwardMethod::Masq => port.unwrap_or(key.port),
                ForwardMethod::Route | ForwardMethod::Tunnel => key.port,
            };
            Ok(RealServer { addr: SocketAddrV4::new(addr, port), weight: p.weight.unwrap_or(1), method })
        };
        match (cmd, key) {
            (Cmd::Add, Some(k)) => self.add_service(service(&p, k)?, now)?,
            (Cmd::Edit, Some(k)) => self.edit_service(service(&p, k)?)?,
            (Cmd::Del, Some(k)) => self.del_service(&k)?,
            (Cmd::AddDest, Some(k)) => self.add_dest(&k, server(&p, k)?, now)?,
            (Cmd::EditDest, Some(k)) => self.edit_dest(&k, server(&p, k)?)?,
            (Cmd::DelDest, Some(k)) => {
                let rs = server(&p, k)?;
                self.del_dest(&k, rs.addr)?
            }
            (Cmd::Flush, _) => self.clear(),
            (Cmd::Zero, Some(k)) => {
                let s = self.service_mut(&k).ok_or(IpvsError::NoSuchService)?;
                s.stats.zero(now);
                for d in &mut s.dests {
                    d.stats.zero(now);
                }
            }
            (Cmd::Zero, None) => self.zero(now),
            (Cmd::Save, _) => {
                let opts = ListOpts { format: ListFormat::Rule, nosort: p.nosort, exact: false };
                return Ok(self.list(now, opts));
            }
            (Cmd::List, key) => {
                if (p.connection || p.timeout) && p.format != ListFormat::Normal {
                    return Err(usage("options conflicts in the list command"));
                }
                let opts = ListOpts { format: p.format, nosort: p.nosort, exact: p.exact };
                return Ok(if p.connection {
                    self.list_conns(now)
                } else if let Some(k) = key {
                    self.list_service(now, &k, opts)?
                } else if p.timeout {
                    self.list_timeout()
                } else {
                    self.list(now, opts)
                });
            }
            _ => return Err(usage(TRY_HELP)),
        }
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ipvs: &mut Ipvs, line: &str) -> Result<String, CommandError> {
        let args: Vec<&str> = line.split_whitespace().collect();
        ipvs.command(&args, SimTime::ZERO)
    }

    #[test]
    fn errors_in_ipvsadm_words() {
        let mut v = Ipvs::default();
        let e = |r: Result<String, CommandError>| r.map_err(|e| (e.to_string(), e.exit_code()));
        assert_eq!(
            e(run(&mut v, "-a -t 10.0.0.1:80 -r 10.1.0.1 -m")),
            Err(("Service not defined".into(), 255))
        );
        assert_eq!(e(run(&mut v, "-A -t 10.0.0.1:80 -s foo")), Err(("Scheduler not found".into(), 255)));
        assert_eq!(run(&mut v, "-A -t 10.0.0.1:80 -s rr"), Ok(String::new()));
        assert_eq!(e(run(&mut v, "-A -t 10.0.0.1:80 -s rr")), Err(("Service already exists".into(), 255)));
        assert_eq!(e(run(&mut v, "-E -u 10.0.0.1:80 -s rr")), Err(("No such service".into(), 255)));
        assert_eq!(run(&mut v, "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m"), Ok(String::new()));
        assert_eq!(
            e(run(&mut v, "-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -m")),
            Err(("Destination already exists".into(), 255))
        );
        assert_eq!(
            e(run(&mut v, "-d -t 10.0.0.1:80 -r 10.1.0.2:8080")),
            Err(("No such destination".into(), 255))
        );
        assert_eq!(
            e(run(&mut v, "-a -t 10.0.0.1:80 -r 10.1.0.3 -w 70000")),
            Err(("illegal weight specified".into(), 2))
        );
        assert_eq!(
            e(run(&mut v, "-A -t 10.0.0.300:80")),
            Err(("illegal virtual server address[:port] specified".into(), 2))
        );
        assert_eq!(
            e(run(&mut v, "-A -t 10.0.0.2")),
            Err(("Zero port specified for non-persistent service".into(), 2))
        );
        assert_eq!(
            e(run(&mut v, "-a -t 10.0.0.1:80")),
            Err(("You need to supply the 'real-server' option for the 'add-server' command".into(), 2))
        );
        assert_eq!(e(run(&mut v, "-A -L")), Err(("multiple commands specified".into(), 2)));
        assert_eq!(
            e(run(&mut v, "--set 900 120")),
            Err(("--set option requires 3 timeout values".into(), 2))
        );
        assert_eq!(e(run(&mut v, "-L --bogus")), Err(("invalid option `--bogus'".into(), 2)));
        assert_eq!(e(run(&mut v, "-Lnc --stats")), Err(("options conflicts in the list command".into(), 2)));
        assert_eq!(
            e(run(&mut v, "-A -t 10.0.0.9:80 -p abc")),
            Err(("invalid timeout value `abc' specified".into(), 2))
        );
    }

    #[test]
    fn defaults_bundles_and_set() {
        let mut v = Ipvs::default();
        run(&mut v, "-A -t 10.0.0.1:80 -p").unwrap_or_default();
        run(&mut v, "-a -t 10.0.0.1:80 -r 10.1.0.1:9999").unwrap_or_default();
        let s = v.service(&ServiceKey::tcp(Ipv4Addr::new(10, 0, 0, 1), 80)).cloned();
        let s = s.as_ref();
        assert_eq!(s.map(|s| s.config.scheduler), Some(SchedName::Wlc));
        assert_eq!(s.and_then(|s| s.config.persistence).map(|p| p.timeout), Some(360));
        // -g (the default) takes the service port, weight 1.
        let d = s.and_then(|s| s.dests.first()).map(|d| d.server);
        assert_eq!(
            d,
            Some(RealServer {
                addr: "10.1.0.1:80".parse().unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
                weight: 1,
                method: ForwardMethod::Route
            })
        );
        assert_eq!(run(&mut v, "--set 3600 0 60"), Ok(String::new()));
        assert_eq!(run(&mut v, "-L --timeout"), Ok("Timeout (tcp tcpfin udp): 3600 120 60\n".into()));
        assert_eq!(
            run(&mut v, "-Sn"),
            Ok("-A -t 10.0.0.1:80 -s wlc -p 360\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1\n".into())
        );
        assert_eq!(
            run(&mut v, "-Ln -t 10.0.0.1:80"),
            Ok("Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 wlc persistent 360\n  -> 10.1.0.1:80                  Route   1      0          0         \n".into())
        );
        assert_eq!(
            run(&mut v, "-L -n -u 10.0.0.1:80").map_err(|e| e.to_string()),
            Err("No such service".into())
        );
        assert_eq!(run(&mut v, "-E -t 10.0.0.1:80 -s sh -p 60 -M 255.255.255.0"), Ok(String::new()));
        assert!(
            run(&mut v, "-Ln")
                .unwrap_or_default()
                .contains("TCP  10.0.0.1:80 sh persistent 60 mask 255.255.255.0\n")
        );
        assert_eq!(run(&mut v, "-C"), Ok(String::new()));
        assert!(v.is_empty());
    }
}
