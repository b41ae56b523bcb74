//! Operations on a running cluster besides commands: netsim's own path view of a connection
//! (`trace`), and fault injection (stop a node, stop kube-proxy, delete a pod).
//!
//! The trace is rendered from the network's structured records: every packet of the
//! connection, hop by hop — interface, conntrack state, each hook with the rules that matched
//! (in iptables-save syntax), NAT before and after, the route used, the bridge port, and the
//! disposition that ended the packet.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::SimDuration;
use sim_core::TraceRecord;
use sim_net::conntrack::print::entry_line;
use sim_net::netfilter::NfStep;
use sim_net::network::{ConvProto, Conversation, NetTrace, RouteTrace};

use super::exec::{ExecOutput, disposition_name};
use super::facade::{Cluster, Target};
use crate::api::Kind;
use crate::apps::HttpRequest;

/// A parsed `trace` request: `FROM -> DEST[:PORT] [tcp|udp|icmp]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSpec {
    /// Where the connection starts (`pod/NAME`, `node/NAME`, `host/NAME`, or a bare name).
    pub from: String,
    /// Destination host name or address.
    pub dest: String,
    /// Destination port (ignored for ICMP).
    pub port: u16,
    /// Protocol.
    pub proto: ConvProto,
    /// `FROM -> NAME dns`: trace the name lookup (every query the resolver sends) instead.
    pub dns: bool,
}

impl TraceSpec {
    /// Parses `FROM -> DEST[:PORT] [tcp|udp|icmp]`.
    pub fn parse(s: &str) -> Result<TraceSpec, String> {
        let usage = || {
            format!("trace: expected `FROM -> DEST[:PORT] [tcp|udp|icmp]` or `FROM -> NAME dns`, got {s:?}")
        };
        let (from, rest) = s.split_once("->").ok_or_else(usage)?;
        let mut words = rest.split_whitespace();
        let dest = words.next().ok_or_else(usage)?;
        let mut dns = false;
        let proto = match words.next() {
            None | Some("tcp") => ConvProto::Tcp,
            Some("udp") => ConvProto::Udp,
            Some("icmp") => ConvProto::Icmp,
            Some("dns") => {
                dns = true;
                ConvProto::Udp
            }
            Some(_) => return Err(usage()),
        };
        if dns {
            if words.next().is_some() {
                return Err(usage());
            }
            return Ok(TraceSpec {
                from: from.trim().to_string(),
                dest: dest.to_string(),
                port: 53,
                proto,
                dns,
            });
        }
        if words.next().is_some() {
            return Err(usage());
        }
        let (host, port) = match dest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| usage())?),
            None if proto == ConvProto::Icmp => (dest, 0),
            None => (dest, 80),
        };
        Ok(TraceSpec { from: from.trim().to_string(), dest: host.to_string(), port, proto, dns })
    }
}

/// A traced connection: the destination address, the conversation, its packets' records.
pub type Traced = (Ipv4Addr, sim_net::network::ConvId, Conversation, Vec<TraceRecord<NetTrace>>);

impl Cluster {
    /// Runs one connection with tracing on and renders every packet's path.
    pub fn trace_line(&mut self, spec: &str) -> ExecOutput {
        let spec = match TraceSpec::parse(spec) {
            Ok(s) => s,
            Err(e) => return ExecOutput { stderr: format!("{e}\n"), exit_code: 2, ..Default::default() },
        };
        let target = match self.resolve_target(&spec.from) {
            Ok(t) => t,
            Err(e) => return ExecOutput { stderr: format!("{e}\n"), exit_code: 1, ..Default::default() },
        };
        if spec.dns {
            return self.trace_lookup(&target, &spec.dest);
        }
        self.trace(&target, &spec.dest, spec.port, spec.proto)
    }

