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
use sim_net::network::{ConvProto, Conversation, NetTrace};

use super::exec::{ExecOutput, disposition_name};
use super::facade::{Cluster, Target};
use super::trace_report::{PacketSelection, TraceDetail, TraceReport, TraceRequest};
use crate::api::Kind;
use crate::apps::HttpRequest;

/// A parsed `trace` request: `FROM -> DEST[:PORT] [tcp|udp|icmp] [--detail D] [--packet P]`.
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
    /// How much of each packet to print after the summary.
    pub detail: TraceDetail,
    /// Which packets to print.
    pub packets: PacketSelection,
}

impl TraceSpec {
    /// Parses `FROM -> DEST[:PORT] [tcp|udp|icmp] [--detail summary|hops|rules]
    /// [--packet first|N|all]`.
    pub fn parse(s: &str) -> Result<TraceSpec, String> {
        let usage = || {
            format!(
                "trace: expected `FROM -> DEST[:PORT] [tcp|udp|icmp] [--detail summary|hops|rules] [--packet first|N|all]` or `FROM -> NAME dns`, got {s:?}"
            )
        };
        let (from, rest) = s.split_once("->").ok_or_else(usage)?;
        let mut words = rest.split_whitespace();
        let dest = words.next().ok_or_else(usage)?;
        let mut dns = false;
        let mut proto = None;
        let mut detail = TraceDetail::default();
        let mut packets = PacketSelection::default();
        while let Some(w) = words.next() {
            match w {
                "tcp" | "udp" | "icmp" | "dns" if proto.is_none() && !dns => {
                    proto = Some(match w {
                        "udp" => ConvProto::Udp,
                        "icmp" => ConvProto::Icmp,
                        "dns" => {
                            dns = true;
                            ConvProto::Udp
                        }
                        _ => ConvProto::Tcp,
                    });
                }
                "--detail" => {
                    detail = words
                        .next()
                        .and_then(TraceDetail::parse)
                        .ok_or_else(|| "trace: --detail expects summary, hops or rules".to_string())?;
                }
                "--packet" => {
                    packets = words.next().and_then(PacketSelection::parse).ok_or_else(|| {
                        "trace: --packet expects first, all or a packet number (1, 2, ...)".to_string()
                    })?;
                }
                _ => return Err(usage()),
            }
        }
        let proto = proto.unwrap_or(ConvProto::Tcp);
        if dns {
            return Ok(TraceSpec {
                from: from.trim().to_string(),
                dest: dest.to_string(),
                port: 53,
                proto,
                dns,
                detail,
                packets,
            });
        }
        let (host, port) = match dest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| usage())?),
            None if proto == ConvProto::Icmp => (dest, 0),
            None => (dest, 80),
        };
        Ok(TraceSpec {
            from: from.trim().to_string(),
            dest: host.to_string(),
            port,
            proto,
            dns,
            detail,
            packets,
        })
    }
}

/// A traced connection: the destination address, the conversation, its packets' records.
pub type Traced = (Ipv4Addr, sim_net::network::ConvId, Conversation, Vec<TraceRecord<NetTrace>>);

impl Cluster {
    /// Runs one connection with tracing on and renders every packet's path.
    pub fn trace_line(&mut self, spec: &str) -> ExecOutput {
        self.trace_line_report(spec).0
    }

    /// [`Cluster::trace_line`], with the structured report of the connection (none for a
    /// `--dns` lookup or a trace that could not start).
    pub fn trace_line_report(&mut self, spec: &str) -> (ExecOutput, Option<TraceReport>) {
        let spec = match TraceSpec::parse(spec) {
            Ok(s) => s,
            Err(e) => {
                return (ExecOutput { stderr: format!("{e}\n"), exit_code: 2, ..Default::default() }, None);
            }
        };
        let target = match self.resolve_target(&spec.from) {
            Ok(t) => t,
            Err(e) => {
                return (ExecOutput { stderr: format!("{e}\n"), exit_code: 1, ..Default::default() }, None);
            }
        };
        if spec.dns {
            return (self.trace_lookup(&target, &spec.dest), None);
        }
        self.trace_with(&target, &spec.dest, spec.port, spec.proto, spec.detail, spec.packets)
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
            "\nresult: {:?} after {} queries in {}{}",
            result.status,
            result.queries_sent(),
            {
                let ms = result.elapsed_ms();
                format!("{}.{:03}s", ms / 1000, ms % 1000)
            },
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
            ConvProto::Udp | ConvProto::Sctp => b"ping\n".to_vec(),
            ConvProto::Icmp => Vec::new(),
        };
        let first_record = self.world().net.trace.records.len();
        self.world_mut().net.tracing = true;
        // UDP and ICMP: long enough for a neighbour-resolution failure's Destination Host
        // Unreachable (ARP_TIMEOUT, 3 s, then the way back) to arrive; the trace ends before
        // that on an outcome, or as soon as the packets' fate is final (a datagram a rule
        // dropped: `fate_is_final`).
        let timeout = if proto == ConvProto::Tcp {
            SimDuration::from_secs(10)
        } else if proto == ConvProto::Sctp {
            // INIT, then its first retransmission after `rto_initial` (3 s) and one more RTO.
            SimDuration::from_secs(10)
        } else {
            sim_net::network::ARP_TIMEOUT + SimDuration::from_secs(1)
        };
        let (id, mut conv) =
            self.converse_until_final(host, proto, SocketAddrV4::new(ip, port), payload, timeout);
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

