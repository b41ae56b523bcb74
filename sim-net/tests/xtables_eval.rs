//! Evaluation of the xtables extensions (`netfilter::ext` and the extended tcp, conntrack,
//! set and LOG options), one semantic per test, with the kernel function each follows.

use std::net::Ipv4Addr;

use sim_core::SimTime;
use sim_net::conntrack::{Conntrack, CtClass, CtConfig, CtStatus, Direction};
use sim_net::netfilter::ext::{ExtContext, PayloadAssumption};
use sim_net::netfilter::{
    AddrType, CtState, Decider, Decision, Hook, HookContext, HookResult, HookVerdict, NatRequest, Netfilter,
    NfStep,
};
use sim_net::wire::{Packet, TcpFlags};

struct NoRandom;
impl Decider for NoRandom {
    fn statistic(&mut self, _: u32) -> bool {
        false
    }
}

const NODE: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn addr_type(a: Ipv4Addr) -> AddrType {
    if a == NODE || a.is_loopback() { AddrType::Local } else { AddrType::Unicast }
}

fn nf(text: &str) -> Netfilter {
    let mut n = Netfilter::new();
    n.restore(text, false).unwrap_or_else(|e| panic!("{e}"));
    n
}

fn ms(n: u64) -> SimTime {
    SimTime::from_nanos(n * 1_000_000)
}

/// Runs `hook` with a NEW-connection context at `now`; returns the result and the trace.
fn run(
    n: &mut Netfilter,
    hook: Hook,
    pkt: &mut Packet,
    now: SimTime,
    ext: ExtContext<'_>,
) -> (HookResult, Vec<NfStep>) {
    let (i, o) = match hook {
        Hook::Prerouting | Hook::Input => (Some("eth0"), None),
        Hook::Forward => (Some("eth0"), Some("eth1")),
        Hook::Output | Hook::Postrouting => (None, Some("eth0")),
    };
    let ctx = HookContext {
        now,
        in_iface: i,
        out_iface: o,
        ct_state: CtState::New,
        ct_new: true,
        ct_seen_reply: false,
        addr_type: &addr_type,
        ext,
    };
    let mut trace = Vec::new();
    let r = n.run_hook(hook, pkt, &ctx, &mut NoRandom, Some(&mut trace));
    (r, trace)
}

fn syn(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Packet {
    Packet::tcp(src, sport, dst, dport, TcpFlags::SYN)
}

fn verdict(n: &mut Netfilter, hook: Hook, mut pkt: Packet, now: SimTime) -> HookVerdict {
    run(n, hook, &mut pkt, now, ExtContext::default()).0.verdict
}

fn assumed(trace: &[NfStep]) -> Vec<(&'static str, &'static str)> {
    trace
        .iter()
        .filter_map(|s| match s {
            NfStep::Assumed { ext, what, .. } => Some((*ext, *what)),
            _ => None,
        })
        .collect()
}

#[test]
fn limit_is_xt_limits_token_bucket_in_simulated_time() {
    // 2/sec, burst 3: three packets pass at once, the fourth not; 500 ms (one period, 125
    // jiffies at HZ=250) refill exactly one credit (limit_mt).
    let mut n =
        nf("*filter\n:INPUT DROP [0:0]\n-A INPUT -m limit --limit 2/sec --limit-burst 3 -j ACCEPT\nCOMMIT\n");
    let v: Vec<HookVerdict> =
        (0..4).map(|_| verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0))).collect();
    assert_eq!(v, [HookVerdict::Accept, HookVerdict::Accept, HookVerdict::Accept, HookVerdict::Drop]);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(499)), HookVerdict::Drop);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(500)), HookVerdict::Accept);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(500)), HookVerdict::Drop);
    // A long pause refills to the burst, not beyond.
    let v: Vec<HookVerdict> =
        (0..4).map(|_| verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(60_000))).collect();
    assert_eq!(v, [HookVerdict::Accept, HookVerdict::Accept, HookVerdict::Accept, HookVerdict::Drop]);
    // The bucket is run-time state: the saved rule is unchanged and `-D` finds it.
    assert!(
        n.command(&["-D", "INPUT", "-m", "limit", "--limit", "2/s", "--limit-burst", "3", "-j", "ACCEPT"])
            .is_ok()
    );
}

