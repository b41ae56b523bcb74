//! The report of a `traffic:` step: counts per outcome (served by which pod, refused, reset,
//! unreachable, timed out, blackholed) over the whole run and per time bucket, the text
//! timeline the transcript shows with the scenario's events marked at their instants, the
//! traffic expectations (`maxFailures`, `allServedBy`, `noneServedBy`, in an optional
//! `window`), and the SVG picture (`--plots DIR`, [`crate::plot`]).
//!
//! Buckets are by request start time, relative to the traffic's start; every count is an
//! integer and every list has a fixed order (servers by first answer, then the failure
//! outcomes in [`FAILURES`] order), so the report is a pure function of the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim_core::{SimDuration, SimTime};
use sim_k8s::cluster::traffic::{Request, RequestOutcome};

use crate::scenario::{Expect, Traffic, parse_window};

/// The failure outcomes, in the order the report lists them, with their column headings.
pub const FAILURES: [(&str, &str); 6] = [
    ("refused", "refused"),
    ("reset", "reset"),
    ("unreachable", "unreach"),
    ("timed out", "timeout"),
    ("blackholed", "blackhole"),
    ("not sent", "notsent"),
];

/// An instant in the scenario worth marking on the timeline (a step that ran meanwhile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// When the step ran.
    pub at: SimTime,
    /// What it was (`kubectl rollout restart deployment/web`).
    pub label: String,
}

/// The counts of one run, ready to print or plot.
#[derive(Clone, Debug)]
pub struct Report {
    /// The traffic step.
    pub traffic: Traffic,
    /// When the first request started.
    pub started: SimTime,
    /// Servers in order of their first answer.
    pub servers: Vec<String>,
    /// Per bucket: counts per column (servers, then [`FAILURES`]), plus pending last.
    pub buckets: Vec<Vec<u64>>,
    /// Totals per column.
    pub totals: Vec<u64>,
    /// Steps that ran while the traffic did.
    pub marks: Vec<Mark>,
    /// Every request, in start order.
    pub requests: Vec<Request>,
    /// Per bucket: served requests whose connection needed a SYN retransmission (a subset of
    /// the served columns).
    pub slow: Vec<u64>,
}

fn failure_index(o: &RequestOutcome) -> Option<usize> {
    let label = o.label();
    FAILURES.iter().position(|(name, _)| *name == label)
}

/// `HH:MM:SS.mmm` of simulated time.
pub fn clock(now: SimTime) -> String {
    let ms = now.as_nanos() / 1_000_000;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000)
}

/// A short duration: `20ms`, `1s`, `1.5s`.
fn short(d: SimDuration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}.{}s", ms / 1000, format!("{:03}", ms % 1000).trim_end_matches('0'))
    }
}

impl Report {
    /// Counts `requests` (in start order) of a run that started at `started`.
    pub fn new(traffic: &Traffic, started: SimTime, requests: Vec<Request>, marks: Vec<Mark>) -> Report {
        let mut servers: Vec<String> = Vec::new();
        for r in &requests {
            if let RequestOutcome::Served(by) = &r.outcome
                && !servers.contains(by)
            {
                servers.push(by.clone());
            }
        }
        let columns = servers.len() + FAILURES.len() + 1;
        let width = traffic.bucket.as_nanos().max(1);
        let n_buckets = traffic.duration.as_nanos().div_ceil(width).max(1) as usize;
        let mut buckets = vec![vec![0u64; columns]; n_buckets];
        let mut totals = vec![0u64; columns];
        let mut slow = vec![0u64; n_buckets];
        let index: BTreeMap<&str, usize> = servers.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        for r in &requests {
            let col = match &r.outcome {
                RequestOutcome::Served(by) => index.get(by.as_str()).copied().unwrap_or(0),
                RequestOutcome::Pending => columns - 1,
                other => servers.len() + failure_index(other).unwrap_or(0),
            };
            let b = (r.at.saturating_since(started).as_nanos() / width) as usize;
            if let Some(row) = buckets.get_mut(b.min(n_buckets - 1)) {
                row[col] += 1;
            }
            if r.outcome.served() && r.syn_retransmits > 0 {
                slow[b.min(n_buckets - 1)] += 1;
            }
            totals[col] += 1;
        }
        Report { traffic: traffic.clone(), started, servers, buckets, totals, marks, requests, slow }
    }