    /// Traces one connection from `from` to `dest:port`, rendered with the summary first
    /// and every packet's steps (the default detail).
    pub fn trace(&mut self, from: &Target, dest: &str, port: u16, proto: ConvProto) -> ExecOutput {
        self.trace_with(from, dest, port, proto, TraceDetail::default(), PacketSelection::default()).0
    }

    /// Traces one connection; the text at `detail` for the `which` packets, and the
    /// structured report it was rendered from (none if the connection could not start).
    pub fn trace_with(
        &mut self,
        from: &Target,
        dest: &str,
        port: u16,
        proto: ConvProto,
        detail: TraceDetail,
        which: PacketSelection,
    ) -> (ExecOutput, Option<TraceReport>) {
        let (ip, id, conv, records) = match self.traced(from, dest, port, proto) {
            Ok(t) => t,
            Err(o) => return (*o, None),
        };
        let proto_name = match proto {
            ConvProto::Tcp => "tcp",
            ConvProto::Udp => "udp",
            ConvProto::Icmp => "icmp",
            ConvProto::Sctp => "sctp",
        };
        let req = TraceRequest { from, dest, destination: SocketAddrV4::new(ip, port), proto: proto_name };
        let report = self.trace_report(&req, &conv, &records);
        let stdout = report.render_text(detail, which);
        let connection = Some(self.report(id, &conv));
        (ExecOutput { stdout, connection, ..Default::default() }, Some(report))
    }

