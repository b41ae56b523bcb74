//! `tcpdump` in a pod, on a node or on an external host, and the shell's background jobs that
//! make it usable in a discrete-event world.
//!
//! A capture is a tap on the namespace's interfaces ([`sim_net::capture`]); nothing is printed
//! until the capture ends, because a scenario step's output is one block:
//!
//! - `tcpdump -i eth0 -n port 80 &` starts a background job: bash's `[1] PID` and tcpdump's
//!   banner. Later steps make traffic. `kill %1` (or `kill PID`, `kill -INT %1`) on the same
//!   target stops it: the packets, the blank line tcpdump writes when a signal ends it, the
//!   statistics, and bash's `[1]+  Done ...` notice. `kill -9` prints bash's `Killed` and no
//!   statistics. A job that ends by itself (`-c N` reached, or `timeout SECS` over) is
//!   reported after the step during which it ended; jobs still running when the scenario ends
//!   are stopped as by `kill`. `jobs` lists a target's jobs.
//! - In the foreground, `timeout SECS tcpdump ...` runs for SECS of simulated time (traffic
//!   steps running meanwhile are captured) and exits 124 as timeout(1) does; `tcpdump -c N`
//!   runs until N packets are captured. A foreground capture that would wait longer than
//!   [`FOREGROUND_LIMIT`] is interrupted then, as if `^C` had been typed.
//!
//! Options: `-i IFACE|any`, `-n`, `-nn`, `-c N`, `-p` (no promiscuous mode: a bridge then shows
//! only what its own stack sends and receives), `-l` and `-U` (buffering: no effect here),
//! then a filter expression. Options tcpdump has but netsim does not simulate (`-e`, `-v`,
//! `-X`, `-w` ...) are refused by name. Without `-i` tcpdump takes the first interface that
//! is up and not loopback, as `pcap_findalldevs` orders them.

use sim_core::{SimDuration, SimTime};
use sim_net::capture::{CaptureId, CaptureIface, CaptureSpec, Filter, Names, PrintOptions, print};
use sim_net::iface::{HostId, IfaceKind};

use super::command::CommandError;
use super::exec::ExecOutput;
use super::facade::{Cluster, Target};

/// How long a foreground `tcpdump` waits for its packets before it is interrupted.
pub const FOREGROUND_LIMIT: SimDuration = SimDuration::from_secs(60);

/// A parsed `tcpdump` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpdumpArgs {
    /// `-i`.
    pub iface: Option<String>,
    /// `-n` / `-nn`.
    pub names: Names,
    /// `-c N`.
    pub count: Option<u64>,
    /// The filter expression's words.
    pub expression: Vec<String>,
    /// `timeout SECS` in front of it.
    pub timeout: Option<u64>,
    /// `-p`: do not put the interface in promiscuous mode.
    pub no_promiscuous: bool,
}

fn usage(message: String) -> CommandError {
    CommandError {
        message: format!(
            "{message}\ntcpdump version 4.99.3\nUsage: tcpdump [-AbdDefhHIJKlLnNOpqStuUvxX#] [ -B size ] [ -c count ]\n\t\t[ -i interface ] [ expression ] (netsim: -i, -n, -nn, -c, -p, -l, -U)"
        ),
        exit_code: 1,
    }
}

fn fail(message: String) -> CommandError {
    CommandError { message, exit_code: 1 }
}

