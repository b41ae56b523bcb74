//! The `sysctl` command (procps-ng 4.0) over a namespace's modelled [`Sysctls`]: read
//! (`sysctl KEY`, `-n`, `-N`), write (`sysctl -w KEY=VALUE`, or any `KEY=VALUE` argument),
//! list (`-a`, `-A`, `-X`, with `-r`/`--pattern`), with procps-ng's output and error wording
//! (checked against the real tool in a test-created network namespace).
//!
//! Where netsim departs from the real tool and kernel:
//! - Only the modelled keys exist ([`KEYS`]); any other is "cannot stat", as an absent
//!   `/proc/sys` file is. The `net.ipv4.vs.*` keys exist even where ip_vs would not be loaded.
//! - Values are kept in the model's types: a boolean key stores any non-zero integer as 1 (the
//!   kernel keeps `ip_forward = 2` as written), and a value outside 0..=255 for the others is
//!   refused with "Invalid argument" (the kernel's `proc_dointvec` takes any int).
//! - `-r PATTERN` is a substring match, with `^` and `$` anchors, not a full regular
//!   expression.
//! - The `net.netfilter.nf_conntrack_*` keys are the namespace's conntrack settings
//!   ([`CtConfig`]) and `nf_conntrack_count` its table's size. In the kernel `nf_conntrack_max`
//!   is one global value, writable only from the initial namespace (a node's); netsim keeps it
//!   per namespace and writable everywhere. Writing the read-only `nf_conntrack_count` fails
//!   with "Invalid argument", as the real tool reported it in a test namespace.

use crate::conntrack::{Conntrack, CtConfig};
use crate::host::Sysctls;
use crate::route::MultipathHashPolicy;

/// The keys the model has, in `sysctl -a` order.
pub const KEYS: [&str; 23] = [
    "net.ipv4.conf.all.arp_announce",
    "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.fib_multipath_hash_policy",
    "net.ipv4.ip_forward",
    "net.ipv4.vs.conntrack",
    "net.ipv4.vs.expire_nodest_conn",
    "net.ipv4.vs.expire_quiescent_template",
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_icmp_timeout",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_be_liberal",
    "net.netfilter.nf_conntrack_tcp_timeout_close",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_fin_wait",
    "net.netfilter.nf_conntrack_tcp_timeout_last_ack",
    "net.netfilter.nf_conntrack_tcp_timeout_syn_recv",
    "net.netfilter.nf_conntrack_tcp_timeout_syn_sent",
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
    "net.netfilter.nf_conntrack_udp_timeout",
    "net.netfilter.nf_conntrack_udp_timeout_stream",
];

/// The conntrack setting a `net.netfilter.nf_conntrack_*` key names (not `_count`).
fn ct_field<'a>(c: &'a mut CtConfig, key: &str) -> Option<&'a mut u64> {
    Some(match key {
        "net.netfilter.nf_conntrack_icmp_timeout" => &mut c.icmp,
        "net.netfilter.nf_conntrack_tcp_timeout_close" => &mut c.tcp_close,
        "net.netfilter.nf_conntrack_tcp_timeout_close_wait" => &mut c.tcp_close_wait,
        "net.netfilter.nf_conntrack_tcp_timeout_established" => &mut c.tcp_established,
        "net.netfilter.nf_conntrack_tcp_timeout_fin_wait" => &mut c.tcp_fin_wait,
        "net.netfilter.nf_conntrack_tcp_timeout_last_ack" => &mut c.tcp_last_ack,
        "net.netfilter.nf_conntrack_tcp_timeout_syn_recv" => &mut c.tcp_syn_recv,
        "net.netfilter.nf_conntrack_tcp_timeout_syn_sent" => &mut c.tcp_syn_sent,
        "net.netfilter.nf_conntrack_tcp_timeout_time_wait" => &mut c.tcp_time_wait,
        "net.netfilter.nf_conntrack_udp_timeout" => &mut c.udp,
        "net.netfilter.nf_conntrack_udp_timeout_stream" => &mut c.udp_stream,
        _ => return None,
    })
}

/// What one `sysctl` invocation printed and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysctlOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub code: i32,
}

