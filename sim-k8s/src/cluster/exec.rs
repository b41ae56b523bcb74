//! Running a command in a pod, on a node or on an external host, with the real tool's output.
//! Every network effect is real simulated traffic: `curl my-nginx` from a pod first sends the
//! resolver's DNS queries as UDP packets to the kube-dns cluster IP (DNAT to a CoreDNS pod by
//! the node's kube-proxy rules, answered, un-NATed by conntrack), then opens a TCP connection
//! whose first packet is NATed by the rules too. Nothing here decides where a packet goes.
//!
//! Output formats: curl 8.x error lines (`curl: (7) Failed to connect to ... after N ms:
//! Couldn't connect to server`), in pods the tools their image ships (`image_tools`: busybox's
//! wget/nc/ping/netstat/traceroute/nslookup (`dns::busybox_nslookup`, 1.28's or the new one by
//! tag), netshoot's iputils ping and ss), iputils ping and OpenBSD nc on nodes and hosts, bind9
//! nslookup (other images) and dig (see `dns::tools`), iproute2 `ip`, iptables and
//! conntrack (see sim-net), tcpdump (`tcpdump.rs`), iproute2 `ss` (`ss.rs`), busybox `netstat`
//! (`netstat.rs`), busybox and Linux `traceroute` (`traceroute.rs`). Left out: `curl -v`, TLS (an `https://`
//! URL is a plain TCP request to port 443).

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimRng, SimTime};
use sim_net::conntrack::CtFilter;
use sim_net::iface::HostId;
use sim_net::netfilter::TableName;
use sim_net::netfilter::save::SaveOptions;
use sim_net::network::{ConvId, ConvProto, Conversation, ConversationSpec, NetEvent, Outcome, PacketId};

use super::command::{HostCommand, parse};
use super::curl::WgetArgs;
use super::facade::{Cluster, Target};
use super::image_tools::{Netcat, Userland};
use super::ping::PingFlavour;
use super::world::{ClusterEvent, pod_key};
use crate::api::{Kind, Object, Pod};
use crate::dns::command::NslookupImpl;
use crate::dns::command::{DigCommand, NslookupCommand};
use crate::dns::resolver::{
    DnsClient, LookupResult, LookupStatus, QueryOutcome, SendTiming, Step, StubResolver,
};
use crate::dns::tools::{DigRun, dig, getent_hosts, nslookup_bind9};
use crate::dns::{AddressFamily, DnsPolicy, KubeletDns, Message, PodDnsConfig, ResolvConf, ResolverFlavour};
use crate::http::Response as HttpResponse;

pub use super::curl::CURL_USER_AGENT;
/// Linux gives up on a TCP connect after `tcp_syn_retries` = 6 retransmissions: 127 s.
pub const TCP_CONNECT_GIVE_UP: SimDuration = SimDuration::from_secs(127);

/// One `ping` run: `-c`, `-W`, `-s` and which ping it is.
#[derive(Clone, Copy, Debug)]
struct PingRun {
    count: u32,
    wait: u64,
    size: u32,
    flavour: PingFlavour,
}

/// What a command printed and how the connection it made went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub exit_code: i32,
    /// The last connection the command made (for scenario expectations and traces).
    pub connection: Option<ConnectionReport>,
    /// What a terminal shows when the command writes to both streams in turns, if that is
    /// not stdout then stderr: `curl -v` prints the body between its `<` lines and
    /// `* Connection #0 ... left intact`. Transcripts print this instead of the two streams.
    pub terminal: Option<String>,
}

impl ExecOutput {
    pub(crate) fn err(message: impl Into<String>, exit_code: i32) -> Self {
        let mut m = message.into();
        if !m.is_empty() && !m.ends_with('\n') {
            m.push('\n');
        }
        ExecOutput { stderr: m, exit_code, ..Default::default() }
    }
    pub(crate) fn out(stdout: impl Into<String>) -> Self {
        ExecOutput { stdout: stdout.into(), ..Default::default() }
    }
}

/// Where a connection went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The conversation.
    pub conv: ConvId,
    /// Who served it (`pod/NAME`, `node/NAME`, `host/NAME`), if anyone.
    pub served_by: Option<String>,
    /// The client address the server saw.
    pub client_seen: Option<SocketAddrV4>,
    /// The first packet's disposition, in the scenario spelling (`delivered`, `dropped`, ...).
    pub disposition: Option<String>,
    /// The packets of the conversation and of the upstream connections proxies opened for it,
    /// in order.
    pub packets: Vec<PacketId>,
    /// The proxies the request went through (`pod/ingress-nginx/ingress-nginx-controller-…`).
    pub via: Vec<String>,
}