/// Parses tcpdump's arguments (getopt style: `-ni eth0`, `-c5`, options anywhere).
pub fn parse_tcpdump(args: &[String]) -> Result<TcpdumpArgs, CommandError> {
    let mut t = TcpdumpArgs {
        iface: None,
        names: Names::Resolve,
        count: None,
        expression: vec![],
        timeout: None,
        no_promiscuous: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            t.expression.extend(it.by_ref().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = || value.clone().or_else(|| it.next().cloned());
            match name {
                "interface" => t.iface = value(),
                "no-promiscuous-mode" => t.no_promiscuous = true,
                "line-buffered" | "immediate-mode" => {}
                "count"
                | "number"
                | "help"
                | "version"
                | "list-interfaces"
                | "list-time-stamp-types"
                | "time-stamp-precision"
                | "time-stamp-type"
                | "direction"
                | "print"
                | "micro"
                | "nano"
                | "relinquish-privileges"
                | "monitor-mode"
                | "buffer-size"
                | "snapshot-length" => {
                    return Err(fail(format!(
                        "tcpdump: netsim does not simulate option --{name} (simulated: -i, -n, -nn, -c, -p, -l, -U)"
                    )));
                }
                _ => return Err(usage(format!("tcpdump: unrecognized option '--{name}'"))),
            }
            continue;
        }
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            t.expression.push(a.clone());
            continue;
        };
        let chars: Vec<char> = flags.chars().collect();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            match c {
                'n' => t.names = Names::Numeric,
                'l' | 'U' => {}
                'p' => t.no_promiscuous = true,
                'i' | 'c' => {
                    let rest: String = chars[i + 1..].iter().collect();
                    let value = if rest.is_empty() { it.next().cloned() } else { Some(rest) };
                    let Some(value) = value else {
                        return Err(usage(format!("tcpdump: option requires an argument -- '{c}'")));
                    };
                    if c == 'i' {
                        t.iface = Some(value);
                    } else {
                        t.count = Some(count(Some(value))?);
                    }
                    break;
                }
                'A' | 'b' | 'd' | 'D' | 'e' | 'f' | 'h' | 'H' | 'I' | 'J' | 'K' | 'L' | 'N' | 'O' | 'q'
                | 'S' | 't' | 'u' | 'v' | 'x' | 'X' | '#' | 'B' | 'C' | 'E' | 'F' | 'G' | 'j' | 'm' | 'M'
                | 'Q' | 'r' | 's' | 'T' | 'V' | 'w' | 'W' | 'y' | 'z' | 'Z' => {
                    return Err(fail(format!(
                        "tcpdump: netsim does not simulate option -{c} (simulated: -i, -n, -nn, -c, -p, -l, -U)"
                    )));
                }
                other => return Err(usage(format!("tcpdump: invalid option -- '{other}'"))),
            }
            i += 1;
        }
    }
    Ok(t)
}

fn count(v: Option<String>) -> Result<u64, CommandError> {
    let v = v.unwrap_or_default();
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(fail(format!("tcpdump: invalid packet count {v}"))),
    }
}

/// How the signal `kill` sends ends tcpdump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM, SIGINT, SIGHUP: tcpdump's `cleanup` prints the statistics and exits 0.
    Stop,
    /// SIGKILL: no statistics.
    Kill,
}

/// Which job `kill` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobRef {
    /// `%N`.
    Number(u32),
    /// `%%` / `%+`: the current job.
    Current,
    /// A process id.
    Pid(u32),
}

/// Parses `kill [-SIG | -s SIG] %N|PID...`.
pub fn parse_kill(args: &[String]) -> Result<(Signal, Vec<JobRef>), CommandError> {
    let mut signal = Signal::Stop;
    let mut jobs = Vec::new();
    let mut it = args.iter();
    let sig = |s: &str| -> Result<Signal, CommandError> {
        match s.trim_start_matches("SIG") {
            "TERM" | "15" | "INT" | "2" | "HUP" | "1" => Ok(Signal::Stop),
            "KILL" | "9" => Ok(Signal::Kill),
            other => Err(CommandError {
                message: format!("sh: kill: {other}: invalid signal specification"),
                exit_code: 1,
            }),
        }
    };
    while let Some(a) = it.next() {
        if a == "-s" || a == "-n" {
            let v = it.next().cloned().unwrap_or_default();
            signal = sig(&v)?;
        } else if let Some(s) = a.strip_prefix('-') {
            signal = sig(s)?;
        } else if a == "%%" || a == "%+" || a == "%" {
            jobs.push(JobRef::Current);
        } else if let Some(n) = a.strip_prefix('%') {
            let n = n
                .parse()
                .map_err(|_| CommandError { message: format!("sh: kill: {a}: no such job"), exit_code: 1 })?;
            jobs.push(JobRef::Number(n));
        } else {
            let pid = a.parse().map_err(|_| CommandError {
                message: format!("sh: kill: {a}: arguments must be process or job IDs"),
                exit_code: 1,
            })?;
            jobs.push(JobRef::Pid(pid));
        }
    }
    if jobs.is_empty() {
        return Err(CommandError {
            message: "kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ...".to_string(),
            exit_code: 2,
        });
    }
    Ok((signal, jobs))
}