/// The value of `key` (dots or slashes), if the model has it.
pub fn get(s: &Sysctls, ct: &Conntrack, key: &str) -> Option<i64> {
    let key = key.replace('/', ".");
    if key.starts_with("net.netfilter.") {
        return match key.as_str() {
            "net.netfilter.nf_conntrack_count" => i64::try_from(ct.len()).ok(),
            "net.netfilter.nf_conntrack_max" => i64::try_from(ct.config().max).ok(),
            "net.netfilter.nf_conntrack_tcp_be_liberal" => Some(i64::from(ct.config().tcp_be_liberal)),
            k => {
                let mut c = ct.config().clone();
                ct_field(&mut c, k).and_then(|v| i64::try_from(*v).ok())
            }
        };
    }
    let v = match key.as_str() {
        "net.ipv4.conf.all.arp_announce" => i64::from(s.arp_announce),
        "net.ipv4.conf.all.arp_ignore" => i64::from(s.arp_ignore),
        "net.ipv4.conf.all.route_localnet" => i64::from(s.route_localnet),
        "net.ipv4.conf.all.rp_filter" => i64::from(s.rp_filter),
        "net.ipv4.fib_multipath_hash_policy" => i64::from(s.fib_multipath_hash_policy.value()),
        "net.ipv4.ip_forward" => i64::from(s.ip_forward),
        "net.ipv4.vs.conntrack" => i64::from(s.vs_conntrack),
        "net.ipv4.vs.expire_nodest_conn" => i64::from(s.vs_expire_nodest_conn),
        "net.ipv4.vs.expire_quiescent_template" => i64::from(s.vs_expire_quiescent_template),
        _ => return None,
    };
    Some(v)
}

/// Why a write failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetError {
    /// No such key (`cannot stat`).
    NoSuchKey,
    /// The kernel refused the value (`EINVAL`).
    Invalid,
}

/// Writes `value` (text, as written to `/proc/sys`) to `key`.
pub fn set(s: &mut Sysctls, ct: &mut Conntrack, key: &str, value: &str) -> Result<(), SetError> {
    let key = key.replace('/', ".");
    if get(s, ct, &key).is_none() {
        return Err(SetError::NoSuchKey);
    }
    let n: i64 = value.trim().parse().map_err(|_| SetError::Invalid)?;
    if key.starts_with("net.netfilter.") {
        // proc_dointvec_minmax 0..=INT_MAX (`nf_conntrack_max`: 0 is no limit) and
        // proc_dointvec_jiffies for the timeouts; the count is read-only.
        let v = u64::try_from(n).ok().filter(|v| i32::try_from(*v).is_ok()).ok_or(SetError::Invalid)?;
        let mut c = ct.config().clone();
        match key.as_str() {
            "net.netfilter.nf_conntrack_max" => c.max = usize::try_from(v).map_err(|_| SetError::Invalid)?,
            // proc_dou8vec_minmax 0..=1.
            "net.netfilter.nf_conntrack_tcp_be_liberal" => {
                c.tcp_be_liberal = match v {
                    0 => false,
                    1 => true,
                    _ => return Err(SetError::Invalid),
                }
            }
            k => *ct_field(&mut c, k).ok_or(SetError::Invalid)? = v,
        }
        ct.set_config(c);
        return Ok(());
    }
    let byte = || u8::try_from(n).map_err(|_| SetError::Invalid);
    let flag = || i32::try_from(n).map(|n| n != 0).map_err(|_| SetError::Invalid);
    match key.as_str() {
        "net.ipv4.conf.all.arp_announce" => s.arp_announce = byte()?,
        "net.ipv4.conf.all.arp_ignore" => s.arp_ignore = byte()?,
        "net.ipv4.conf.all.route_localnet" => s.route_localnet = flag()?,
        "net.ipv4.conf.all.rp_filter" => s.rp_filter = byte()?,
        // proc_dointvec_minmax with 0..=1 here (the kernel's later 2 and 3 are not modelled).
        "net.ipv4.fib_multipath_hash_policy" => {
            s.fib_multipath_hash_policy = match n {
                0 => MultipathHashPolicy::L3,
                1 => MultipathHashPolicy::L4,
                _ => return Err(SetError::Invalid),
            }
        }
        "net.ipv4.ip_forward" => s.ip_forward = flag()?,
        "net.ipv4.vs.conntrack" => s.vs_conntrack = flag()?,
        "net.ipv4.vs.expire_nodest_conn" => s.vs_expire_nodest_conn = flag()?,
        "net.ipv4.vs.expire_quiescent_template" => s.vs_expire_quiescent_template = flag()?,
        _ => return Err(SetError::NoSuchKey),
    }
    Ok(())
}

fn proc_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