    /// Requests answered.
    pub fn served(&self) -> u64 {
        self.totals[..self.servers.len()].iter().sum()
    }

    /// Requests not answered (failures and still pending).
    pub fn failed(&self) -> u64 {
        self.totals[self.servers.len()..].iter().sum()
    }

    fn letter(i: usize) -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        match LETTERS.get(i) {
            Some(c) => (*c as char).to_string(),
            None => format!("s{i}"),
        }
    }

    /// The transcript's text: totals per outcome, then the timeline, one row per bucket, with
    /// the steps that ran meanwhile marked before the bucket they fell in.
    pub fn render(&self, finished: SimTime) -> String {
        let t = &self.traffic;
        let mut out = String::new();
        let total = self.requests.len() as u64;
        let _ = writeln!(
            out,
            "traffic {}: {} requests from {} to {}, {} served, {} failed (finished {})",
            t.name,
            total,
            clock(self.started),
            t.to,
            self.served(),
            self.failed(),
            clock(finished)
        );
        let n = self.servers.len();
        let mut names: Vec<(String, String, u64)> = Vec::new();
        for (i, s) in self.servers.iter().enumerate() {
            names.push((Self::letter(i), format!("served by {s}"), self.totals[i]));
        }
        for (j, (name, _)) in FAILURES.iter().enumerate() {
            if self.totals[n + j] > 0 {
                names.push((String::new(), (*name).to_string(), self.totals[n + j]));
            }
        }
        if self.totals[n + FAILURES.len()] > 0 {
            names.push((String::new(), "pending".to_string(), self.totals[n + FAILURES.len()]));
        }
        // Served, but only after the SYN was sent again (1 s, 2 s, ... later): listed, and a
        // `slow` column, only when it happened.
        let slow: u64 = self.slow.iter().sum();
        let slow_label = "of them slow (SYN retransmitted)";
        let mut wide = names.iter().map(|(_, l, _)| l.len()).max().unwrap_or(0);
        if slow > 0 {
            wide = wide.max(slow_label.len());
        }
        for (i, (letter, label, count)) in names.iter().enumerate() {
            let tag = if letter.is_empty() { "  ".to_string() } else { format!("{letter} ") };
            let _ = writeln!(out, "  {tag}{label:<wide$}  {count:>6}");
            if i + 1 == n && slow > 0 {
                let _ = writeln!(out, "    {slow_label:<wide$}  {slow:>6}");
            }
        }
        // Columns: the servers (by letter), then each failure outcome that occurred.
        let mut cols: Vec<(String, usize)> = (0..n).map(|i| (Self::letter(i), i)).collect();
        // The `slow` column's index: one past every real column.
        let slow_col = n + FAILURES.len() + 1;
        if slow > 0 {
            cols.push(("slow".to_string(), slow_col));
        }
        for (j, (_, head)) in FAILURES.iter().enumerate() {
            if self.totals[n + j] > 0 {
                cols.push(((*head).to_string(), n + j));
            }
        }
        if self.totals[n + FAILURES.len()] > 0 {
            cols.push(("pending".to_string(), n + FAILURES.len()));
        }
        let num_w = self.buckets.iter().flatten().max().map_or(1, |m| m.to_string().len());
        let widths: Vec<usize> = cols.iter().map(|(h, _)| h.len().max(num_w)).collect();
        let mut head = format!("  {:<12}  {:>w$}", "time", "sent", w = num_w.max(4));
        for ((h, _), w) in cols.iter().zip(&widths) {
            let _ = write!(head, "  {h:>w$}");
        }
        let _ = writeln!(out, "{}", head.trim_end());
        let width = t.bucket;
        let mut marks = self.marks.iter().peekable();
        for (b, row) in self.buckets.iter().enumerate() {
            let from = self.started + SimDuration::from_nanos(width.as_nanos() * b as u64);
            let to = from + width;
            // A mark at the bucket's start (or before) comes above its row, one inside it below.
            while let Some(m) = marks.next_if(|m| m.at <= from) {
                let _ = writeln!(out, "  ---- {} {}", clock(m.at), m.label);
            }
            let sent: u64 = row.iter().sum();
            let mut line = format!("  {:<12}  {:>w$}", clock(from), sent, w = num_w.max(4));
            for ((_, c), w) in cols.iter().zip(&widths) {
                let v = if *c == slow_col { self.slow[b] } else { row[*c] };
                let cell = if v == 0 { ".".to_string() } else { v.to_string() };
                let _ = write!(line, "  {cell:>w$}");
            }
            let _ = writeln!(out, "{line}");
            while let Some(m) = marks.next_if(|m| m.at < to) {
                let _ = writeln!(out, "  ---- {} {}", clock(m.at), m.label);
            }
        }
        for m in marks {
            let _ = writeln!(out, "  ---- {} {}", clock(m.at), m.label);
        }
        out
    }

    /// The traffic expectations of `e` against this run; what failed, one message each.
    pub fn check(&self, e: &Expect) -> Vec<String> {
        let mut f = Vec::new();
        let window = e.window.as_deref().and_then(parse_window);
        let in_window = |r: &&Request| match window {
            None => true,
            Some((a, b)) => {
                let off = r.at.saturating_since(self.started);
                off >= a && b.is_none_or(|b| off < b)
            }
        };
        let scope = match e.window.as_deref() {
            Some(w) => format!(" in {w}"),
            None => String::new(),
        };
        let picked: Vec<&Request> = self.requests.iter().filter(in_window).collect();
        let failed = picked.iter().filter(|r| !r.outcome.served()).count() as u64;
        if let Some(max) = e.max_failures
            && failed > max
        {
            f.push(format!(
                "expected at most {max} failed requests{scope}, {failed} failed ({})",
                self.breakdown(&picked, |o| !o.served())
            ));
        }
        if let Some(want) = &e.all_served_by {
            let others: Vec<&&Request> = picked
                .iter()
                .filter(
                    |r| !matches!(&r.outcome, RequestOutcome::Served(by) if by.starts_with(want.as_str())),
                )
                .collect();
            if !others.is_empty() {
                f.push(format!(
                    "expected every request{scope} to be served by {want}, {} were not ({})",
                    others.len(),
                    self.breakdown(
                        &picked,
                        |o| !matches!(o, RequestOutcome::Served(by) if by.starts_with(want.as_str()))
                    )
                ));
            }
        }
        if let Some(not) = &e.none_served_by {
            let hits = picked
                .iter()
                .filter(|r| matches!(&r.outcome, RequestOutcome::Served(by) if by.starts_with(not.as_str())))
                .count();
            if hits > 0 {
                f.push(format!(
                    "expected no request{scope} to be served by {not}, {hits} were ({})",
                    self.breakdown(
                        &picked,
                        |o| matches!(o, RequestOutcome::Served(by) if by.starts_with(not.as_str()))
                    )
                ));
            }
        }
        f
    }

    /// `refused 3, timed out 2` over the requests whose outcome `pick` selects.
    fn breakdown(&self, requests: &[&Request], pick: impl Fn(&RequestOutcome) -> bool) -> String {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for r in requests.iter().filter(|r| pick(&r.outcome)) {
            *counts.entry(r.outcome.label().to_string()).or_default() += 1;
        }
        counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    }
}