    /// The lookup of `name` from `from`: the resolv.conf it uses, every query its resolver sends
    /// (each a UDP packet through the dataplane to the nameserver) with its answer, and the
    /// result — the "five queries an external name costs" view.
    pub fn trace_lookup(&mut self, from: &Target, name: &str) -> ExecOutput {
        let conf = self.resolv_conf(from);
        let result = match self.lookup(from, name) {
            Ok(r) => r,
            Err(e) => return ExecOutput { stderr: format!("{e}\n"), exit_code: 1, ..Default::default() },
        };
        let mut out = format!("lookup of {name} from {from}\n");
        for line in conf.render().lines() {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
        out.push_str(&crate::dns::tools::transcript(&result));
        let addrs: Vec<String> = result.addresses.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            out,
            "\nresult: {:?} after {} queries{}",
            result.status,
            result.transcript.len(),
            if addrs.is_empty() { String::new() } else { format!(": {}", addrs.join(", ")) }
        );
        ExecOutput { stdout: out, ..Default::default() }
    }

    /// Runs one connection from `from` to `dest:port` with tracing on; returns it and the
    /// trace records of its packets, or the output explaining why it could not start.
    pub fn traced(
        &mut self,
        from: &Target,
        dest: &str,
        port: u16,
        proto: ConvProto,
    ) -> Result<Traced, Box<ExecOutput>> {
        let Some(host) = self.host_of(from) else {
            return Err(Box::new(ExecOutput {
                stderr: format!("{from}: not running\n"),
                exit_code: 1,
                ..Default::default()
            }));
        };
        let ip = match dest.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => match self.lookup(from, dest).ok().and_then(|r| {
                r.addresses.iter().find_map(|a| match a {
                    std::net::IpAddr::V4(v) => Some(*v),
                    std::net::IpAddr::V6(_) => None,
                })
            }) {
                Some(ip) => ip,
                None => {
                    return Err(Box::new(ExecOutput {
                        stderr: format!("trace: cannot resolve {dest} from {from}\n"),
                        exit_code: 1,
                        ..Default::default()
                    }));
                }
            },
        };
        let payload = match proto {
            ConvProto::Tcp => HttpRequest::render("GET", &format!("{dest}:{port}"), "/", "curl/8.5.0"),
            ConvProto::Udp => b"ping\n".to_vec(),
            ConvProto::Icmp => Vec::new(),
        };
        let first_record = self.world().net.trace.records.len();
        self.world_mut().net.tracing = true;
        // UDP and ICMP: long enough for a neighbour-resolution failure's Destination Host
        // Unreachable (ARP_TIMEOUT, 3 s, then the way back) to arrive; the conversation ends
        // on its disposition, before this, whenever there is one.
        let timeout = if proto == ConvProto::Tcp {
            SimDuration::from_secs(10)
        } else {
            sim_net::network::ARP_TIMEOUT + SimDuration::from_secs(1)
        };
        let (id, mut conv) = self.converse(host, proto, SocketAddrV4::new(ip, port), payload, timeout);
        self.world_mut().net.tracing = false;
        // A proxy's second connection (an ingress controller to an endpoint) is part of the path.
        conv.packets = self.report(id, &conv).packets;
        let records: Vec<_> = self.world().net.trace.records[first_record..]
            .iter()
            .filter(|r| r.event.packet().is_none_or(|p| conv.packets.contains(&p)))
            .cloned()
            .collect();
        Ok((ip, id, conv, records))
    }

    /// Traces one connection from `from` to `dest:port`, rendered hop by hop.
    pub fn trace(&mut self, from: &Target, dest: &str, port: u16, proto: ConvProto) -> ExecOutput {
        let (ip, id, conv, records) = match self.traced(from, dest, port, proto) {
            Ok(t) => t,
            Err(o) => return *o,
        };
        let proto_name = match proto {
            ConvProto::Tcp => "tcp",
            ConvProto::Udp => "udp",
            ConvProto::Icmp => "icmp",
        };
        let mut out = String::new();
        let src = self.address_of(from).map(|a| a.to_string()).unwrap_or_default();
        let _ = writeln!(out, "trace: {from} ({src}) -> {dest} ({ip}:{port}) {proto_name}");
        let mut current = None;
        for r in &records {
            let ev = &r.event;
            if let Some(p) = ev.packet()
                && current != Some(p)
            {
                current = Some(p);
                let n = conv.packets.iter().position(|x| *x == p).map(|i| i + 1).unwrap_or(0);
                let _ = writeln!(out, "\npacket {n}:");
            }
            let t = format!("{:>12}", format!("{:.6}s", r.at.as_nanos() as f64 / 1e9));
            let name = |h| self.world().net.host_name(h).to_string();
            match ev {
                NetTrace::Sent { host, pkt, .. } => {
                    let _ = writeln!(out, "  {t} {}: sends {pkt}", name(*host));
                }
                NetTrace::Rx { host, iface, pkt, .. } => {
                    let _ = writeln!(out, "  {t} {}: received on {iface}: {pkt}", name(*host));
                }
                NetTrace::Conntrack { host, state, new, entry, .. } => {
                    let what = if *new { "NEW".to_string() } else { format!("{state:?}").to_uppercase() };
                    let line =
                        entry.as_ref().map(|e| format!(": {}", entry_line(e, r.at))).unwrap_or_default();
                    let _ = writeln!(out, "  {t} {}: conntrack {what}{line}", name(*host));
                }
                NetTrace::Hook { host, hook, verdict, steps, .. } => {
                    let matched: Vec<std::borrow::Cow<'_, str>> = steps
                        .iter()
                        .filter_map(|s| match s {
                            NfStep::RuleMatched { text, .. } => Some(text.as_str().into()),
                            NfStep::Nft(sim_net::nftables::NftStep::RuleMatched { text, .. }) => {
                                Some(text.as_str().into())
                            }
                            // The verdict-map element that chose the next chain (nftables).
                            NfStep::Nft(sim_net::nftables::NftStep::MapElement {
                                map,
                                element: Some(e),
                                ..
                            }) => Some(format!("  {map} element {e}").into()),
                            _ => None,
                        })
                        .collect();
                    if matched.is_empty() && matches!(verdict, sim_net::netfilter::HookVerdict::Accept) {
                        continue;
                    }
                    let v = match verdict {
                        sim_net::netfilter::HookVerdict::Accept => "ACCEPT".to_string(),
                        sim_net::netfilter::HookVerdict::Drop => "DROP".to_string(),
                        sim_net::netfilter::HookVerdict::Reject(w) => {
                            format!("REJECT --reject-with {}", sim_net::netfilter::rule::reject_with_name(*w))
                        }
                    };
                    let _ = writeln!(out, "  {t} {}: {} -> {v}", name(*host), hook.chain_name());
                    for m in matched {
                        let _ = writeln!(out, "  {:>12}     {m}", "");
                    }
                }
                NetTrace::Nat { host, manip, before, after, .. } => {
                    let _ = writeln!(
                        out,
                        "  {t} {}: {}NAT {before} => {after}",
                        name(*host),
                        match manip {
                            sim_net::nat::Manip::Src => "S",
                            sim_net::nat::Manip::Dst => "D",
                        }
                    );
                }
                NetTrace::Route { host, decision, .. } => {
                    let d = match decision {
                        RouteTrace::Local => "local".to_string(),
                        RouteTrace::Unicast(route) => route.to_string(),
                        RouteTrace::Multipath { .. } => decision.to_string(),
                        RouteTrace::Unreachable => "unreachable (no route)".to_string(),
                    };
                    let _ = writeln!(out, "  {t} {}: route: {d}", name(*host));
                }
                NetTrace::Bridge { host, bridge, in_port, out_port, .. } => {
                    let _ = writeln!(out, "  {t} {}: bridge {bridge}: {in_port} -> {out_port}", name(*host));
                }
                NetTrace::Tx { host, iface, next_hop, .. } => {
                    let _ = writeln!(out, "  {t} {}: sent on {iface} to {next_hop}", name(*host));
                }
                NetTrace::CtConfirmed { host, entry, .. } => {
                    let _ = writeln!(
                        out,
                        "  {t} {}: conntrack confirmed: {}",
                        name(*host),
                        entry_line(entry, r.at)
                    );
                }
                NetTrace::Ipvs { host, step, .. } => {
                    let _ = writeln!(out, "  {t} {}: {step}", name(*host));
                }
                NetTrace::KernelLog { host, message } => {
                    let _ = writeln!(out, "  {t} {}: kernel: {message}", name(*host));
                }
                NetTrace::Disposition { host, disposition, .. } => {
                    let _ = writeln!(out, "  {t} {}: => {}", name(*host), describe_disposition(disposition));
                }
            }
        }
        use sim_net::network::Outcome;
        let outcome = match &conv.outcome {
            Some(Outcome::Completed { .. }) => "completed".to_string(),
            Some(Outcome::Refused) => "connection refused (RST)".to_string(),
            Some(Outcome::Reset) => "connection reset".to_string(),
            Some(Outcome::Unreachable { icmp_type, code, from }) => {
                format!("ICMP type {icmp_type} code {code} ({}) from {from}", icmp_name(*icmp_type, *code))
            }
            Some(Outcome::TimedOut) => "timed out (no answer)".to_string(),
            Some(Outcome::NoRoute) => "no route to the destination (ENETUNREACH)".to_string(),
            Some(Outcome::Failed(why)) => format!("failed: {why}"),
            None => "no outcome".to_string(),
        };
        let served = conv
            .served_by
            .as_ref()
            .map(|s| format!(", served by {} which saw the client as {}", self.describe_host(s.host), s.peer))
            .unwrap_or_default();
        let _ = writeln!(out, "\nresult: {outcome}{served}");
        let connection = Some(self.report(id, &conv));
        ExecOutput { stdout: out, connection, ..Default::default() }
    }

    /// The same connection as a diagram: a Mermaid sequence diagram or a Graphviz graph of the
    /// hosts each packet crossed, labelled with the packet as it arrived (so NAT is visible).
    pub fn trace_diagram(
        &mut self,
        from: &Target,
        dest: &str,
        port: u16,
        proto: ConvProto,
        dot: bool,
    ) -> ExecOutput {
        let (_, _, conv, records) = match self.traced(from, dest, port, proto) {
            Ok(t) => t,
            Err(o) => return *o,
        };
        // (from host, to host, label) in order; a hop is a Tx followed by the next Rx of the
        // same packet on another host.
        let mut hops: Vec<(String, String, String)> = Vec::new();
        let mut last_host: std::collections::BTreeMap<sim_net::network::PacketId, String> =
            Default::default();
        let mut participants: Vec<String> = Vec::new();
        let name = |h| self.world().net.host_name(h).to_string();
        for r in &records {
            match &r.event {
                NetTrace::Sent { id, host, .. } => {
                    let n = name(*host);
                    if !participants.contains(&n) {
                        participants.push(n.clone());
                    }
                    last_host.insert(*id, n);
                }
                NetTrace::Rx { id, host, pkt, .. } => {
                    let n = name(*host);
                    if !participants.contains(&n) {
                        participants.push(n.clone());
                    }
                    if let Some(prev) = last_host.get(id)
                        && *prev != n
                    {
                        hops.push((prev.clone(), n.clone(), pkt.to_string()));
                    }
                    last_host.insert(*id, n);
                }
                _ => {}
            }
        }
        let esc = |s: &str| s.replace('"', "'");
        let mut out = String::new();
        if dot {
            out.push_str("digraph trace {\n  rankdir=LR;\n  node [shape=box];\n");
            for (i, p) in participants.iter().enumerate() {
                let _ = writeln!(out, "  h{i} [label=\"{}\"];", esc(p));
            }
            let idx = |n: &str| participants.iter().position(|p| p == n).unwrap_or(0);
            for (k, (a, b, l)) in hops.iter().enumerate() {
                let _ = writeln!(out, "  h{} -> h{} [label=\"{}. {}\"];", idx(a), idx(b), k + 1, esc(l));
            }
            out.push_str("}\n");
        } else {
            out.push_str("sequenceDiagram\n");
            for (i, p) in participants.iter().enumerate() {
                let _ = writeln!(out, "  participant h{i} as {}", esc(p));
            }
            let idx = |n: &str| participants.iter().position(|p| p == n).unwrap_or(0);
            for (a, b, l) in &hops {
                let _ = writeln!(out, "  h{}->>h{}: {}", idx(a), idx(b), esc(l).replace(':', "#58;"));
            }
        }
        let _ = conv;
        ExecOutput { stdout: out, ..Default::default() }
    }

    /// Injects a fault: `stop node/NAME`, `start node/NAME`, `stop kube-proxy/NAME`,
    /// `start kube-proxy/NAME`, `delete pod/NAME`.
    pub fn fault(&mut self, spec: &str) -> ExecOutput {
        let words: Vec<&str> = spec.split_whitespace().collect();
        let bad = |m: String| ExecOutput { stderr: format!("{m}\n"), exit_code: 2, ..Default::default() };
        let [verb, what] = words.as_slice() else {
            return bad(format!(
                "fault: expected `stop|start node/NAME`, `stop|start kube-proxy/NAME` or `delete pod/NAME`, got {spec:?}"
            ));
        };
        let now = self.now();
        if let Some(node) = what.strip_prefix("kube-proxy/") {
            let Some(i) = self.world().node_index(node) else { return bad(format!("fault: no node {node}")) };
            match *verb {
                "stop" => {
                    if let Some(n) = self.world_mut().nodes.get_mut(i) {
                        n.proxy.running = false;
                    }
                }
                "start" => {
                    if let Some(n) = self.world_mut().nodes.get_mut(i) {
                        n.proxy.running = true;
                    }
                    let (w, sched) = self.sim.split();
                    w.request_proxy_sync(i, now, sched);
                }
                _ => return bad(format!("fault: unknown action {verb:?} for kube-proxy (stop, start)")),
            }
            return ExecOutput::default();
        }
        if let Some(node) = what.strip_prefix("node/") {
            let Some(i) = self.world().node_index(node) else { return bad(format!("fault: no node {node}")) };
            let up = match *verb {
                "stop" => false,
                "start" => true,
                _ => return bad(format!("fault: unknown action {verb:?} for a node (stop, start)")),
            };
            let w = self.world_mut();
            let host = w.nodes[i].host;
            w.nodes[i].up = up;
            if let Ok(h) = w.net.host_mut(host) {
                let _ = h.set_up("eth0", up);
            }
            if up {
                w.controllers.node_up(node);
            } else {
                w.controllers.node_down(node, now);
            }
            self.kick();
            return ExecOutput::default();
        }
        if let Some(pod) = what.strip_prefix("pod/") {
            if *verb != "delete" {
                return bad(format!("fault: unknown action {verb:?} for a pod (delete)"));
            }
            let (ns, name) = pod.split_once('/').unwrap_or(("default", pod));
            let result = self.world_mut().api.delete(Kind::Pod, ns, name);
            self.kick();
            return match result {
                Ok(_) => ExecOutput { stdout: format!("pod \"{name}\" deleted\n"), ..Default::default() },
                Err(e) => ExecOutput { stderr: format!("{e:?}\n"), exit_code: 1, ..Default::default() },
            };
        }
        bad(format!("fault: unknown target {what:?}"))
    }
}