#[test]
fn hashlimit_keeps_a_bucket_per_key_and_above_inverts() {
    let mut n = nf(
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -m hashlimit --hashlimit-upto 1/sec --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name h -j ACCEPT\nCOMMIT\n",
    );
    let other = Ipv4Addr::new(10, 0, 0, 2);
    let v: Vec<HookVerdict> = [CLIENT, CLIENT, CLIENT, other, other]
        .iter()
        .map(|s| verdict(&mut n, Hook::Input, syn(*s, 1, NODE, 80), ms(0)))
        .collect();
    use HookVerdict::*;
    assert_eq!(v, [Accept, Accept, Drop, Accept, Accept]);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(1000)), Accept);
    // --hashlimit-above: matches (drops) once the rate is exceeded.
    let mut n = nf(
        "*filter\n-A INPUT -m hashlimit --hashlimit-above 1/sec --hashlimit-burst 1 --hashlimit-mode srcip,dstport --hashlimit-name a -j DROP\nCOMMIT\n",
    );
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0)), Accept);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0)), Drop);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 81), ms(0)), Accept);
}

#[test]
fn physdev_without_a_bridge_matches_only_inverted_options() {
    // physdev_mt: no nf_bridge info → match iff every given option is inverted.
    let rules = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m physdev --physdev-is-bridged -j ACCEPT\n-A FORWARD -m physdev ! --physdev-is-bridged -p udp -j ACCEPT\n-A FORWARD -m physdev --physdev-in veth+ -p tcp -m tcp --dport 9 -j ACCEPT\nCOMMIT\n";
    let mut n = nf(rules);
    assert_eq!(verdict(&mut n, Hook::Forward, syn(CLIENT, 1, NODE, 80), ms(0)), HookVerdict::Drop);
    assert_eq!(verdict(&mut n, Hook::Forward, Packet::udp(CLIENT, 1, NODE, 53), ms(0)), HookVerdict::Accept);
    // Bridged in through veth1 (a br_netfilter frame): --physdev-in veth+ matches.
    let mut p = syn(CLIENT, 1, NODE, 9);
    let ext = ExtContext { physdev_in: Some("veth1"), ..Default::default() };
    assert_eq!(run(&mut n, Hook::Forward, &mut p, ms(0), ext).0.verdict, HookVerdict::Accept);
}

#[test]
fn owner_sees_root_on_local_packets_and_is_refused_where_there_is_no_socket() {
    let mut n = nf(
        "*filter\n-A OUTPUT -m owner --uid-owner 1000 -j DROP\n-A OUTPUT -m owner --uid-owner 0 -p udp -j DROP\nCOMMIT\n",
    );
    let mut p = syn(NODE, 1, CLIENT, 80);
    let (r, t) = run(&mut n, Hook::Output, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.verdict, HookVerdict::Accept);
    assert!(assumed(&t).contains(&("owner", "the sending process runs as uid 0, gid 0")));
    assert_eq!(verdict(&mut n, Hook::Output, Packet::udp(NODE, 1, CLIENT, 53), ms(0)), HookVerdict::Drop);
    // xt_owner's hooks are OUTPUT and POSTROUTING: the kernel refuses it in FORWARD and
    // INPUT (both real iptables backends, v1.8.9, measured), even from a user chain.
    for text in [
        "*filter\n-A FORWARD -m owner ! --socket-exists -j DROP\nCOMMIT\n",
        "*filter\n:X - [0:0]\n-A INPUT -j X\n-A X -m owner --socket-exists -j DROP\nCOMMIT\n",
    ] {
        assert!(Netfilter::new().restore(text, false).is_err(), "{text}");
    }
}