/// A background job (only `tcpdump` runs in the background in netsim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Where it runs (the shell it belongs to).
    pub target: Target,
    /// Its job number (`%1`).
    pub number: u32,
    /// Its process id.
    pub pid: u32,
    /// The command line as typed, without the `&`.
    pub command: String,
    /// Its capture.
    pub capture: CaptureId,
    /// How it prints.
    pub opts: PrintOptions,
    /// Started under `timeout SECS` (which exits 124 when the time is over).
    pub timeout: bool,
}

/// The unquoted trailing `&` of a command line: the command without it.
pub fn background(line: &str) -> Option<&str> {
    let t = line.trim_end();
    let rest = t.strip_suffix('&')?;
    if rest.ends_with('&') || rest.ends_with('\\') {
        return None;
    }
    let quotes = |q: char| rest.chars().filter(|c| *c == q).count() % 2 == 0;
    (quotes('\'') && quotes('"')).then_some(rest.trim_end())
}

/// How a job ended, for its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// `-c` reached: tcpdump exits by itself.
    Count,
    /// A signal or the timeout: the blank line, then the statistics.
    Signal,
    /// SIGKILL.
    Killed,
}

impl Cluster {
    /// Runs `tcpdump` in the foreground, or as a background job when `background` holds its
    /// command line (without the `&`).
    pub(crate) fn tcpdump(
        &mut self,
        target: &Target,
        host: HostId,
        t: &TcpdumpArgs,
        background: Option<&str>,
    ) -> ExecOutput {
        let Some(h) = self.world().net.host(host) else { return ExecOutput::err("host is down", 1) };
        let iface = match t.iface.as_deref() {
            Some("any") => CaptureIface::Any,
            Some(name) => {
                if h.iface(name).is_none() {
                    return ExecOutput::err(
                        format!("tcpdump: {name}: No such device exists\n(No such device exists)"),
                        1,
                    );
                }
                CaptureIface::Named(name.to_string())
            }
            None => {
                let first = h.ifaces().find(|i| i.up && i.kind != IfaceKind::Loopback).or(h.ifaces().next());
                CaptureIface::Named(first.map_or_else(|| "lo".to_string(), |i| i.name.clone()))
            }
        };
        let filter = match Filter::parse(&t.expression) {
            Ok(f) => f,
            Err(e) => return ExecOutput::err(format!("tcpdump: {e}"), 1),
        };
        let now = self.now();
        let until = t.timeout.map(|s| now + SimDuration::from_secs(s));
        let banner = print::banner(&iface);
        let any = iface == CaptureIface::Any;
        let promiscuous = !any && !t.no_promiscuous;
        let spec = CaptureSpec { host, iface, filter, count: t.count, until, promiscuous };
        let capture = self.world_mut().net.start_capture(spec);
        let opts =
            PrintOptions { names: t.names, any, epoch_unix_secs: self.world().api.config().epoch_unix_secs };
        if let Some(command) = background {
            let number =
                self.jobs.iter().filter(|j| &j.target == target).map(|j| j.number).max().unwrap_or(0) + 1;
            self.next_pid += 1;
            let pid = self.next_pid;
            self.jobs.push(Job {
                target: target.clone(),
                number,
                pid,
                command: command.to_string(),
                capture,
                opts,
                timeout: t.timeout.is_some(),
            });
            return ExecOutput { stderr: format!("[{number}] {pid}\n{banner}"), ..Default::default() };
        }
        // Foreground: run the world until the capture ends or the limit.
        let deadline = until.unwrap_or(now + FOREGROUND_LIMIT);
        loop {
            if self.world().net.capture(capture).is_some_and(|c| c.stopped.is_some()) {
                break;
            }
            match self.sim.scheduler().next_time() {
                Some(at) if at <= deadline => {
                    self.sim.step();
                }
                _ => {
                    self.sim.run_until(deadline);
                    break;
                }
            }
        }
        let by_count = self.world().net.capture(capture).is_some_and(|c| c.stopped.is_some());
        let at = self.now();
        self.world_mut().net.stop_capture(capture, at);
        let ending = if by_count { Ending::Count } else { Ending::Signal };
        let mut out = self.capture_output(capture, &opts, ending);
        // On a terminal the banner comes first, the statistics last; an interrupted capture
        // shows the ^C the terminal echoed before tcpdump's closing newline.
        let mut shown = out.stdout.clone();
        if !by_count {
            if until.is_some() {
                out.exit_code = 124;
            } else {
                shown.insert_str(shown.len().saturating_sub(1), "^C");
            }
        }
        out.terminal = Some(format!("{banner}{shown}{}", out.stderr));
        out.stderr = format!("{banner}{}", out.stderr);
        out
    }