/// ICMP type/code names as tcpdump prints them.
fn icmp_name(t: u8, c: u8) -> &'static str {
    match (t, c) {
        (3, 0) => "net unreachable",
        (3, 1) => "host unreachable",
        (3, 3) => "port unreachable",
        (3, 9) | (3, 10) | (3, 13) => "administratively prohibited",
        (3, _) => "destination unreachable",
        (11, _) => "time exceeded",
        _ => "icmp",
    }
}

/// A disposition in words, naming the rule or chain when there is one.
pub fn describe_disposition(d: &sim_net::network::Disposition) -> String {
    use sim_net::network::{Delivery, Disposition as D};
    let name = disposition_name(d);
    match d {
        D::Delivered(Delivery::Socket { proto, local }) => format!("{name} to {proto} socket {local}"),
        D::Delivered(Delivery::Stack) => format!("{name} to the host's stack"),
        D::DroppedByRule(r) => {
            format!("{name} by rule {} of {} ({} table)", r.index, r.chain, r.table.name())
        }
        D::Rejected(r, w) => format!(
            "{name} by rule {} of {} ({} table) with {}",
            r.index,
            r.chain,
            r.table.name(),
            sim_net::netfilter::rule::reject_with_name(*w)
        ),
        D::DroppedByPolicy(t, c) => format!("{name} by the {c} policy ({} table)", t.name()),
        D::DroppedByNft(d) => format!("{name} by {d}"),
        D::RejectedByNft(d, w) => {
            format!("{name} by {d} with {}", sim_net::netfilter::rule::reject_with_name(*w))
        }
        _ => name.to_string(),
    }
}