#[test]
fn tcp_flags_syn_and_options() {
    let mut n = nf(
        "*filter\n-A INPUT -p tcp --tcp-flags ALL NONE -j DROP\n-A INPUT -p tcp ! --syn -m tcp --dport 1 -j DROP\n-A INPUT -p tcp -m tcp --dport 2 --tcp-option 2 -j DROP\nCOMMIT\n",
    );
    let pkt = |flags: TcpFlags, dport| Packet::tcp(CLIENT, 1, NODE, dport, flags);
    assert_eq!(verdict(&mut n, Hook::Input, pkt(TcpFlags(0), 80), ms(0)), HookVerdict::Drop);
    assert_eq!(verdict(&mut n, Hook::Input, pkt(TcpFlags::SYN, 1), ms(0)), HookVerdict::Accept);
    assert_eq!(verdict(&mut n, Hook::Input, pkt(TcpFlags::ACK, 1), ms(0)), HookVerdict::Drop);
    // MSS (option 2) is on a SYN, not on later segments.
    assert_eq!(verdict(&mut n, Hook::Input, pkt(TcpFlags::SYN, 2), ms(0)), HookVerdict::Drop);
    assert_eq!(verdict(&mut n, Hook::Input, pkt(TcpFlags::ACK, 2), ms(0)), HookVerdict::Accept);
}

#[test]
fn conntrack_tuple_options_read_the_entry() {
    let mut ct = Conntrack::new(CtConfig::default());
    let first = syn(CLIENT, 40000, Ipv4Addr::new(10, 96, 0, 1), 443);
    let CtClass::New(mut e) = ct.packet_in(ms(0), &first) else { panic!("not new") };
    let mut n = nf(
        "*filter\n-A FORWARD -m conntrack --ctstate DNAT --ctorigdst 10.96.0.1 --ctorigdstport 443 --ctdir ORIGINAL -j DROP\n-A FORWARD -m conntrack --ctdir REPLY -j REJECT\nCOMMIT\n",
    );
    // Not DNATed: the first rule fails on its state; the second on the direction.
    let mut p = first.clone();
    let ext = ExtContext { ct: Some((&e, Direction::Original)), ..Default::default() };
    assert_eq!(run(&mut n, Hook::Forward, &mut p, ms(0), ext).0.verdict, HookVerdict::Accept);
    // After DNAT to a pod the original tuple still says 10.96.0.1:443.
    e.status.set(CtStatus::DST_NAT);
    let mut p = syn(CLIENT, 40000, Ipv4Addr::new(10, 244, 1, 5), 8443);
    let ext = ExtContext { ct: Some((&e, Direction::Original)), ..Default::default() };
    assert_eq!(run(&mut n, Hook::Forward, &mut p, ms(0), ext).0.verdict, HookVerdict::Drop);
    // A reply of the connection.
    let mut p =
        Packet::tcp(Ipv4Addr::new(10, 244, 1, 5), 8443, CLIENT, 40000, TcpFlags::SYN.with(TcpFlags::ACK));
    let ext = ExtContext { ct: Some((&e, Direction::Reply)), ..Default::default() };
    assert!(matches!(run(&mut n, Hook::Forward, &mut p, ms(0), ext).0.verdict, HookVerdict::Reject(_)));
}