    fn capture_output(&self, capture: CaptureId, opts: &PrintOptions, ending: Ending) -> ExecOutput {
        let net = &self.world().net;
        let mut stdout = net.capture_lines(capture, opts);
        let mut stderr = String::new();
        if ending != Ending::Killed {
            if ending == Ending::Signal {
                stdout.push('\n');
            }
            if let Some(c) = net.capture(capture) {
                stderr.push_str(&print::statistics(c));
            }
        }
        ExecOutput { stdout, stderr, ..Default::default() }
    }

    /// The output of a finished job: its packets, statistics and bash's notice.
    fn job_output(&mut self, index: usize, ending: Ending, at: SimTime) -> ExecOutput {
        let job = self.jobs.remove(index);
        self.world_mut().net.stop_capture(job.capture, at);
        let mut out = self.capture_output(job.capture, &job.opts, ending);
        let others: Vec<u32> =
            self.jobs.iter().filter(|j| j.target == job.target).map(|j| j.number).collect();
        let mark = if others.iter().all(|n| *n < job.number) {
            '+'
        } else if others.iter().filter(|n| **n > job.number).count() == 1 {
            '-'
        } else {
            ' '
        };
        let status = match ending {
            Ending::Killed => "Killed".to_string(),
            _ if job.timeout && ending == Ending::Signal => "Exit 124".to_string(),
            _ => "Done".to_string(),
        };
        out.stderr.push_str(&format!("[{}]{mark}  {status:<24}{}\n", job.number, job.command));
        out
    }

    /// `kill [-SIG] %N|PID...` on `target`.
    pub(crate) fn kill(&mut self, target: &Target, args: &[String]) -> ExecOutput {
        let (signal, refs) = match parse_kill(args) {
            Ok(x) => x,
            Err(e) => return ExecOutput::err(e.message, e.exit_code),
        };
        let mut out = ExecOutput::default();
        for r in refs {
            let mine: Vec<usize> =
                self.jobs.iter().enumerate().filter(|(_, j)| &j.target == target).map(|(i, _)| i).collect();
            let found = match r {
                JobRef::Number(n) => mine.iter().copied().find(|i| self.jobs[*i].number == n),
                JobRef::Current => mine.iter().copied().max_by_key(|i| self.jobs[*i].number),
                JobRef::Pid(p) => mine.iter().copied().find(|i| self.jobs[*i].pid == p),
            };
            let Some(i) = found else {
                let what = match r {
                    JobRef::Number(n) => format!("sh: kill: %{n}: no such job"),
                    JobRef::Current => "sh: kill: current: no such job".to_string(),
                    JobRef::Pid(p) => format!("sh: kill: ({p}) - No such process"),
                };
                out.stderr.push_str(&what);
                out.stderr.push('\n');
                out.exit_code = 1;
                continue;
            };
            let now = self.now();
            let c = self.world().net.capture(self.jobs[i].capture);
            let ended = c.and_then(|c| c.ended_by(now));
            let ending = if c.is_some_and(|c| c.stopped.is_some()) {
                // `-c` was reached before the signal: tcpdump had exited by itself.
                Ending::Count
            } else if ended.is_some() || signal == Signal::Stop {
                Ending::Signal
            } else {
                Ending::Killed
            };
            let o = self.job_output(i, ending, ended.unwrap_or(now));
            out.stdout.push_str(&o.stdout);
            out.stderr.push_str(&o.stderr);
        }
        out
    }