    /// The same connection as a diagram: a Mermaid sequence diagram or a Graphviz graph of the
    /// hosts each packet crossed, labelled with the packet as it arrived, and where DNAT, SNAT,
    /// un-DNAT and un-SNAT happened (a Mermaid note over the host, a second label line in dot).
    pub fn trace_diagram(
        &mut self,
        from: &Target,
        dest: &str,
        port: u16,
        proto: ConvProto,
        dot: bool,
    ) -> ExecOutput {
        let (ip, _, conv, records) = match self.traced(from, dest, port, proto) {
            Ok(t) => t,
            Err(o) => return *o,
        };
        let proto_name = match proto {
            ConvProto::Tcp => "tcp",
            ConvProto::Udp => "udp",
            ConvProto::Icmp => "icmp",
            ConvProto::Sctp => "sctp",
        };
        let req = TraceRequest { from, dest, destination: SocketAddrV4::new(ip, port), proto: proto_name };
        let report = self.trace_report(&req, &conv, &records);
        // (from host, to host, label, NAT done on arrival) in order: a hop is the packet moving
        // from one host to the next, labelled with its header as it arrived there.
        let mut hops: Vec<(String, String, String, Vec<String>)> = Vec::new();
        let mut participants: Vec<String> = Vec::new();
        for p in &report.packets {
            for (k, h) in p.hops.iter().enumerate() {
                if !participants.contains(&h.host) {
                    participants.push(h.host.clone());
                }
                let nat: Vec<String> = h
                    .steps
                    .iter()
                    .filter_map(|s| match s {
                        super::trace_report::TraceStep::Nat { nat, .. } => {
                            Some(format!("{} {} -> {}", nat.kind.label(), nat.before, nat.after))
                        }
                        _ => None,
                    })
                    .collect();
                match k.checked_sub(1).and_then(|i| p.hops.get(i)) {
                    Some(prev) if prev.host != h.host => {
                        hops.push((prev.host.clone(), h.host.clone(), h.header.clone(), nat))
                    }
                    // NAT where the packet was sent (or on a host it re-entered) is noted too.
                    _ if !nat.is_empty() => hops.push((h.host.clone(), h.host.clone(), String::new(), nat)),
                    _ => {}
                }
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
            for (k, (a, b, l, nat)) in hops.iter().enumerate() {
                let label =
                    if nat.is_empty() { esc(l) } else { format!("{}\\n{}", esc(l), esc(&nat.join("\\n"))) };
                let _ = writeln!(out, "  h{} -> h{} [label=\"{}. {}\"];", idx(a), idx(b), k + 1, label);
            }
            out.push_str("}\n");
        } else {
            out.push_str("sequenceDiagram\n");
            for (i, p) in participants.iter().enumerate() {
                let _ = writeln!(out, "  participant h{i} as {}", esc(p));
            }
            let idx = |n: &str| participants.iter().position(|p| p == n).unwrap_or(0);
            for (a, b, l, nat) in &hops {
                if a != b {
                    let _ = writeln!(out, "  h{}->>h{}: {}", idx(a), idx(b), esc(l).replace(':', "#58;"));
                }
                for n in nat {
                    let _ = writeln!(out, "  Note over h{}: {}", idx(b), esc(n).replace(':', "#58;"));
                }
            }
        }
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
        D::Rejected(r, w) => {
            format!("{name} by rule {} of {} ({} table) with {}", r.index, r.chain, r.table.name(), w.name())
        }
        D::DroppedByPolicy(t, c) => format!("{name} by the {c} policy ({} table)", t.name()),
        D::DroppedByNft(d) => format!("{name} by {d}"),
        D::RejectedByNft(d, w) => {
            format!("{name} by {d} with {}", w.name())
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
        // `kubectl get pods | grep web` and friends (cluster/pipeline.rs), on the control plane.
        if super::pipeline::has_shell_syntax(args) {
            let cp = self.control_plane_name();
            return self.shell_line(&Target::Node(cp), &format!("kubectl {args}"), base);
        }
        let line = format!("kubectl {args}");
        let base = base.to_path_buf();
        let read = move |p: &str, recursive: bool| crate::kubectl::read_manifest_path(&base, p, recursive);
        let deadline = self.now() + KUBECTL_WAIT_LIMIT;
        let mut stdout = String::new();
        loop {
            let now = self.now();
            let result = {
                let w = self.world_mut();
                // The store and the event log are separate parts of the world: borrowed side by
                // side, the log is not copied for every command.
                let events = w.controllers.events();
                let mut k = crate::kubectl::Kubectl { store: &mut w.api, now, files: &read, events };
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
                        terminal: None,
                    };
                }
                crate::kubectl::RunResult::Delegated(crate::kubectl::KubectlCommand::Exec {
                    pod,
                    namespace,
                    command,
                    tty,
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
                    // `kubectl exec POD -- tcpdump ... &`: the trailing `&` is the shell's, so the
                    // capture runs as a background job (of the pod's target, cluster/tcpdump.rs).
                    let (command, amp) = match command.split_last() {
                        Some((last, rest)) if last == "&" => (rest.to_vec(), " &"),
                        _ => (command, ""),
                    };
                    let cmd = command.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ") + amp;
                    let cmd = match command.as_slice() {
                        [sh, flag, script]
                            if (sh == "sh" || sh == "/bin/sh" || sh == "bash") && flag == "-c" =>
                        {
                            script.clone()
                        }
                        _ => cmd,
                    };
                    // `-t` gives the command a terminal, if kubectl's own output is one.
                    let tty = tty && self.stdout_tty;
                    return self.exec_with_tty(&target, &cmd, tty);
                }
                crate::kubectl::RunResult::Delegated(crate::kubectl::KubectlCommand::Logs {
                    pod,
                    namespace,
                    container,
                    previous,
                    tail,
                }) => {
                    let opts = super::logs::LogOptions { previous, tail };
                    return self.kubectl_logs(&pod, namespace.as_deref(), container.as_deref(), opts);
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

impl Cluster {
    /// The control-plane node's name (the first node if none has the role).
    pub fn control_plane_name(&self) -> String {
        let nodes = &self.world().config.nodes;
        nodes
            .iter()
            .find(|n| n.role == super::config::NodeRole::ControlPlane)
            .or(nodes.first())
            .map(|n| n.name.clone())
            .unwrap_or_else(|| "master".to_string())
    }
}

fn command_name(c: &crate::kubectl::KubectlCommand) -> &'static str {
    match c {
        crate::kubectl::KubectlCommand::PortForward { .. } => "kubectl port-forward",
        crate::kubectl::KubectlCommand::Cp { .. } => "kubectl cp",
        _ => "this kubectl command",
    }
}