#[test]
fn connmark_and_connmark_target_share_the_connection_mark() {
    let mut n = nf(
        "*mangle\n-A PREROUTING -j CONNMARK --set-xmark 0x5/0xff\n-A PREROUTING -m connmark --mark 0x5 -j MARK --set-mark 0x7\nCOMMIT\n",
    );
    let mut p = syn(CLIENT, 1, NODE, 80);
    let (r, _) = run(&mut n, Hook::Prerouting, &mut p, ms(0), ExtContext::default());
    assert_eq!((p.mark, r.ct_mark), (7, Some(5)));
    // --restore-mark copies the entry's mark to the packet.
    let mut ct = Conntrack::new(CtConfig::default());
    let CtClass::New(mut e) = ct.packet_in(ms(0), &p) else { panic!("not new") };
    e.mark = 0x30;
    let mut n = nf("*mangle\n-A PREROUTING -j CONNMARK --restore-mark --mask 0xf0\nCOMMIT\n");
    let mut p = syn(CLIENT, 1, NODE, 80);
    run(
        &mut n,
        Hook::Prerouting,
        &mut p,
        ms(0),
        ExtContext { ct: Some((&e, Direction::Original)), ..Default::default() },
    );
    assert_eq!(p.mark, 0x30);
}

#[test]
fn redirect_netmap_and_tproxy() {
    let mut n = nf(
        "*nat\n-A PREROUTING -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8080\n-A PREROUTING -d 10.0.0.0/24 -j NETMAP --to 192.168.0.0/24\n-A OUTPUT -p udp -j REDIRECT\nCOMMIT\n",
    );
    let mut p = syn(CLIENT, 1, Ipv4Addr::new(1, 2, 3, 4), 80);
    let ext = ExtContext { in_addr: Some(Ipv4Addr::new(10, 9, 9, 9)), ..Default::default() };
    let (r, _) = run(&mut n, Hook::Prerouting, &mut p, ms(0), ext);
    assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 9, 9, 9), port: Some(8080) }));
    let mut p = Packet::udp(CLIENT, 1, Ipv4Addr::new(10, 0, 0, 7), 53);
    let (r, _) = run(&mut n, Hook::Prerouting, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(192, 168, 0, 7), port: None }));
    let mut p = Packet::udp(NODE, 1, Ipv4Addr::new(8, 8, 8, 8), 53);
    let (r, _) = run(&mut n, Hook::Output, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::LOCALHOST, port: Some(53) }));
    // TPROXY: no IP_TRANSPARENT socket in the model, so tproxy_tg4 drops; the trace says why.
    let mut n = nf("*mangle\n-A PREROUTING -p tcp -j TPROXY --on-port 15001 --tproxy-mark 0x1/0x1\nCOMMIT\n");
    let mut p = syn(CLIENT, 1, NODE, 80);
    let (r, t) = run(&mut n, Hook::Prerouting, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.verdict, HookVerdict::Drop);
    assert!(matches!(r.decided_by, Some(Decision::Rule(_))));
    assert_eq!(assumed(&t)[0].0, "TPROXY");
}

#[test]
fn ttl_target_then_ttl_match() {
    let mut n = nf(
        "*mangle\n-A FORWARD -j TTL --ttl-set 5\nCOMMIT\n*filter\n-A FORWARD -m ttl --ttl-eq 5 -p udp -j DROP\n-A FORWARD -m ttl --ttl-lt 5 -j DROP\nCOMMIT\n",
    );
    assert_eq!(verdict(&mut n, Hook::Forward, Packet::udp(CLIENT, 1, NODE, 53), ms(0)), HookVerdict::Drop);
    let mut p = syn(CLIENT, 1, NODE, 80);
    run(&mut n, Hook::Forward, &mut p, ms(0), ExtContext::default());
    assert_eq!(p.ttl, 5);
}

#[test]
fn set_target_adds_what_set_match_then_sees() {
    let mut n = Netfilter::new();
    n.ipset(&["create", "SEEN", "hash:ip"]).unwrap();
    n.restore(
        "*filter\n-A INPUT -m set --match-set SEEN src -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j SET --add-set SEEN src\nCOMMIT\n",
        false,
    )
    .unwrap();
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0)), HookVerdict::Accept);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 22), ms(0)), HookVerdict::Accept);
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0)), HookVerdict::Drop);
    assert!(n.ipset(&["test", "SEEN", "10.0.0.1"]).is_ok());
}