    /// `jobs` on `target`.
    pub(crate) fn jobs_list(&self, target: &Target) -> ExecOutput {
        let now = self.now();
        let mine: Vec<&Job> = self.jobs.iter().filter(|j| &j.target == target).collect();
        let n = mine.len();
        let mut s = String::new();
        for (k, j) in mine.iter().enumerate() {
            let mark = if k + 1 == n {
                '+'
            } else if k + 2 == n {
                '-'
            } else {
                ' '
            };
            let done = self.world().net.capture(j.capture).and_then(|c| c.ended_by(now)).is_some();
            let status = if done { "Done" } else { "Running" };
            s.push_str(&format!("[{}]{mark}  {status:<24}{} &\n", j.number, j.command));
        }
        ExecOutput::out(s)
    }

    /// Background jobs that ended by themselves by now (`-c` reached, `timeout` over), with
    /// what they printed, in start order. They are removed from the job table.
    pub fn finished_jobs(&mut self) -> Vec<(Target, ExecOutput)> {
        let now = self.now();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(j) = self.jobs.get(i) {
            let c = self.world().net.capture(j.capture);
            match c.and_then(|c| c.ended_by(now)) {
                Some(at) => {
                    let by_count = c.is_some_and(|c| c.stopped.is_some());
                    let target = j.target.clone();
                    let o = self.job_output(i, if by_count { Ending::Count } else { Ending::Signal }, at);
                    out.push((target, o));
                }
                None => i += 1,
            }
        }
        out
    }

    /// Stops every background job still running (the end of a scenario), as `kill` does.
    pub fn stop_jobs(&mut self) -> Vec<(Target, ExecOutput)> {
        let mut out = self.finished_jobs();
        let now = self.now();
        while !self.jobs.is_empty() {
            let target = self.jobs[0].target.clone();
            let o = self.job_output(0, Ending::Signal, now);
            out.push((target, o));
        }
        out
    }

    /// The command lines of the background jobs still in the table, with their targets.
    pub fn running_jobs(&self) -> Vec<(Target, String)> {
        self.jobs.iter().map(|j| (j.target.clone(), j.command.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn options_as_getopt_reads_them() {
        let t = parse_tcpdump(&words("-ni eth0 -c5 port 80")).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(t.iface.as_deref(), Some("eth0"));
        assert_eq!((t.names, t.count), (Names::Numeric, Some(5)));
        assert_eq!(t.expression, words("port 80"));
        let t = parse_tcpdump(&words("port 53 -i any -nn")).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!((t.iface.as_deref(), t.expression.len()), (Some("any"), 2));
        assert_eq!(
            parse_tcpdump(&words("-c 0")).map_err(|e| e.message),
            Err("tcpdump: invalid packet count 0".into())
        );
        assert!(
            parse_tcpdump(&words("-X")).is_err_and(|e| e.message.contains("does not simulate option -X"))
        );
        assert!(
            parse_tcpdump(&words("-i"))
                .is_err_and(|e| e.message.starts_with("tcpdump: option requires an argument -- 'i'"))
        );
    }

    #[test]
    fn kill_and_background() {
        assert_eq!(
            parse_kill(&words("%1")).map_err(|e| e.message),
            Ok((Signal::Stop, vec![JobRef::Number(1)]))
        );
        assert_eq!(
            parse_kill(&words("-9 4001")).map_err(|e| e.message),
            Ok((Signal::Kill, vec![JobRef::Pid(4001)]))
        );
        assert_eq!(
            parse_kill(&words("-s INT %%")).map_err(|e| e.message),
            Ok((Signal::Stop, vec![JobRef::Current]))
        );
        assert_eq!(background("tcpdump -i eth0 -n &"), Some("tcpdump -i eth0 -n"));
        assert_eq!(background("a && b"), None);
        assert_eq!(background("echo '&'"), None);
    }
}