/// How long `kubectl rollout status` and `kubectl wait` wait by default (`--timeout` default
/// of `kubectl wait` is 30s; rollout status waits for the progress deadline, 600s).
pub const KUBECTL_WAIT_LIMIT: SimDuration = SimDuration::from_secs(600);

/// Quotes a word for a shell command line, if it needs it.
fn shell_quote(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

impl Cluster {
    /// Runs `kubectl ARGS` (the words after `kubectl`) on the control plane. `-f` paths are
    /// relative to `base`. `exec` runs in the pod's namespace; `rollout status` and `wait`
    /// let simulated time pass until their condition holds.
    pub fn kubectl_line(&mut self, args: &str, base: &std::path::Path) -> ExecOutput {
        let line = format!("kubectl {args}");
        let base = base.to_path_buf();
        let read = move |p: &str| -> Result<String, String> {
            let path = base.join(p);
            std::fs::read_to_string(&path).map_err(|_| format!("error: the path \"{p}\" does not exist"))
        };
        let deadline = self.now() + KUBECTL_WAIT_LIMIT;
        let mut stdout = String::new();
        loop {
            let now = self.now();
            let events = self.world().controllers.events().to_vec();
            let result = {
                let w = self.world_mut();
                let mut k = crate::kubectl::Kubectl { store: &mut w.api, now, files: &read, events: &events };
                k.run(&line)
            };
            self.kick();
            match result {
                crate::kubectl::RunResult::Done(o) => {
                    if o.retry && self.now() < deadline {
                        for l in o.stdout.lines() {
                            if !stdout.lines().any(|x| x == l) {
                                stdout.push_str(l);
                                stdout.push('\n');
                            }
                        }
                        self.advance(SimDuration::from_secs(1));
                        continue;
                    }
                    // Only a retried `rollout status` / `wait` drops the lines it already
                    // printed; any other output (YAML repeats lines) passes through whole.
                    let final_out = if stdout.is_empty() {
                        o.stdout
                    } else {
                        let mut acc = stdout;
                        let seen: Vec<String> = acc.lines().map(String::from).collect();
                        for l in o.stdout.lines() {
                            if !seen.iter().any(|x| x == l) {
                                acc.push_str(l);
                                acc.push('\n');
                            }
                        }
                        if !o.stdout.is_empty() && !o.stdout.ends_with('\n') && acc.ends_with('\n') {
                            acc.pop();
                        }
                        acc
                    };
                    return ExecOutput {
                        stdout: final_out,
                        stderr: o.stderr,
                        exit_code: o.exit_code,
                        connection: None,
                    };
                }
                crate::kubectl::RunResult::Delegated(crate::kubectl::KubectlCommand::Exec {
                    pod,
                    namespace,
                    command,
                    ..
                }) => {
                    let ns = namespace.unwrap_or_else(|| "default".to_string());
                    let target = match self.resolve_target(&format!("pod/{ns}/{pod}")) {
                        Ok(t) => t,
                        Err(e) => {
                            return ExecOutput {
                                stderr: format!("{e}\n"),
                                exit_code: 1,
                                ..Default::default()
                            };
                        }
                    };
                    let cmd = command.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ");
                    let cmd = match command.as_slice() {
                        [sh, flag, script]
                            if (sh == "sh" || sh == "/bin/sh" || sh == "bash") && flag == "-c" =>
                        {
                            script.clone()
                        }
                        _ => cmd,
                    };
                    return self.exec(&target, &cmd);
                }
                crate::kubectl::RunResult::Delegated(other) => {
                    return ExecOutput {
                        stderr: format!("error: {} is not simulated\n", command_name(&other)),
                        exit_code: 1,
                        ..Default::default()
                    };
                }
            }
        }
    }
}

fn command_name(c: &crate::kubectl::KubectlCommand) -> &'static str {
    match c {
        crate::kubectl::KubectlCommand::Logs { .. } => "kubectl logs",
        crate::kubectl::KubectlCommand::PortForward { .. } => "kubectl port-forward",
        crate::kubectl::KubectlCommand::Cp { .. } => "kubectl cp",
        _ => "this kubectl command",
    }
}