/// The line a traffic step starts with in the transcript.
pub fn start_line(t: &Traffic) -> String {
    let proto = match t.proto {
        sim_net::network::ConvProto::Udp => "udp",
        _ => "tcp",
    };
    let per = match t.per.as_nanos() {
        1_000_000_000 => "s".to_string(),
        60_000_000_000 => "m".to_string(),
        _ => short(t.per),
    };
    let mut s = format!(
        "$ netsim traffic {}: {} -> {} {proto}, {}/{per} for {}",
        t.name,
        t.from,
        t.to,
        t.count,
        short(t.duration)
    );
    if let Some(p) = t.src_port {
        let _ = write!(s, ", source port {p}");
    }
    if let Some(q) = &t.query {
        let _ = write!(s, ", DNS query A {q}");
    }
    if let sim_k8s::cluster::traffic::Connection::Persistent { reconnect } = t.connection {
        s.push_str(if reconnect {
            ", one persistent connection (reconnecting)"
        } else {
            ", one persistent connection"
        });
    }
    let _ = write!(s, ", timeout {}", short(t.timeout));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        assert_eq!(short(SimDuration::from_millis(20)), "20ms");
        assert_eq!(short(SimDuration::from_secs(60)), "60s");
        assert_eq!(short(SimDuration::from_millis(1500)), "1.5s");
    }
}