fn pattern_matches(pattern: &str, key: &str) -> bool {
    let (start, p) = match pattern.strip_prefix('^') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let (end, p) = match p.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, p),
    };
    match (start, end) {
        (true, true) => key == p,
        (true, false) => key.starts_with(p),
        (false, true) => key.ends_with(p),
        (false, false) => key.contains(p),
    }
}

/// procps-ng 4.0.2's usage text.
const USAGE: &str = r#"
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
"#;

/// Runs `sysctl ARGS` against a namespace's sysctls `s` and conntrack table `ct`.
pub fn command(s: &mut Sysctls, ct: &mut Conntrack, args: &[&str]) -> SysctlOutput {
    let mut out = SysctlOutput::default();
    let (mut values_only, mut names_only, mut write, mut all, mut quiet, mut ignore) =
        (false, false, false, false, false, false);
    let mut pattern: Option<String> = None;
    let mut names: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "-n" | "--values" => values_only = true,
            "-N" | "--names" => names_only = true,
            "-w" | "--write" => write = true,
            "-a" | "-A" | "-X" | "--all" => all = true,
            "-q" | "--quiet" => quiet = true,
            "-e" | "--ignore" => ignore = true,
            "-r" | "--pattern" => match it.next() {
                Some(p) => pattern = Some((*p).to_string()),
                None => {
                    out.stderr = "sysctl: option requires an argument -- 'r'\n".to_string();
                    out.stdout = USAGE.to_string();
                    return out;
                }
            },
            o if o.starts_with("--pattern=") => pattern = Some(o["--pattern=".len()..].to_string()),
            o if o.starts_with('-') && o.len() > 1 => {
                let c = o.chars().nth(1).unwrap_or('-');
                // procps-ng prints the usage on standard output and exits 0 here.
                out.stderr = if o.starts_with("--") {
                    format!("sysctl: unrecognized option '{o}'\n")
                } else {
                    format!("sysctl: invalid option -- '{c}'\n")
                };
                out.stdout = USAGE.to_string();
                return out;
            }
            name => names.push(name),
        }
    }
    let line = |key: &str, v: i64| -> String {
        if values_only {
            format!("{v}\n")
        } else if names_only {
            format!("{key}\n")
        } else {
            format!("{key} = {v}\n")
        }
    };
    if all || (names.is_empty() && pattern.is_some()) {
        for key in KEYS {
            if pattern.as_deref().is_some_and(|p| !pattern_matches(p, key)) {
                continue;
            }
            if let Some(v) = get(s, ct, key) {
                out.stdout.push_str(&line(key, v));
            }
        }
        return out;
    }
    if names.is_empty() {
        out.stderr = USAGE.to_string();
        out.code = 1;
        return out;
    }
    for (i, name) in names.iter().enumerate() {
        if let Some((key, value)) = name.split_once('=') {
            let key = key.trim().replace('/', ".");
            match set(s, ct, &key, value) {
                Ok(()) => {
                    if !quiet {
                        let v = get(s, ct, &key).unwrap_or_default();
                        out.stdout.push_str(&line(&key, v));
                    }
                }
                Err(SetError::NoSuchKey) => {
                    if !ignore {
                        out.stderr.push_str(&format!(
                            "sysctl: cannot stat {}: No such file or directory\n",
                            proc_path(&key)
                        ));
                        out.code = 1;
                    }
                }
                Err(SetError::Invalid) => {
                    out.stderr.push_str(&format!("sysctl: setting key \"{key}\": Invalid argument\n"));
                    out.code = 1;
                }
            }
        } else if write {
            out.stderr.push_str(&format!("sysctl: command line({i}): invalid syntax, continuing...\n"));
            out.code = 1;
        } else {
            let key = name.replace('/', ".");
            match get(s, ct, &key) {
                Some(v) => out.stdout.push_str(&line(&key, v)),
                None if ignore => {}
                None => {
                    out.stderr.push_str(&format!(
                        "sysctl: cannot stat {}: No such file or directory\n",
                        proc_path(&key)
                    ));
                    out.code = 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut Sysctls, line: &str) -> SysctlOutput {
        let args: Vec<&str> = line.split_whitespace().collect();
        command(s, &mut Conntrack::default(), &args)
    }

    #[test]
    fn conntrack_keys_read_and_write_the_table() {
        let mut s = Sysctls::default();
        let mut ct = Conntrack::default();
        let mut run = |line: &str| {
            let args: Vec<&str> = line.split_whitespace().collect();
            command(&mut s, &mut ct, &args)
        };
        // As the real tool prints them in a fresh namespace (kernel 6.18).
        assert_eq!(
            run("net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_count").stdout,
            "net.netfilter.nf_conntrack_max = 262144\nnet.netfilter.nf_conntrack_count = 0\n"
        );
        assert_eq!(
            run("-w net.netfilter.nf_conntrack_max=64").stdout,
            "net.netfilter.nf_conntrack_max = 64\n"
        );
        assert_eq!(
            run("-w net.netfilter.nf_conntrack_tcp_timeout_time_wait=5").stdout,
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait = 5\n"
        );
        assert_eq!(
            run("-w net.netfilter.nf_conntrack_count=5").stderr,
            "sysctl: setting key \"net.netfilter.nf_conntrack_count\": Invalid argument\n"
        );
        assert_eq!(
            run("-w net.netfilter.nf_conntrack_max=-1").stderr,
            "sysctl: setting key \"net.netfilter.nf_conntrack_max\": Invalid argument\n"
        );
        assert_eq!(run("-a -r conntrack_tcp_timeout").stdout.lines().count(), 8);
        assert_eq!((ct.config().max, ct.config().tcp_time_wait), (64, 5));
    }

    // Outputs as procps-ng 4.0.2 prints them in a fresh network namespace (`unshare -n`).
    #[test]
    fn read_write_and_errors_as_procps_prints_them() {
        let mut s = Sysctls::default();
        assert_eq!(run(&mut s, "net.ipv4.conf.all.arp_ignore").stdout, "net.ipv4.conf.all.arp_ignore = 0\n");
        let w = run(&mut s, "-w net.ipv4.conf.all.arp_ignore=1");
        assert_eq!((w.stdout.as_str(), w.code), ("net.ipv4.conf.all.arp_ignore = 1\n", 0));
        assert_eq!(s.arp_ignore, 1);
        assert_eq!(
            run(&mut s, "net.ipv4.conf.all.arp_announce=2").stdout,
            "net.ipv4.conf.all.arp_announce = 2\n"
        );
        assert_eq!(run(&mut s, "-n net.ipv4.conf.all.arp_announce").stdout, "2\n");
        assert_eq!(run(&mut s, "-N net/ipv4/ip_forward").stdout, "net.ipv4.ip_forward\n");
        let bad = run(&mut s, "-w net.ipv4.conf.all.arp_ignore=abc");
        assert_eq!(
            (bad.stderr.as_str(), bad.code),
            ("sysctl: setting key \"net.ipv4.conf.all.arp_ignore\": Invalid argument\n", 1)
        );
        let missing = run(&mut s, "net.ipv4.conf.all.nope");
        assert_eq!(
            (missing.stderr.as_str(), missing.code),
            ("sysctl: cannot stat /proc/sys/net/ipv4/conf/all/nope: No such file or directory\n", 1)
        );
        let syntax = run(&mut s, "-w net.ipv4.conf.all.arp_ignore");
        assert_eq!(syntax.stderr, "sysctl: command line(0): invalid syntax, continuing...\n");
        assert_eq!(
            run(&mut s, "-w net.ipv4.fib_multipath_hash_policy=9").stderr,
            "sysctl: setting key \"net.ipv4.fib_multipath_hash_policy\": Invalid argument\n"
        );
        let opt = run(&mut s, "-z");
        assert_eq!((opt.stderr.as_str(), opt.code), ("sysctl: invalid option -- 'z'\n", 0));
        assert!(opt.stdout.starts_with("\nUsage:\n sysctl [options] [variable[=value] ...]\n"), "{opt:?}");
        let bare = run(&mut s, "");
        assert_eq!(bare.code, 1);
        assert!(bare.stderr.contains("For more details see sysctl(8)."));
    }

    #[test]
    fn all_and_patterns() {
        let mut s = Sysctls { ip_forward: true, ..Sysctls::default() };
        let all = run(&mut s, "-a").stdout;
        assert_eq!(all.lines().count(), KEYS.len());
        assert!(
            all.starts_with("net.ipv4.conf.all.arp_announce = 0\nnet.ipv4.conf.all.arp_ignore = 0\n"),
            "{all}"
        );
        assert!(all.contains("net.ipv4.ip_forward = 1\n"));
        assert_eq!(run(&mut s, "-a -r arp_").stdout.lines().count(), 2);
        assert_eq!(run(&mut s, "-a --pattern ipv4.ip_forward$").stdout, "net.ipv4.ip_forward = 1\n");
        assert_eq!(run(&mut s, "-a -r ^net.ipv4.vs").stdout.lines().count(), 3);
    }
}