#[test]
fn payload_matches_are_not_evaluated_and_say_so() {
    let rules = "*filter\n-A INPUT -p tcp -m string --string \"GET /admin\" --algo bm -j DROP\nCOMMIT\n";
    let mut n = nf(rules);
    let mut p = syn(CLIENT, 1, NODE, 80);
    let (r, t) = run(&mut n, Hook::Input, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.verdict, HookVerdict::Accept);
    assert_eq!(assumed(&t), [("string", "payload match not evaluated: assumed not to match")]);
    n.set_payload_assumption(PayloadAssumption::Match);
    let (r, t) = run(&mut n, Hook::Input, &mut p, ms(0), ExtContext::default());
    assert_eq!(r.verdict, HookVerdict::Drop);
    assert_eq!(assumed(&t), [("string", "payload match not evaluated: assumed to match")]);
}

#[test]
fn address_length_type_and_helper_matches() {
    let mut n = nf(
        "*filter\n-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -p udp -j DROP\n-A INPUT -m length --length 0:40 -p tcp -m tcp --dport 1 -j DROP\n-A INPUT -m pkttype --pkt-type broadcast -j DROP\n-A INPUT -m helper --helper ftp -j DROP\n-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j DROP\n-A INPUT -p gre -j DROP\n-A INPUT ! -p esp -j ACCEPT\nCOMMIT\n",
    );
    use HookVerdict::*;
    assert_eq!(verdict(&mut n, Hook::Input, Packet::udp(CLIENT, 1, NODE, 53), ms(0)), Drop);
    assert_eq!(
        verdict(&mut n, Hook::Input, Packet::udp(Ipv4Addr::new(10, 0, 0, 10), 1, NODE, 53), ms(0)),
        Accept
    );
    // A bare SYN is 40 bytes long.
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 1), ms(0)), Drop);
    assert_eq!(
        verdict(
            &mut n,
            Hook::Input,
            Packet::udp(Ipv4Addr::new(10, 1, 0, 1), 1, Ipv4Addr::BROADCAST, 67),
            ms(0)
        ),
        Drop
    );
    // No helper, no modelled MAC, no GRE traffic: nothing else matches.
    assert_eq!(verdict(&mut n, Hook::Input, syn(CLIENT, 1, NODE, 80), ms(0)), Accept);
}

#[test]
fn connlimit_counts_connections_per_source() {
    let mut n = nf(
        "*filter\n-A INPUT -p tcp -m tcp --dport 22 -m connlimit --connlimit-above 2 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
    );
    let mut ct = Conntrack::new(CtConfig::default());
    let mut v = Vec::new();
    for sport in [1000, 1001, 1002, 1000] {
        let mut p = syn(CLIENT, sport, NODE, 22);
        let CtClass::New(e) = ct.packet_in(ms(0), &p) else { panic!("not new") };
        let ext = ExtContext { ct: Some((&e, Direction::Original)), ..Default::default() };
        v.push(run(&mut n, Hook::Input, &mut p, ms(0), ext).0.verdict);
    }
    // The third connection is over the limit; the first one again is still one of two.
    assert_eq!(
        v,
        [
            HookVerdict::Accept,
            HookVerdict::Accept,
            HookVerdict::Reject(sim_net::netfilter::RejectWith::TcpReset),
            HookVerdict::Accept
        ]
    );
}

#[test]
fn unknown_extensions_are_refused_in_netsims_words_with_the_line() {
    let e = Netfilter::new()
        .restore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m foo --bar -j DROP\nCOMMIT\n", false)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "iptables-restore: line 3: match `foo' is not simulated by netsim (nor an iptables extension netsim knows of)"
    );
    let e = Netfilter::new()
        .restore("*mangle\n-A POSTROUTING -j CLASSIFY --set-class 1:10\nCOMMIT\n", false)
        .unwrap_err();
    assert_eq!(e.to_string(), "iptables-restore: line 2: target `CLASSIFY' is not simulated by netsim");
}