/// The `ip addr` block of interface `dev` (its `N: dev…` line and the indented ones after).
fn ip_addr_of(all: &str, dev: &str) -> Option<String> {
    let mut out = String::new();
    let mut inside = false;
    for line in all.split_inclusive('\n') {
        if !line.starts_with(' ') {
            let name = line.split(": ").nth(1).map(|n| n.split('@').next().unwrap_or(n));
            inside = name == Some(dev);
        }
        if inside {
            out.push_str(line);
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

impl Cluster {
    /// Runs `line` on `target`.
    pub fn exec(&mut self, target: &Target, line: &str) -> ExecOutput {
        // A pod's command runs under `kubectl exec POD -- ...` (no `-t`): its output is a pipe.
        let tty = self.stdout_tty && !matches!(target, Target::Pod { .. });
        self.exec_with_tty(target, line, tty)
    }

    /// [`Cluster::exec`] with the command's standard output a terminal or not.
    pub(crate) fn exec_with_tty(&mut self, target: &Target, line: &str, tty: bool) -> ExecOutput {
        let saved = std::mem::replace(&mut self.stdout_tty, tty);
        let out = self.exec_line(target, line);
        self.stdout_tty = saved;
        out
    }

    fn exec_line(&mut self, target: &Target, line: &str) -> ExecOutput {
        // `tcpdump ... &`: a background job (cluster/tcpdump.rs).
        if let Some(command) = super::tcpdump::background(line) {
            return self.exec_background(target, command);
        }
        // Pipes, lists, redirection and $(...) (cluster/pipeline.rs).
        if super::pipeline::has_shell_syntax(line) {
            return self.shell_line(target, line, std::path::Path::new("."));
        }
        if let Some(out) = self.cat_shell_file(target, line) {
            return out;
        }
        self.exec_command(target, line)
    }

    /// `COMMAND &`: only a capture runs in the background.
    fn exec_background(&mut self, target: &Target, command: &str) -> ExecOutput {
        let t = match parse(command) {
            Ok(HostCommand::Tcpdump(t)) => t,
            Ok(_) => {
                return ExecOutput::err(
                    "sh: netsim runs only tcpdump in the background (`tcpdump ... &`, `timeout SECS tcpdump ... &`)",
                    2,
                );
            }
            Err(e) => return ExecOutput::err(e.message, e.exit_code),
        };
        match self.host_of(target) {
            Some(host) => self.tcpdump(target, host, &t, Some(command)),
            None => ExecOutput::err(format!("{target}: host is down"), 1),
        }
    }

    /// One simulated command, without shell syntax.
    pub(crate) fn exec_command(&mut self, target: &Target, line: &str) -> ExecOutput {
        let cmd = match parse(line) {
            Ok(c) => c,
            Err(e) => return ExecOutput::err(e.message, e.exit_code),
        };
        let Some(host) = self.host_of(target) else {
            return match target {
                Target::Pod { name, .. } => ExecOutput::err(
                    format!("error: unable to upgrade connection: container not found (\"{name}\")"),
                    1,
                ),
                _ => ExecOutput::err(format!("{target}: host is down"), 1),
            };
        };
        let is_pod = matches!(target, Target::Pod { .. });
        // What a pod's image ships; nodes and hosts are Debian machines with the usual tools.
        let userland = is_pod.then(|| Userland::of_image(&self.image_of(target)));
        let not_found = |tool: &str| ExecOutput::err(format!("sh: {tool}: not found"), 127);
        match cmd {
            HostCommand::Curl(c) => self.run_curl(target, host, &c),
            HostCommand::Wget(_) if userland.is_some_and(|u| !u.has_wget()) => not_found("wget"),
            HostCommand::Wget(w) => self.wget(target, host, &w),
            HostCommand::Nslookup { args } => {
                match is_pod.then(|| NslookupImpl::for_image(&self.image_of(target))) {
                    Some(NslookupImpl::Busybox) => self.nslookup_busybox(target, &args),
                    Some(NslookupImpl::BusyboxLegacy) => self.nslookup_busybox_legacy(target, &args),
                    Some(NslookupImpl::Bind9) | None => self.nslookup(target, &args),
                }
            }
            HostCommand::Dig { args } => self.dig(target, &args),
            HostCommand::GetentHosts { name }
                if let Some(line) = crate::dns::hosts_file::getent_line(&self.hosts_file(target), &name) =>
            {
                ExecOutput::out(line)
            }
            HostCommand::GetentHosts { name } => match self.lookup_family(target, &name, AddressFamily::Inet)
            {
                Ok(r) if r.status == LookupStatus::Found => ExecOutput::out(getent_hosts(&r)),
                _ => ExecOutput { exit_code: 2, ..Default::default() },
            },
            HostCommand::Ping { host: dst, count, wait, size } => {
                match userland.map_or(Some(PingFlavour::Iputils), Userland::ping) {
                    Some(flavour) => match flavour.data_len(&size) {
                        Ok(size) => self.ping(target, host, &dst, PingRun { count, wait, size, flavour }),
                        Err((message, code)) => ExecOutput::err(message, code),
                    },
                    None => not_found("ping"),
                }
            }
            HostCommand::Nc { host: dst, port, udp, zero_io, verbose, wait } => {
                match userland.map_or(Some(Netcat::OpenBsd), Userland::nc) {
                    Some(nc) => {
                        let busybox = nc == Netcat::Busybox;
                        self.nc(target, host, &dst, port, udp, zero_io, verbose, wait, busybox)
                    }
                    None => not_found("nc"),
                }
            }
            HostCommand::Cat { path } => self.cat(target, &path),
            HostCommand::Env => {
                self.world_mut().refresh_dns_if_stale();
                self.env(target)
            }
            HostCommand::Hostname { ip } => {
                if ip {
                    ExecOutput::out(format!(
                        "{}\n",
                        self.address_of(target).map(|a| a.to_string()).unwrap_or_default()
                    ))
                } else {
                    ExecOutput::out(format!("{}\n", self.hostname(target)))
                }
            }
            HostCommand::IpRoute => {
                ExecOutput::out(self.world().net.host(host).map(|h| h.ip_route()).unwrap_or_default())
            }
            HostCommand::IpAddr { dev: None } => ExecOutput::out(self.world().net.ip_addr(host)),
            HostCommand::IpAddr { dev: Some(dev) } => {
                match ip_addr_of(&self.world().net.ip_addr(host), &dev) {
                    Some(block) => ExecOutput::out(block),
                    None => ExecOutput::err(format!("Device \"{dev}\" does not exist."), 1),
                }
            }
            HostCommand::IptablesSave { table, counters } => {
                if is_pod {
                    return ExecOutput::err("sh: iptables-save: not found", 127);
                }
                let stamp = ctime(self.world().api.config().epoch_unix_secs, self.now());
                let opts = SaveOptions { counters, timestamp: Some(stamp) };
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                match table {
                    None => ExecOutput::out(h.rules().save(&opts)),
                    Some(t) => match TableName::parse(&t) {
                        Some(t) => {
                            let nf = h.rules();
                            nf.open_table(t);
                            ExecOutput::out(nf.save_table(t, &opts))
                        }
                        None => ExecOutput::err(
                            format!(
                                "iptables-save v1.8.4 (legacy): Cannot initialize: Table does not exist (do you need to insmod?)\n\nError occurred at table {t}"
                            ),
                            1,
                        ),
                    },
                }
            }
            HostCommand::Nft { args } => {
                if is_pod {
                    return ExecOutput::err("sh: nft: not found", 127);
                }
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                let interfaces = h.iface_names();
                nft_command(h.rules().nftables_mut(), &interfaces, &args)
            }
            HostCommand::Iptables { args } => {
                if is_pod {
                    return ExecOutput::err("sh: iptables: not found", 127);
                }
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                match h.rules().command(&refs) {
                    Ok(out) => ExecOutput::out(out),
                    // iptables exits 2 on a parameter problem, 1 when the kernel refuses.
                    Err(e) => {
                        let code = if matches!(e, sim_net::netfilter::command::CommandError::Table(_)) {
                            1
                        } else {
                            2
                        };
                        ExecOutput::err(e.to_string(), code)
                    }
                }
            }
            HostCommand::Conntrack { args } => {
                if is_pod {
                    return ExecOutput::err("sh: conntrack: not found", 127);
                }
                self.conntrack(host, &args)
            }
            HostCommand::Ipset { args } => {
                if is_pod {
                    return ExecOutput::err("sh: ipset: not found", 127);
                }
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                match h.rules().ipset(&refs) {
                    Ok(out) => ExecOutput::out(out),
                    Err(e) => ExecOutput::err(format!("ipset v7.17: {e}"), 1),
                }
            }
            HostCommand::Ipvsadm { args } => {
                if is_pod {
                    return ExecOutput::err("sh: ipvsadm: not found", 127);
                }
                let now = self.now();
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                match h.ipvs.command(&refs, now) {
                    Ok(out) => ExecOutput::out(out),
                    Err(e) => ExecOutput::err(e.to_string(), e.exit_code()),
                }
            }
            HostCommand::Sysctl { args } => {
                let now = self.now();
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let Ok(h) = self.world_mut().net.host_mut(host) else {
                    return ExecOutput::err("host is down", 1);
                };
                // nf_conntrack_count: the kernel's count drops as its GC reaps expired entries.
                h.conntrack.sweep(now);
                let o = sim_net::sysctl::command(&mut h.sysctl, &mut h.conntrack, &refs);
                ExecOutput { stdout: o.stdout, stderr: o.stderr, exit_code: o.code, ..Default::default() }
            }
            HostCommand::Kubectl { .. } => ExecOutput::err(
                "kubectl: run kubectl as a `kubectl:` step (it talks to the simulated API server)",
                1,
            ),
            HostCommand::Sleep { secs } => {
                self.advance(SimDuration::from_secs(secs));
                ExecOutput::default()
            }
            HostCommand::Echo { text } => ExecOutput::out(format!("{text}\n")),
            HostCommand::Tcpdump(t) => self.tcpdump(target, host, &t, None),
            HostCommand::Kill { args } => self.kill(target, &args),
            HostCommand::Jobs => self.jobs_list(target),
            // busybox has no `ss` applet; nginx and the other Debian-based images install
            // neither iproute2 nor net-tools.
            HostCommand::Ss(_) if userland.is_some_and(|u| !u.has_ss()) => not_found("ss"),
            HostCommand::Ss(a) => {
                let sockets = self.world().net.socket_table(host, self.now());
                let kernel = if a.summary { self.kernel_tcp(target) } else { Default::default() };
                ExecOutput::out(super::ss::render_with_summary(&a, &sockets, kernel))
            }
            // busybox's netstat applet in busybox-based images; nodes (the kind node image)
            // and hosts have iproute2's `ss`, not net-tools.
            HostCommand::Netstat(a) if userland.is_some_and(Userland::has_busybox_netstat) => {
                let (stdout, stderr) =
                    super::netstat::render(&a, &self.world().net.socket_table(host, self.now()));
                ExecOutput { stdout, stderr, ..Default::default() }
            }
            HostCommand::Netstat(_) if userland == Some(Userland::Netshoot) => ExecOutput::err(
                "netstat: netsim simulates busybox's netstat, not net-tools' (this image's); ss is simulated",
                1,
            ),
            HostCommand::Netstat(_) => not_found("netstat"),
            // busybox's applet in busybox-based pods; the traceroute package on nodes and hosts.
            HostCommand::Traceroute(a) => {
                match userland.map_or(Some(super::traceroute::Flavour::Modern), Userland::traceroute) {
                    Some(flavour) => self.traceroute(target, host, &a, flavour),
                    None => not_found("traceroute"),
                }
            }
        }
    }

    fn hostname(&self, target: &Target) -> String {
        match target {
            Target::Pod { namespace, name } => self
                .pod(namespace, name)
                .map(|p| {
                    if p.spec.hostname.is_empty() { p.metadata.name.clone() } else { p.spec.hostname.clone() }
                })
                .unwrap_or_else(|| name.clone()),
            Target::Node(n) | Target::Host(n) => n.clone(),
        }
    }

    /// The pod object of a target.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Pod> {
        match self.world().api.get_named(Kind::Pod, namespace, name) {
            Some(Object::Pod(p)) => Some(p),
            _ => None,
        }
    }

    /// Runs one client conversation to completion (or its timeout) and returns it.
    pub fn converse(
        &mut self,
        from: HostId,
        proto: ConvProto,
        dst: SocketAddrV4,
        payload: Vec<u8>,
        timeout: SimDuration,
    ) -> (ConvId, Conversation) {
        let spec = ConversationSpec { from, proto, dst, payload, src_port: None, timeout };
        self.converse_spec(spec, Vec::new(), SimDuration::from_millis(5))
    }

    /// [`converse`](Self::converse) for `trace`: a UDP or ICMP conversation also ends as soon
    /// as its packets' fate is final ([`Self::fate_is_final`]) — a datagram a rule dropped
    /// ends the trace then, not at the end of the window.
    pub fn converse_until_final(
        &mut self,
        from: HostId,
        proto: ConvProto,
        dst: SocketAddrV4,
        payload: Vec<u8>,
        timeout: SimDuration,
    ) -> (ConvId, Conversation) {
        let spec = ConversationSpec { from, proto, dst, payload, src_port: None, timeout };
        self.converse_inner(spec, Vec::new(), SimDuration::from_millis(5), true)
    }

    /// True when nothing more can happen to a UDP or ICMP conversation: every packet it sent
    /// or caused has its disposition, at least one of them did not reach a socket or stack
    /// (dropped, rejected without an answer that is still coming, no listener with its ICMP
    /// error rate-limited away ...), and no proxy connection hangs on it. TCP and SCTP
    /// retransmit, so their fate is never final before their outcome.
    pub fn fate_is_final(&self, id: ConvId) -> bool {
        let net = &self.world().net;
        let Some(c) = net.conversation(id) else { return false };
        if !matches!(c.spec.proto, ConvProto::Udp | ConvProto::Icmp)
            || c.packets.is_empty()
            || !c.upstreams.is_empty()
        {
            return false;
        }
        let mut undelivered = false;
        for p in &c.packets {
            match net.disposition(*p) {
                // Neighbour resolution failed: the sender's Destination Host Unreachable is
                // still to come (after the ARP probes), so the fate is not final yet.
                None | Some(sim_net::network::Disposition::HostUnreachable) => return false,
                Some(sim_net::network::Disposition::Delivered(_)) => {}
                Some(_) => undelivered = true,
            }
        }
        undelivered
    }

    /// [`converse`](Self::converse) with the whole spec (a fixed source port), and for UDP
    /// `more` datagrams sent from the same socket right after the first
    /// (`Network::start_udp_burst`); the simulation then runs `settle` longer, for the
    /// packets still in flight.
    pub fn converse_spec(
        &mut self,
        spec: ConversationSpec,
        more: Vec<Vec<u8>>,
        settle: SimDuration,
    ) -> (ConvId, Conversation) {
        self.converse_inner(spec, more, settle, false)
    }

    fn converse_inner(
        &mut self,
        spec: ConversationSpec,
        more: Vec<Vec<u8>>,
        settle: SimDuration,
        until_final: bool,
    ) -> (ConvId, Conversation) {
        let timeout = spec.timeout;
        let spec_copy = spec.clone();
        let id = if more.is_empty() {
            self.world_mut().net.start_conversation(spec)
        } else {
            self.world_mut().net.start_udp_burst(spec, more)
        };
        self.schedule_now(ClusterEvent::Net(NetEvent::ConvStart(id)));
        let deadline = self.now() + timeout + SimDuration::from_secs(1);
        loop {
            if self.world().net.conversation(id).is_some_and(|c| c.outcome.is_some()) {
                break;
            }
            if until_final && self.fate_is_final(id) {
                break;
            }
            let next = self.sim.scheduler().next_time();
            match next {
                Some(t) if t <= deadline => {
                    self.sim.step();
                }
                _ => break,
            }
        }
        // Let the connection's closing packets and the replies in flight settle (a few ms).
        let settle_until = self.now() + settle;
        self.sim.run_until(settle_until);
        // The id was just issued, so the conversation exists.
        let conv = self.world().net.conversation(id).cloned().unwrap_or_else(|| Conversation::new(spec_copy));
        (id, conv)
    }

    /// What the runner reports about a finished conversation.
    ///
    /// A connection a proxy answered (an ingress controller) reports the server of the proxy's
    /// last upstream connection — the pod that produced the answer — and the client address
    /// *it* saw; the proxies are listed in `via`.
    pub fn report(&self, id: ConvId, conv: &Conversation) -> ConnectionReport {
        let w = self.world();
        let mut served = conv.served_by.clone();
        let mut via = Vec::new();
        let mut packets = conv.packets.clone();
        let mut upstreams = conv.upstreams.clone();
        while let Some(u) = upstreams.first().copied() {
            upstreams.remove(0);
            let Some(up) = w.net.conversation(u) else { continue };
            packets.extend(up.packets.iter().copied());
            upstreams.extend(up.upstreams.iter().copied());
            if let (Some(proxy), Some(backend)) = (&served, &up.served_by) {
                let name = self.describe_host(proxy.host);
                if !via.contains(&name) {
                    via.push(name);
                }
                served = Some(backend.clone());
            }
        }
        packets.sort();
        let served_by = served.as_ref().map(|s| self.describe_host(s.host));
        let disposition =
            conv.packets.first().and_then(|p| w.net.disposition(*p)).map(|d| disposition_name(d).to_string());
        ConnectionReport {
            conv: id,
            served_by,
            client_seen: served.as_ref().map(|s| s.peer),
            disposition,
            packets,
            via,
        }
    }

    /// `pod/NAME`, `node/NAME` or `host/NAME` for a namespace.
    pub fn describe_host(&self, host: HostId) -> String {
        let w = self.world();
        if let Some(n) = w.nodes.iter().find(|n| n.host == host) {
            return format!("node/{}", n.name);
        }
        if let Some((name, _)) = w.externals.iter().find(|(_, h)| **h == host) {
            return format!("host/{name}");
        }
        if let Some((key, _)) = w.pods.iter().find(|(_, p)| p.host == host && p.veth.is_some()) {
            let (ns, name) = key.split_once('/').unwrap_or(("default", key));
            return if ns == "default" { format!("pod/{name}") } else { format!("pod/{ns}/{name}") };
        }
        w.net.host(host).map(|h| format!("host/{}", h.name)).unwrap_or_default()
    }

    /// The resolv.conf the kubelet wrote for a pod (or the node's, for nodes and hosts).
    pub fn resolv_conf(&self, target: &Target) -> ResolvConf {
        let w = self.world();
        let lines: String =
            w.config.node_nameservers().iter().map(|ip| format!("nameserver {ip}\n")).collect();
        let host_conf = ResolvConf::parse(&lines).unwrap_or_default();
        let Target::Pod { namespace, name } = target else { return host_conf };
        let Some(pod) = self.pod(namespace, name) else { return host_conf };
        let k = &w.config.kubelet_dns;
        let kubelet = KubeletDns {
            cluster_dns: k.cluster_dns.clone().unwrap_or_else(|| vec![IpAddr::V4(w.config.dns_service_ip())]),
            cluster_domain: k.cluster_domain.clone().unwrap_or_else(|| w.config.cluster_domain.clone()),
            // `resolvConf: ""`: the kubelet reads no host file (no nameservers, no searches).
            host: if k.resolv_conf.as_deref() == Some("") {
                ResolvConf::default()
            } else {
                host_conf.clone()
            },
        };
        let policy = match pod.spec.dns_policy.as_ref().map(|p| p.as_str()) {
            Some("ClusterFirstWithHostNet") => DnsPolicy::ClusterFirstWithHostNet,
            Some("Default") => DnsPolicy::Default,
            Some("None") => DnsPolicy::None,
            _ => DnsPolicy::ClusterFirst,
        };
        let dns_config = pod.spec.dns_config.as_ref().map(|c| PodDnsConfig {
            nameservers: c.nameservers.clone(),
            searches: c.searches.clone(),
            options: c
                .options
                .iter()
                .map(|o| crate::dns::resolv_conf::ResolvOption::new(&o.name, o.value.as_deref()))
                .collect(),
        });
        crate::dns::pod_resolv_conf(
            &kubelet,
            namespace,
            policy,
            pod.spec.host_network.unwrap_or(false),
            dns_config.as_ref(),
        )
        .unwrap_or(host_conf)
    }

    /// The kernel-wide TCP counters `ss -s` reads: a node's kernel holds its own namespace's
    /// sockets and those of its pods; an external host is a kernel of its own.
    fn kernel_tcp(&self, target: &Target) -> super::ss::KernelTcp {
        let w = self.world();
        let node = match target {
            Target::Node(n) => w.node_index(n),
            Target::Pod { namespace, name } => w.pods.get(&pod_key(namespace, name)).map(|p| p.node),
            Target::Host(_) => None,
        };
        let mut hosts: Vec<HostId> = match node.and_then(|i| w.nodes.get(i).map(|n| (i, n))) {
            Some((i, n)) => std::iter::once(n.host)
                .chain(w.pods.values().filter(|p| p.node == i).map(|p| p.host))
                .collect(),
            None => self.host_of(target).into_iter().collect(),
        };
        // hostNetwork pods share the node's namespace.
        hosts.sort();
        hosts.dedup();
        let mut k = super::ss::KernelTcp::default();
        for h in hosts {
            k.add(&w.net.socket_table(h, self.now()));
        }
        k
    }

    fn image_of(&self, target: &Target) -> String {
        match target {
            Target::Pod { namespace, name } => {
                self.world().pods.get(&pod_key(namespace, name)).map(|p| p.image.clone()).unwrap_or_default()
            }
            _ => "debian".to_string(),
        }
    }

    /// Runs a stub resolver from `target`: each send is a UDP conversation through the dataplane
    /// (its queries leaving one socket back to back, as `sendmmsg` sends them), or a TCP
    /// connection carrying them one after the other. A send that reuses its socket gets the
    /// same source port, hence the same conntrack tuple.
    fn run_resolver(&mut self, target: &Target, mut resolver: StubResolver) -> LookupResult {
        self.drive_client(target, &mut resolver)
    }

    /// Runs any [`DnsClient`] from `target` as [`run_resolver`](Self::run_resolver) runs a stub
    /// resolver (a target without a host: every send times out).
    fn drive_client(&mut self, target: &Target, resolver: &mut impl DnsClient) -> LookupResult {
        let Some(host) = self.host_of(target) else {
            loop {
                match resolver.step() {
                    Step::Done(r) => return r,
                    Step::Send(_) => resolver.feed_timed(QueryOutcome::Timeout, SendTiming::default()),
                }
            }
        };
        let began = self.now();
        let mut ports: std::collections::BTreeMap<Ipv4Addr, u16> = std::collections::BTreeMap::new();
        let mut sends: Vec<sim_net::network::ConvId> = Vec::new();
        loop {
            match resolver.step() {
                Step::Done(mut r) => {
                    // The server's upstream queries (CoreDNS's forward), as far as they got.
                    for (exchange, id) in r.transcript.iter_mut().zip(&sends) {
                        exchange.hops = self.forward_hops(*id, began);
                    }
                    return r;
                }
                Step::Send(q) => {
                    let IpAddr::V4(server) = q.server else {
                        resolver.feed_timed(QueryOutcome::Timeout, SendTiming::default());
                        continue;
                    };
                    let timeout = SimDuration::from_millis(q.timeout_ms.max(1));
                    let tcp = q.transport == crate::dns::Transport::Tcp;
                    if q.new_socket {
                        ports.clear();
                    }
                    let src_port = if tcp { None } else { ports.get(&server).copied() };
                    let encoded: Vec<Vec<u8>> = q.messages().map(Message::encode).collect();
                    let (proto, payload, more) = if tcp {
                        let stream = encoded.iter().flat_map(|m| crate::dns::message::frame_tcp(m)).collect();
                        (ConvProto::Tcp, stream, Vec::new())
                    } else {
                        let mut it = encoded.into_iter();
                        let first = it.next().unwrap_or_default();
                        (ConvProto::Udp, first, it.collect())
                    };
                    let spec = ConversationSpec {
                        from: host,
                        proto,
                        dst: SocketAddrV4::new(server, 53),
                        payload,
                        src_port,
                        timeout,
                    };
                    let first_record = self.world().net.trace.records.len();
                    // A resolver sends its next query the moment its wait ends (a TCP
                    // connection's closing packets are left to the next step).
                    let (id, conv) = self.converse_spec(spec, more, SimDuration::ZERO);
                    sends.push(id);
                    let notes = self.dropped_queries(&conv, &q, first_record);
                    if let (false, Some(local)) = (tcp, conv.local) {
                        ports.insert(server, local.port());
                    }
                    let raw: Vec<Vec<u8>> = match &conv.outcome {
                        Some(Outcome::Completed { response }) if tcp => {
                            crate::dns::message::unframe_all(response)
                                .into_iter()
                                .map(<[u8]>::to_vec)
                                .collect()
                        }
                        _ if tcp => Vec::new(),
                        _ => conv.responses.clone(),
                    };
                    let arrived: Vec<Message> = raw.iter().filter_map(|r| Message::decode(r).ok()).collect();
                    let ms = |t: SimTime| t.saturating_since(began).as_millis();
                    let timing = SendTiming {
                        local_port: conv.local.map(|l| l.port()),
                        sent_at_ms: conv.started.map_or(0, ms),
                        waited_ms: match (conv.started, conv.finished) {
                            (Some(a), Some(b)) => b.saturating_since(a).as_millis(),
                            _ => q.timeout_ms,
                        },
                    };
                    let outcome = if arrived.is_empty() {
                        QueryOutcome::Timeout
                    } else {
                        QueryOutcome::Responses(arrived)
                    };
                    resolver.feed_timed(outcome, timing);
                    for n in notes {
                        resolver.note_last(n);
                    }
                }
            }
        }
    }

    /// The upstream conversations a DNS server opened while answering conversation `id` (and
    /// theirs, in turn), as a lookup transcript shows them; times from `began`.
    fn forward_hops(
        &self,
        id: sim_net::network::ConvId,
        began: SimTime,
    ) -> Vec<crate::dns::resolver::ForwardHop> {
        let net = &self.world().net;
        let mut out = Vec::new();
        let mut queue: Vec<sim_net::network::ConvId> =
            net.conversation(id).map(|c| c.upstreams.clone()).unwrap_or_default();
        let mut i = 0;
        while let Some(u) = queue.get(i).copied() {
            i += 1;
            let Some(up) = net.conversation(u) else { continue };
            queue.extend(up.upstreams.iter().copied());
            let tcp = up.spec.proto == ConvProto::Tcp;
            let unframe = |b: &[u8]| -> Option<Message> {
                let bytes = if tcp { crate::dns::message::unframe_tcp(b)? } else { b };
                Message::decode(bytes).ok()
            };
            let answer = match &up.outcome {
                Some(Outcome::Completed { response }) => unframe(response),
                _ => None,
            };
            let ms = |t: SimTime| t.saturating_since(began).as_millis();
            let waited_ms = match (up.started, up.finished) {
                (Some(a), Some(b)) => b.saturating_since(a).as_millis(),
                _ => 0,
            };
            out.push(crate::dns::resolver::ForwardHop {
                at_ms: up.started.map_or(0, ms),
                by: self.describe_host(up.spec.from),
                local: up.local,
                server: up.spec.dst,
                tcp,
                query: unframe(&up.spec.payload),
                answer,
                waited_ms,
            });
        }
        out
    }

    /// Why a resolver's queries did not arrive: each of the send's datagrams that ended other
    /// than delivered, where, and for a conntrack clash, the racing packet whose entry won.
    fn dropped_queries(
        &self,
        conv: &Conversation,
        q: &crate::dns::resolver::PendingQuery,
        first_record: usize,
    ) -> Vec<String> {
        use sim_net::network::{Disposition, NetTrace};
        let w = self.world();
        let mut notes = Vec::new();
        let records = w.net.trace.records.get(first_record..).unwrap_or_default();
        for (pid, m) in conv.packets.iter().zip(q.messages()) {
            let Some((host, d)) = w.net.dispositions().get(pid) else { continue };
            if matches!(d, Disposition::Delivered(_)) {
                continue;
            }
            let what = m.question().map(|q| format!("{} {}", q.qtype, m.header.id)).unwrap_or_default();
            let mut note = format!(
                "packet #{} ({what}) {} on {}",
                pid.0,
                disposition_name(d),
                self.describe_host(*host)
            );
            let clash = records.iter().find_map(|r| match &r.event {
                NetTrace::CtClash { id, host, entry, joined: None } if id == pid => Some((*host, *entry)),
                _ => None,
            });
            if let Some((at, entry)) = clash {
                let winner = records.iter().find_map(|r| match &r.event {
                    NetTrace::CtConfirmed { id, host, entry: e }
                        if id != pid && *host == at && e.orig == entry.orig =>
                    {
                        Some((*id, *e))
                    }
                    _ => None,
                });
                let to = |t: &sim_net::conntrack::Tuple| match t.l4 {
                    sim_net::conntrack::L4Tuple::Udp { sport, .. } => format!("{}:{sport}", t.src),
                    _ => t.src.to_string(),
                };
                note.push_str(&format!(": conntrack clash, DNATed to {}", to(&entry.reply)));
                if let Some((wid, we)) = winner {
                    note.push_str(&format!(
                        " but packet #{}'s entry for the same tuple, confirmed first, goes to {}",
                        wid.0,
                        to(&we.reply)
                    ));
                }
            }
            notes.push(note);
        }
        notes
    }

    fn query_id(&mut self) -> u16 {
        let seq = self.world().net.packets_created();
        let mut rng = SimRng::new(self.seed()).fork(&format!("resolver/{seq}"));
        rng.next_u32() as u16
    }

    /// getaddrinfo from `target` as curl, wget, nc and ping call it (`AF_UNSPEC`, no
    /// `AI_ADDRCONFIG`): the libc of its image walks the search list asking for A and AAAA.
    pub fn lookup(&mut self, target: &Target, name: &str) -> Result<LookupResult, String> {
        self.lookup_family(target, name, AddressFamily::Unspec)
    }

    /// A lookup of one address family (`AF_INET`: A queries only).
    pub fn lookup_family(
        &mut self,
        target: &Target,
        name: &str,
        family: AddressFamily,
    ) -> Result<LookupResult, String> {
        let conf = self.resolv_conf(target);
        let flavour = ResolverFlavour::for_image(&self.image_of(target));
        let id = self.query_id();
        let resolver = StubResolver::new(flavour, &conf, name, family, id);
        Ok(self.run_resolver(target, resolver))
    }

    /// A host name or address to an IPv4 address, as a client program would resolve it.
    /// The target's `/etc/hosts`: the kubelet-managed file (with `hostAliases`) in a pod.
    pub fn hosts_file(&self, target: &Target) -> String {
        let ip = self.address_of(target).map(|a| a.to_string()).unwrap_or_default();
        let name = self.hostname(target);
        let Target::Pod { namespace, name: pod } = target else {
            return format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{ip}\t{name}\n"
            );
        };
        let spec = self.pod(namespace, pod).map(|p| &p.spec);
        let aliases: Vec<crate::dns::hosts_file::HostAlias> = spec
            .and_then(|s| s.host_aliases.as_ref())
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let ip = a.get("ip")?.as_str()?.to_string();
                let hostnames = a
                    .get("hostnames")?
                    .as_array()?
                    .iter()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect();
                Some(crate::dns::hosts_file::HostAlias { ip, hostnames })
            })
            .collect();
        let config = &self.world().config;
        let domain = config.kubelet_dns.cluster_domain.as_ref().unwrap_or(&config.cluster_domain);
        let fqdn = spec
            .filter(|s| !s.subdomain.is_empty())
            .map(|s| format!("{name}.{}.{namespace}.svc.{domain}", s.subdomain));
        crate::dns::hosts_file::managed_hosts_file(&ip, &name, fqdn.as_deref(), &aliases)
    }

    pub(super) fn resolve(&mut self, target: &Target, name: &str) -> Option<Ipv4Addr> {
        if let Ok(ip) = name.parse::<Ipv4Addr>() {
            return Some(ip);
        }
        if name == "localhost" {
            return Some(Ipv4Addr::LOCALHOST);
        }
        // nsswitch `hosts: files dns`: /etc/hosts first.
        let from_file = crate::dns::hosts_file::lookup(&self.hosts_file(target), name);
        if let Some(v4) = from_file.iter().find_map(|a| match a {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        }) {
            return Some(v4);
        }
        let r = self.lookup(target, name).ok()?;
        r.addresses.iter().find_map(|a| match a {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
    }

    /// BusyBox wget: `Connecting to HOST (IP:PORT)`, `-S` headers, the progress line and
    /// `saving to`/`written to stdout` on stderr, the body to stdout with `-O -`; `server
    /// returned error: HTTP/1.1 404 Not Found` and exit 1 for an error status.
    fn wget(&mut self, target: &Target, host: HostId, w: &WgetArgs) -> ExecOutput {
        let Some(url) = w.url.as_ref() else { return ExecOutput::default() };
        let Some(ip) = self.resolve(target, &url.host) else {
            return ExecOutput::err(format!("wget: bad address '{}'", url.host), 1);
        };
        let request = w.request(url).to_bytes();
        let limit = SimDuration::from_secs(w.timeout.unwrap_or(900)).min(TCP_CONNECT_GIVE_UP);
        let (id, conv) = self.converse(host, ConvProto::Tcp, SocketAddrV4::new(ip, url.port), request, limit);
        let mut stderr = String::new();
        if !w.quiet {
            stderr.push_str(&format!("Connecting to {} ({}:{})\n", url.host_header(), ip, url.port));
        }
        let to_stdout = w.to_stdout();
        let file = match w.output.as_deref() {
            Some(f) => f.to_string(),
            None => {
                let last = url.path.split('?').next().unwrap_or("/").rsplit('/').next().unwrap_or("");
                if last.is_empty() { "index.html".to_string() } else { last.to_string() }
            }
        };
        let failed = |stderr: String, msg: &str| ExecOutput {
            stderr: format!("{stderr}wget: {msg}\n"),
            exit_code: 1,
            ..Default::default()
        };
        let mut out = match conv.outcome.clone() {
            Some(Outcome::Completed { response }) => match HttpResponse::parse(&response) {
                Some(r) => {
                    if w.server_response {
                        for line in r.head().split("\r\n").take_while(|l| !l.is_empty()) {
                            stderr.push_str(&format!("  {line}\n"));
                        }
                    }
                    if !(200..300).contains(&r.status) {
                        failed(stderr, &format!("server returned error: HTTP/1.1 {} {}", r.status, r.reason))
                    } else if w.spider {
                        if !w.quiet {
                            stderr.push_str("remote file exists\n");
                        }
                        ExecOutput { stderr, ..Default::default() }
                    } else {
                        if !w.quiet {
                            if to_stdout {
                                stderr.push_str("writing to stdout\n");
                            } else {
                                stderr.push_str(&format!("saving to '{file}'\n"));
                            }
                            let shown = if to_stdout { "-" } else { file.as_str() };
                            stderr.push_str(&format!(
                                "{shown:<20} 100% |********************************| {:>5}  0:00:00 ETA\n",
                                r.body.len()
                            ));
                            stderr.push_str(&if to_stdout {
                                "written to stdout\n".to_string()
                            } else {
                                format!("'{file}' saved\n")
                            });
                        }
                        ExecOutput {
                            stdout: if to_stdout { r.body } else { String::new() },
                            stderr,
                            ..Default::default()
                        }
                    }
                }
                None => failed(stderr, "error getting response"),
            },
            Some(Outcome::TimedOut) => failed(stderr, "download timed out"),
            Some(Outcome::Reset) => failed(stderr, "error getting response: Connection reset by peer"),
            other => {
                let why = connect_error(other.as_ref());
                failed(stderr, &format!("can't connect to remote host ({ip}): {why}"))
            }
        };
        out.connection = Some(self.report(id, &conv));
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn nc(
        &mut self,
        target: &Target,
        host: HostId,
        dst: &str,
        port: u16,
        udp: bool,
        zero_io: bool,
        verbose: bool,
        wait: Option<u64>,
        busybox: bool,
    ) -> ExecOutput {
        let Some(ip) = self.resolve(target, dst) else {
            return ExecOutput::err(format!("nc: bad address '{dst}'"), 1);
        };
        let proto = if udp { ConvProto::Udp } else { ConvProto::Tcp };
        let limit = wait.map(SimDuration::from_secs).unwrap_or(TCP_CONNECT_GIVE_UP);
        let payload = if zero_io { Vec::new() } else { b"\n".to_vec() };
        let (id, conv) = self.converse(host, proto, SocketAddrV4::new(ip, port), payload, limit);
        let ok = matches!(conv.outcome, Some(Outcome::Completed { .. }));
        let mut out = if ok {
            let mut o = ExecOutput::default();
            if let (false, Some(Outcome::Completed { response })) = (zero_io, &conv.outcome) {
                o.stdout = String::from_utf8_lossy(response).into_owned();
            }
            if verbose {
                o.stderr = if busybox {
                    format!("{dst} ({ip}:{port}) open\n")
                } else {
                    format!(
                        "Connection to {dst} ({ip}) {port} port [{}/*] succeeded!\n",
                        if udp { "udp" } else { "tcp" }
                    )
                };
            }
            o
        } else {
            let why = connect_error(conv.outcome.as_ref());
            let msg = if busybox {
                format!("nc: {dst} ({ip}:{port}): {why}")
            } else {
                format!(
                    "nc: connect to {dst} ({ip}) port {port} ({}) failed: {why}",
                    if udp { "udp" } else { "tcp" }
                )
            };
            ExecOutput::err(msg, 1)
        };
        out.connection = Some(self.report(id, &conv));
        out
    }

    /// iputils `ping` (nodes and hosts) or busybox `ping` (pods): one echo request per
    /// second, every request outstanding until the program exits, replies and ICMP errors
    /// printed as they arrive. iputils exits once every request is answered or errored
    /// (`nreceived + nerrors >= npackets`), else after the last request waits `2 * tmax` (at
    /// least the 1 s interval) when anything was received and the linger time (`-W`, 10 s by
    /// default) when nothing was; its summary's `time` is the last request's send time (the
    /// `cur_time` that `pinger` stamps) less the start. A request its own host's OUTPUT or
    /// POSTROUTING chain drops fails `sendmsg` with EPERM: iputils says
    /// `ping: sendmsg: Operation not permitted` and counts it transmitted, busybox dies with
    /// `ping: sendto: Operation not permitted`.
    fn ping(&mut self, target: &Target, host: HostId, dst: &str, run: PingRun) -> ExecOutput {
        let PingRun { count, wait, size, flavour } = run;
        let busybox = flavour == PingFlavour::Busybox;
        let timed = flavour.timed(size);
        let Some(ip) = self.resolve(target, dst) else {
            return if busybox {
                ExecOutput::err(format!("ping: bad address '{dst}'"), 1)
            } else {
                ExecOutput::err(format!("ping: {dst}: Name or service not known"), 2)
            };
        };
        let mut out = String::new();
        out.push_str(&if busybox {
            format!("PING {dst} ({ip}): {size} data bytes\n")
        } else {
            format!("PING {dst} ({ip}) {size}({}) bytes of data.\n", size + 28)
        });
        let start = self.now();
        let linger = SimDuration::from_secs(wait);
        let interval = SimDuration::from_secs(1);
        let mut sent: Vec<(ConvId, SimTime)> = Vec::new();
        let mut stderr = String::new();
        for seq in 0..count {
            let at = start + SimDuration::from_secs(u64::from(seq));
            self.run_until_or(at, |c| busybox && c.any_not_permitted(&sent));
            if busybox && self.any_not_permitted(&sent) {
                break;
            }
            // Outstanding until the program exits: the rest of the sends, then the linger.
            let timeout = SimDuration::from_secs(u64::from(count - 1 - seq)) + linger;
            let data = flavour.echo_data(size, self.now());
            let id = self.start_conv(host, ConvProto::Icmp, SocketAddrV4::new(ip, 0), data, timeout);
            // The send itself (and an EPERM from the local-out hooks) happens now.
            let now = self.now();
            self.sim.run_until(now);
            sent.push((id, self.now()));
        }
        let last_send = sent.last().map_or(start, |(_, t)| *t);
        // Wait for the answers: until every request is answered or errored, or the exit timer.
        loop {
            let (rx, err, tmax) = self.ping_tally(&sent);
            if rx + err >= sent.len() || (busybox && self.any_not_permitted(&sent)) {
                break;
            }
            let waittime = if rx > 0 { (tmax + tmax).max(interval) } else { linger };
            let exit_at = last_send + waittime;
            match self.sim.scheduler().next_time() {
                Some(t) if t <= exit_at => {
                    self.sim.step();
                }
                _ => {
                    self.sim.run_until(exit_at);
                    break;
                }
            }
        }
        // What arrived, in arrival order.
        let mut events: Vec<(SimTime, u32, ConvId, Conversation)> = sent
            .iter()
            .enumerate()
            .filter_map(|(i, (id, t0))| {
                let c = self.world().net.conversation(*id)?.clone();
                let at = c.finished.unwrap_or(*t0);
                Some((at, i as u32, *id, c))
            })
            .collect();
        events.sort_by_key(|(at, seq, _, _)| (*at, *seq));
        let mut received = 0u32;
        let mut errors = 0u32;
        let mut rtts_us: Vec<i64> = Vec::new();
        for (at, seq, _, conv) in &events {
            let t0 = sent[*seq as usize].1;
            match &conv.outcome {
                Some(Outcome::Completed { .. }) => {
                    received += 1;
                    let us = (at.saturating_since(t0).as_nanos() / 1000) as i64;
                    rtts_us.push(us);
                    // The ICMP message: the 8-byte header and the echoed data.
                    let bytes = size + 8;
                    let time = match (timed, busybox) {
                        (false, _) => String::new(),
                        (true, true) => format!(" time={:.3} ms", us as f64 / 1000.0),
                        (true, false) => format!(" time={}", iputils_time(us)),
                    };
                    out.push_str(&if busybox {
                        format!("{bytes} bytes from {ip}: seq={seq} ttl=64{time}\n")
                    } else {
                        format!("{bytes} bytes from {ip}: icmp_seq={} ttl=64{time}\n", seq + 1)
                    });
                }
                Some(Outcome::Unreachable { from, code, .. }) if !busybox => {
                    errors += 1;
                    let what = match *code {
                        0 => "Destination Net Unreachable",
                        1 => "Destination Host Unreachable",
                        3 => "Destination Port Unreachable",
                        _ => "Destination Unreachable",
                    };
                    out.push_str(&format!("From {from} icmp_seq={} {what}\n", seq + 1));
                }
                Some(Outcome::NotPermitted) if busybox => {
                    let mut o = ExecOutput::err("ping: sendto: Operation not permitted", 1);
                    o.stdout = out;
                    o.connection = Some(self.report(events[0].2, &events[0].3));
                    return o;
                }
                Some(Outcome::NotPermitted) => stderr.push_str("ping: sendmsg: Operation not permitted\n"),
                _ => {}
            }
        }
        let transmitted = sent.len() as u32;
        out.push_str(&format!("\n--- {dst} ping statistics ---\n"));
        if busybox {
            let loss = (transmitted - received) * 100 / transmitted.max(1);
            out.push_str(&format!(
                "{transmitted} packets transmitted, {received} packets received, {loss}% packet loss\n"
            ));
        } else {
            // `time`: rounded to the millisecond as `(tv_nsec + 500000) / 1000000`.
            let ms = (last_send.saturating_since(start).as_nanos() + 500_000) / 1_000_000;
            let errs = if errors > 0 { format!(", +{errors} errors") } else { String::new() };
            let loss = c_format_g(f64::from(
                ((f64::from(transmitted - received) * 100.0) / f64::from(transmitted.max(1))) as f32,
            ));
            out.push_str(&format!(
                "{transmitted} packets transmitted, {received} received{errs}, {loss}% packet loss, time {ms}ms\n"
            ));
        }
        if timed && !rtts_us.is_empty() {
            if busybox {
                let ms: Vec<f64> = rtts_us.iter().map(|u| *u as f64 / 1000.0).collect();
                let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
                let max = ms.iter().copied().fold(0.0, f64::max);
                let avg = ms.iter().sum::<f64>() / ms.len() as f64;
                out.push_str(&format!("round-trip min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms\n"));
            } else {
                out.push_str(&iputils_rtt_line(&rtts_us));
            }
        } else if !busybox {
            // iputils' finish() ends with putchar('\n') after the rtt line it may print; with no
            // round trip to show that is an empty line (measured, 20221126).
            out.push('\n');
        }
        let mut o = ExecOutput {
            stdout: out,
            stderr,
            exit_code: if received > 0 { 0 } else { 1 },
            ..Default::default()
        };
        if let Some((_, _, id, conv)) = events.iter().max_by_key(|(_, seq, _, _)| *seq) {
            o.connection = Some(self.report(*id, conv));
        }
        o
    }

    /// Starts a conversation sending `payload` now without waiting for it.
    fn start_conv(
        &mut self,
        from: HostId,
        proto: ConvProto,
        dst: SocketAddrV4,
        payload: Vec<u8>,
        timeout: SimDuration,
    ) -> ConvId {
        let spec = ConversationSpec { from, proto, dst, payload, src_port: None, timeout };
        let id = self.world_mut().net.start_conversation(spec);
        self.schedule_now(ClusterEvent::Net(NetEvent::ConvStart(id)));
        id
    }

    /// Runs the simulation up to `t`, stopping early once `stop` holds.
    fn run_until_or(&mut self, t: SimTime, stop: impl Fn(&Self) -> bool) {
        while let Some(next) = self.sim.scheduler().next_time() {
            if next > t || stop(self) {
                break;
            }
            self.sim.step();
        }
        if self.now() < t && !stop(self) {
            self.sim.run_until(t);
        }
    }

    fn any_not_permitted(&self, sent: &[(ConvId, SimTime)]) -> bool {
        sent.iter().any(|(id, _)| {
            self.world().net.conversation(*id).is_some_and(|c| c.outcome == Some(Outcome::NotPermitted))
        })
    }

    /// (replies, ICMP errors, the longest round trip so far) of a ping's requests.
    fn ping_tally(&self, sent: &[(ConvId, SimTime)]) -> (usize, usize, SimDuration) {
        let (mut rx, mut err, mut tmax) = (0, 0, SimDuration::ZERO);
        for (id, t0) in sent {
            let Some(c) = self.world().net.conversation(*id) else { continue };
            match &c.outcome {
                Some(Outcome::Completed { .. }) => {
                    rx += 1;
                    tmax = tmax.max(c.finished.unwrap_or(*t0).saturating_since(*t0));
                }
                // A request that failed to send counts in neither, but is no longer awaited.
                Some(Outcome::Unreachable { .. }) | Some(Outcome::NotPermitted) => err += 1,
                _ => {}
            }
        }
        (rx, err, tmax)
    }

    fn nslookup(&mut self, target: &Target, args: &[String]) -> ExecOutput {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = match NslookupCommand::parse(&refs) {
            Ok(c) => c,
            Err(e) => return ExecOutput::err(format!("nslookup: {e}"), 1),
        };
        let mut conf = self.resolv_conf(target);
        if let Some(s) = cmd.server {
            conf.nameservers = vec![s];
        }
        let server = conf.nameservers.first().copied().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let id = self.query_id();
        let resolver = cmd.resolver(&conf, id);
        let result = self.run_resolver(target, resolver);
        let text = nslookup_bind9(server, &result);
        let exit_code = if result.status == LookupStatus::Found { 0 } else { 1 };
        ExecOutput { stdout: text, exit_code, ..Default::default() }
    }

    /// busybox ≥ 1.29's applet: its own queries, printed as the replies arrive.
    fn nslookup_busybox(&mut self, target: &Target, args: &[String]) -> ExecOutput {
        use crate::dns::busybox_nslookup::{Command, Lookup, Refused};
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let conf = self.resolv_conf(target);
        let id = self.query_id();
        let mut lookup = match Command::parse(&refs).and_then(|c| Lookup::new(&c, &conf, id)) {
            Ok(l) => l,
            Err(Refused(stderr)) => return ExecOutput { stderr, exit_code: 1, ..Default::default() },
        };
        self.drive_client(target, &mut lookup);
        let (stdout, exit_code) = lookup.output();
        ExecOutput { stdout: stdout.to_string(), exit_code, ..Default::default() }
    }

    /// busybox 1.28's applet: the server's PTR, getaddrinfo through the image's libc, and a
    /// PTR for each address (getnameinfo), every query sent through the dataplane.
    fn nslookup_busybox_legacy(&mut self, target: &Target, args: &[String]) -> ExecOutput {
        use crate::dns::busybox_nslookup::{LegacyCommand, Refused, legacy_output, ptr_name};
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = match LegacyCommand::parse(&refs) {
            Ok(c) => c,
            Err(Refused(stderr)) => return ExecOutput { stderr, exit_code: 1, ..Default::default() },
        };
        let mut conf = self.resolv_conf(target);
        if let Some(s) = cmd.server {
            conf.nameservers.truncate(1);
            match conf.nameservers.first_mut() {
                Some(first) => *first = s,
                None => conf.nameservers.push(s),
            }
        }
        let server = conf.nameservers.first().copied().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let flavour = ResolverFlavour::for_image(&self.image_of(target));
        let reverse = |this: &mut Self, ip: IpAddr| {
            let id = this.query_id();
            let name = crate::dns::coredns::reverse_name(ip).to_string();
            let r = StubResolver::for_qtype(flavour, &conf, &name, crate::dns::RecordType::Ptr, false, id);
            ptr_name(&this.run_resolver(target, r))
        };
        let server_ptr = reverse(self, server);
        let addresses: Option<Vec<IpAddr>> = match cmd.host.parse::<IpAddr>() {
            Ok(ip) => Some(vec![ip]),
            Err(_) => {
                let id = self.query_id();
                let r = StubResolver::new(flavour, &conf, &cmd.host, AddressFamily::Unspec, id);
                let result = self.run_resolver(target, r);
                (result.status == LookupStatus::Found).then_some(result.addresses)
            }
        };
        let named: Option<Vec<(IpAddr, Option<crate::dns::Name>)>> =
            addresses.map(|a| a.into_iter().map(|ip| (ip, reverse(self, ip))).collect());
        let (stdout, stderr, exit_code) =
            legacy_output(server, server_ptr.as_ref(), &cmd.host, named.as_deref());
        ExecOutput { stdout, stderr, exit_code, ..Default::default() }
    }

    fn dig(&mut self, target: &Target, args: &[String]) -> ExecOutput {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = match DigCommand::parse(&refs) {
            Ok(c) => c,
            Err(e) => return ExecOutput::err(format!("dig: {e}"), 1),
        };
        let conf = self.resolv_conf(target);
        let server = cmd
            .server
            .or_else(|| conf.nameservers.first().copied())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let IpAddr::V4(server4) = server else {
            return ExecOutput::err("dig: IPv6 servers are not simulated", 1);
        };
        let Some(host) = self.host_of(target) else { return ExecOutput::err("host is down", 1) };
        let id = self.query_id();
        let mut cookie = [0u8; 8];
        let mut rng = SimRng::new(self.seed()).fork(&format!("dig/{id}"));
        for b in &mut cookie {
            *b = rng.next_u32() as u8;
        }
        let query = match cmd.query(id, cookie) {
            Ok(q) => q,
            Err(e) => return ExecOutput::err(format!("dig: {e}"), 1),
        };
        let mut start = self.now();
        let (_, mut conv) = self.converse(
            host,
            ConvProto::Udp,
            SocketAddrV4::new(server4, 53),
            query.encode(),
            SimDuration::from_secs(5),
        );
        // dighost.c: a truncated UDP answer is asked again as a new lookup over TCP (a new id).
        let mut prefix = String::new();
        let mut tcp = false;
        if let Some(Outcome::Completed { response }) = &conv.outcome
            && Message::decode(response).is_ok_and(|m| m.header.flags.tc)
        {
            prefix.push_str(";; Truncated, retrying in TCP mode.\n");
            let mut again = query.clone();
            again.header.id = self.query_id();
            start = self.now();
            tcp = true;
            let framed = crate::dns::message::frame_tcp(&again.encode());
            conv = self
                .converse(
                    host,
                    ConvProto::Tcp,
                    SocketAddrV4::new(server4, 53),
                    framed,
                    SimDuration::from_secs(5),
                )
                .1;
            if let Some(Outcome::Completed { response }) = &mut conv.outcome {
                *response =
                    crate::dns::message::unframe_tcp(response).map(<[u8]>::to_vec).unwrap_or_default();
            }
        }
        match conv.outcome {
            Some(Outcome::Completed { response }) => {
                let ms = conv.finished.unwrap_or(start).saturating_since(start).as_millis();
                let run = DigRun {
                    version: "9.18.24".to_string(),
                    args: cmd.args.clone(),
                    server,
                    query_time_ms: ms,
                    when: ctime_utc(self.world().api.config().epoch_unix_secs, self.now()),
                    tcp,
                };
                ExecOutput::out(format!("{prefix}{}", dig(&run, &response, cmd.style)))
            }
            other => {
                // dighost.c: each of the three tries reports why it failed, in isc_result's words.
                let why = match other {
                    Some(Outcome::Unreachable { icmp_type: 3, code: 3, .. }) => "connection refused",
                    Some(Outcome::Unreachable { icmp_type: 3, code: 1, .. }) => "host unreachable",
                    Some(Outcome::Unreachable { icmp_type: 3, code: 0, .. }) | Some(Outcome::NoRoute) => {
                        "network unreachable"
                    }
                    _ => "timed out",
                };
                let line = format!(";; communications error to {server}#53: {why}\n");
                ExecOutput {
                    stdout: format!(
                        "{line}{line}{line}\n; <<>> DiG 9.18.24 <<>> {}\n;; global options: +cmd\n;; no servers could be reached\n",
                        cmd.args
                    ),
                    exit_code: 9,
                    ..Default::default()
                }
            }
        }
    }

    fn cat(&self, target: &Target, path: &str) -> ExecOutput {
        match path {
            "/etc/resolv.conf" => ExecOutput::out(self.resolv_conf(target).render()),
            "/etc/hosts" => ExecOutput::out(self.hosts_file(target)),
            other => ExecOutput::err(format!("cat: can't open '{other}': No such file or directory"), 1),
        }
    }

    fn env(&self, target: &Target) -> ExecOutput {
        let Target::Pod { namespace, name } = target else {
            return ExecOutput::out(format!(
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME={}\nHOME=/root\n",
                self.hostname(target)
            ));
        };
        let w = self.world();
        let Some(rt) = w.pods.get(&pod_key(namespace, name)) else {
            return ExecOutput::err("pod not running", 1);
        };
        let enable = self.pod(namespace, name).and_then(|p| p.spec.enable_service_links).unwrap_or(true);
        let view = w.dns.borrow();
        let services: Vec<_> = view
            .view
            .services
            .iter()
            .filter(|s| {
                (s.namespace == *namespace && rt.env_services.contains(&s.name))
                    || (s.namespace == "default" && s.name == "kubernetes")
            })
            .cloned()
            .collect();
        let vars = crate::dns::env::service_env(&services, namespace, enable);
        let mut out = String::from("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
        out.push_str(&format!("HOSTNAME={}\n", self.hostname(target)));
        let pod = self.pod(namespace, name);
        let (env_from, env) = match pod.and_then(|p| Some((p, p.spec.containers.first()?))) {
            Some((p, c)) => (self.env_from(namespace, c), self.env_values(p, c)),
            None => (Vec::new(), Vec::new()),
        };
        let vars = crate::dns::env::container_env(&env_from, &env, &vars);
        out.push_str(&crate::dns::env::render_env(&vars));
        out.push_str("HOME=/root\n");
        ExecOutput::out(out)
    }

    /// A container's `envFrom` sources: ConfigMaps' data and Secrets' decoded data under their
    /// prefixes (a missing source contributes nothing, where the kubelet would refuse to start
    /// a container whose source is not `optional`).
    fn env_from(&self, namespace: &str, c: &crate::api::Container) -> Vec<(String, Vec<(String, String)>)> {
        let Some(serde_json::Value::Array(sources)) = &c.env_from else { return Vec::new() };
        let name_of = |src: &serde_json::Value, field: &str| {
            src.get(field).and_then(|r| r.get("name")).and_then(serde_json::Value::as_str).map(str::to_string)
        };
        let mut out = Vec::new();
        for src in sources {
            let prefix = src.get("prefix").and_then(serde_json::Value::as_str).unwrap_or("").to_string();
            if let Some(cm) = name_of(src, "configMapRef").and_then(|n| self.config_map(namespace, &n)) {
                out.push((prefix, cm.data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
            } else if let Some(secret) = name_of(src, "secretRef").and_then(|n| self.secret(namespace, &n)) {
                out.push((prefix, secret.decoded_data()));
            }
        }
        out
    }

    /// A container's `env` values: literals, `valueFrom.configMapKeyRef` and `secretKeyRef`
    /// looked up, `fieldRef` from the pod (the downward API); `resourceFieldRef` is empty
    /// (resources are not simulated).
    fn env_values(&self, pod: &crate::api::Pod, c: &crate::api::Container) -> Vec<(String, String)> {
        let namespace = pod.metadata.namespace.as_str();
        let key_ref = |r: &serde_json::Value| -> Option<(String, String)> {
            Some((r.get("name")?.as_str()?.to_string(), r.get("key")?.as_str()?.to_string()))
        };
        c.env
            .iter()
            .map(|e| {
                let from = e.value_from.as_ref().and_then(|v| {
                    if let Some((name, key)) = v.get("configMapKeyRef").and_then(key_ref) {
                        return self.config_map(namespace, &name)?.data.get(&key).cloned();
                    }
                    if let Some((name, key)) = v.get("secretKeyRef").and_then(key_ref) {
                        return self.secret(namespace, &name)?.decoded(&key);
                    }
                    let path = v.get("fieldRef")?.get("fieldPath")?.as_str()?;
                    crate::dns::env::field_ref(pod, path)
                });
                (e.name.clone(), e.value.clone().or(from).unwrap_or_default())
            })
            .collect()
    }

    fn secret(&self, namespace: &str, name: &str) -> Option<&crate::api::Secret> {
        match self.world().api.get_named(Kind::Secret, namespace, name) {
            Some(Object::Secret(s)) => Some(s),
            _ => None,
        }
    }

    fn config_map(&self, namespace: &str, name: &str) -> Option<&crate::api::ConfigMap> {
        self.world().api.get_named(Kind::ConfigMap, namespace, name).and_then(Object::as_config_map)
    }

    fn conntrack(&mut self, host: HostId, args: &[String]) -> ExecOutput {
        let now = self.now();
        let (cmd, rest) = match args.split_first() {
            Some((c, r)) => (c.as_str(), r),
            None => ("-L", &[][..]),
        };
        let refs: Vec<&str> = rest.iter().map(String::as_str).collect();
        let filter = match CtFilter::parse(&refs) {
            Ok(f) => f,
            Err(e) => return ExecOutput::err(format!("conntrack v1.4.6 (conntrack-tools): {e}"), 2),
        };
        let cpus = self.world().nodes.iter().find(|n| n.host == host).map_or(1, |n| n.cpus);
        let Ok(h) = self.world_mut().net.host_mut(host) else { return ExecOutput::err("host is down", 1) };
        match cmd {
            "-L" | "--dump" => {
                let l = h.conntrack.list(now, &filter);
                ExecOutput { stdout: l.stdout, stderr: l.stderr, ..Default::default() }
            }
            "-C" | "--count" => ExecOutput::out(format!("{}\n", h.conntrack.list(now, &filter).count)),
            "-S" | "--stats" => ExecOutput::out(h.conntrack.stats().render(cpus)),
            "-D" | "--delete" => {
                let deleted = h.conntrack.delete(now, &filter);
                let mut stdout = String::new();
                for e in &deleted {
                    stdout.push_str(&sim_net::conntrack::print::entry_line(e, now));
                    stdout.push('\n');
                }
                let n = deleted.len();
                ExecOutput {
                    stdout,
                    stderr: format!(
                        "conntrack v1.4.6 (conntrack-tools): {n} flow entries have been deleted.\n"
                    ),
                    exit_code: if n == 0 { 1 } else { 0 },
                    ..Default::default()
                }
            }
            "-F" | "--flush" => {
                h.conntrack.delete(now, &CtFilter::default());
                ExecOutput {
                    stderr:
                        "conntrack v1.4.6 (conntrack-tools): connection tracking table has been emptied.\n"
                            .into(),
                    ..Default::default()
                }
            }
            other => ExecOutput::err(
                format!(
                    "conntrack v1.4.6 (conntrack-tools): unknown command `{other}' (simulated: -L, -D, -C, -S, -F)"
                ),
                2,
            ),
        }
    }
}

/// A disposition in the scenario spelling (docs/scenario-format.md).
pub fn disposition_name(d: &sim_net::network::Disposition) -> &'static str {
    use sim_net::network::Disposition as D;
    match d {
        D::Delivered(_) => "delivered",
        D::DroppedByRule(_) | D::DroppedByPolicy(..) | D::DroppedByNft(_) => "dropped",
        D::Rejected(..) | D::RejectedByNft(..) => "rejected",
        D::NoRoute => "no-route",
        D::HostUnreachable => "host-unreachable",
        D::NoListener => "no-listener",
        D::NoSocket => "no-socket",
        D::TtlExceeded => "ttl-exceeded",
        D::ConntrackFull => "conntrack-full",
        D::ConntrackInsertFailed => "insert-failed",
        D::InterfaceDown => "interface-down",
        D::Partitioned => "partitioned",
        D::ForwardingDisabled => "forwarding-disabled",
        D::Martian => "martian",
        D::NatFailed => "nat-failed",
        D::HairpinDropped => "hairpin-dropped",
        D::IpvsDropped(_) => "ipvs-dropped",
    }
}

/// The errno text of a failed connect, as busybox and OpenBSD tools print it.
/// iputils' reply `time=`: whole milliseconds from 100 ms, one decimal from 10 ms, two from
/// 1 ms, three below (`gather_statistics`), from the round trip in microseconds.
fn iputils_time(us: i64) -> String {
    if us >= 100_000 - 50 {
        format!("{} ms", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        format!("{}.{} ms", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1000 {
        format!("{}.{:02} ms", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        format!("{}.{:03} ms", us / 1000, us % 1000)
    }
}

/// iputils' `rtt min/avg/max/mdev` line from the round trips in microseconds (`finish`: the
/// integer average and the integer square root of the integer variance).
fn iputils_rtt_line(rtts: &[i64]) -> String {
    let total = rtts.len().max(1) as i64;
    let tsum: i64 = rtts.iter().sum();
    let tsum2: i64 = rtts.iter().map(|t| t * t).sum();
    let tmin = rtts.iter().copied().min().unwrap_or(0);
    let tmax = rtts.iter().copied().max().unwrap_or(0);
    let tmavg = tsum / total;
    let tmvar = if tsum < i64::from(i32::MAX) {
        (tsum2 - (tsum * tsum) / total) / total
    } else {
        tsum2 / total - tmavg * tmavg
    };
    let tmdev = isqrt(tmvar);
    let f = |v: i64| format!("{}.{:03}", v / 1000, v % 1000);
    format!("rtt min/avg/max/mdev = {}/{}/{}/{} ms\n", f(tmin), f(tmavg), f(tmax), f(tmdev))
}

/// iputils' `llsqrt` (Newton's method on integers; 0 for a non-positive argument).
fn isqrt(a: i64) -> i64 {
    let mut prev = i64::MAX;
    let mut x = a;
    if x > 0 {
        while x < prev {
            prev = x;
            x = (x + a / x) / 2;
        }
    }
    x.max(0)
}

/// C's `printf("%g", v)` for a non-negative value below 1e6: six significant digits, trailing
/// zeros and a trailing point removed (ping's packet loss, `33.3333`).
fn c_format_g(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let exp = v.abs().log10().floor() as i32;
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

fn connect_error(o: Option<&Outcome>) -> &'static str {
    match o {
        Some(Outcome::Refused) => "Connection refused",
        Some(Outcome::TimedOut) | None => "Connection timed out",
        Some(Outcome::NoRoute) => "Network is unreachable",
        Some(Outcome::NotPermitted) => "Operation not permitted",
        Some(Outcome::Unreachable { code: 0, .. }) => "Network is unreachable",
        Some(Outcome::Unreachable { code: 3, .. }) => "Connection refused",
        Some(Outcome::Unreachable { .. }) => "No route to host",
        Some(Outcome::Reset) => "Connection reset by peer",
        Some(Outcome::Completed { .. }) | Some(Outcome::Failed(_)) => "Connection failed",
    }
}

fn broken_down(epoch: i64, now: SimTime) -> (&'static str, &'static str, u32, i64, i64, i64, i64) {
    let t = epoch + now.as_secs() as i64;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = crate::apiserver::naming::civil_from_days(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let wd = WD[days.rem_euclid(7) as usize];
    let mo = crate::apiserver::naming::month_abbrev(m);
    (wd, mo, d, secs / 3600, (secs % 3600) / 60, secs % 60, y)
}

/// C `ctime` of simulated now (`Mon Jan  1 00:00:05 2024`), as iptables-save stamps its banner.
pub fn ctime(epoch: i64, now: SimTime) -> String {
    let (wd, mo, d, h, mi, s, y) = broken_down(epoch, now);
    format!("{wd} {mo} {d:>2} {h:02}:{mi:02}:{s:02} {y}")
}

/// dig's `WHEN:` stamp (`Mon Jan 01 00:00:05 UTC 2024`).
pub fn ctime_utc(epoch: i64, now: SimTime) -> String {
    let (wd, mo, d, h, mi, s, y) = broken_down(epoch, now);
    format!("{wd} {mo} {d:02} {h:02}:{mi:02}:{s:02} UTC {y}")
}

/// `nft ARGS...` on a namespace's ruleset: `list ruleset`, `list table|chain|set|map [FAMILY]
/// TABLE [NAME]`, or any other command line applied as a one-command transaction.
/// `interfaces` are the namespace's (what `iif` and `oif` may name).
pub fn nft_command(
    nft: &mut sim_net::nftables::Nftables,
    interfaces: &[String],
    args: &[String],
) -> ExecOutput {
    use sim_net::nftables::Family;
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let not_found = || ExecOutput::err(format!("Error: No such file or directory\n{}\n", words.join(" ")), 1);
    match words.as_slice() {
        [] => ExecOutput::err("nft: no command specified", 1),
        ["list", "ruleset"] => ExecOutput::out(nft.list_ruleset()),
        ["list", what, rest @ ..] => {
            let (family, rest) = match rest {
                [f, r @ ..] if let Some(family) = Family::parse(f) => (family, r),
                r => (Family::Ip, r),
            };
            let listed = match (*what, rest) {
                ("table", [t]) => nft.list_table(family, t),
                ("chain", [t, c]) => nft.list_chain(family, t, c),
                ("set" | "map", [t, s]) => nft.list_set(family, t, s),
                _ => {
                    return ExecOutput::err(
                        format!("Error: syntax error, unexpected end of file\n{}\n", words.join(" ")),
                        1,
                    );
                }
            };
            match listed {
                Some(text) => ExecOutput::out(text),
                None => not_found(),
            }
        }
        _ => {
            let before = nft.ruleset().table_names();
            match nft.apply_in("/dev/stdin", &words.join(" "), Some(interfaces)) {
                // A table netsim loads but does not evaluate is named (nft prints nothing).
                Ok(()) => ExecOutput {
                    stderr: nft.ruleset().unevaluated_notes(&before),
                    ..ExecOutput::out(String::new())
                },
                Err(e) => ExecOutput::err(format!("{e}\n"), 1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctime_matches_c() {
        // 2024-01-01 was a Monday.
        assert_eq!(ctime(1_704_067_200, SimTime::ZERO), "Mon Jan  1 00:00:00 2024");
        assert_eq!(
            ctime(1_704_067_200, SimTime::from_nanos(86_400 * 32 * 1_000_000_000)),
            "Fri Feb  2 00:00:00 2024"
        );
        assert_eq!(ctime_utc(1_704_067_200, SimTime::ZERO), "Mon Jan 01 00:00:00 UTC 2024");
    }

    #[test]
    fn ping_summary_numbers_as_iputils_prints_them() {
        // finish(): `%g` of a float percentage.
        assert_eq!(c_format_g(0.0), "0");
        assert_eq!(c_format_g(100.0), "100");
        assert_eq!(c_format_g(f64::from((200.0f64 / 3.0) as f32)), "66.6667");
        assert_eq!(c_format_g(f64::from((100.0f64 / 3.0) as f32)), "33.3333");
        assert_eq!(c_format_g(0.5), "0.5");
        // gather_statistics(): the reply time's precision follows its size.
        assert_eq!(iputils_time(87), "0.087 ms");
        assert_eq!(iputils_time(1234), "1.23 ms");
        assert_eq!(iputils_time(12_345), "12.3 ms");
        assert_eq!(iputils_time(123_456), "123 ms");
        // Integer microseconds: 100 us and 300 us average 200 us, mdev 100 us.
        assert_eq!(iputils_rtt_line(&[100, 300]), "rtt min/avg/max/mdev = 0.100/0.200/0.300/0.100 ms\n");
    }
}
