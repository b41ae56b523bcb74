//! The `autopath` plugin: server-side search path completion, `autopath [ZONE...] @kubernetes`.
//!
//! Follows coredns plugin/autopath (autopath.go `ServeDNS`, `firstInSearchPath`, `cnamer`;
//! setup.go `autoPathParse`) and plugin/kubernetes autopath.go `AutoPath`: for a query from a
//! pod (found by the query's source address among the pods' `status.podIP`, which needs
//! `pods verified`) whose name lies in the first element of the pod's search path
//! (`<ns>.svc.<zone>`), CoreDNS asks the rest of its chain each name of the path in turn
//! (`<base>.<ns>.svc.<zone>`, `<base>.svc.<zone>`, `<base>.<zone>`, then `<base>.` itself,
//! which goes to `forward`) and answers with the first reply that is not NXDOMAIN, a CNAME
//! from the asked name to the found one put in front of its records. When every name is
//! NXDOMAIN the first reply goes back as it was, and the client walks its search list itself.
//! An error from a plugin (forward's "no healthy upstream" or timeout) ends the walk with
//! SERVFAIL. The name `<ns>.svc.<zone>` itself is SERVFAIL (`dnsutil.TrimZone` "overshot").
//! Without `pods verified` the kubernetes plugin gives no search path and nothing happens;
//! CoreDNS says nothing about it (netsim notes it).
//! Left out: a search path from a resolv.conf file (`autopath FILE`); the CoreDNS pod's own
//! search domains (`autoPathSearch`: the node's resolv.conf has none here).

use super::super::message::{Message, RData, Rcode, Record};
use super::super::name::Name;
use super::CoreDns;

/// Where the search path comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchSource {
    /// `@kubernetes`: per query, from the client pod.
    Kubernetes,
}

/// The autopath plugin's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutopathConfig {
    /// `ZONE...`, or the server block's zones.
    pub zones: Vec<Name>,
    /// `RESOLV-CONF`.
    pub source: SearchSource,
}

/// One query's walk along the search path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    /// The query autopath was given (after `rewrite`), the template of every step.
    query: Message,
    /// The names to ask, the asked one first, the bare base last.
    candidates: Vec<Name>,
    /// The next candidate.
    at: usize,
    /// The reply to the first one (what the client gets when every name is NXDOMAIN).
    first: Option<Message>,
}

/// What the walk needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Autopath's reply (its question is the step's; the caller gives the client its own).
    /// `None`: a plugin failed (SERVFAIL).
    Done(Option<Message>),
    /// This step goes to `forward` with simulated upstreams: send it, then [`Walk::forwarded`].
    Forward(Message),
}

/// The search path of kubernetes autopath.go `AutoPath` for a pod of namespace `ns` and the
/// kubernetes zone `zone`, with the sentinel (the root) last.
pub fn kubernetes_search(ns: &str, zone: &Name) -> Vec<Name> {
    let svc = zone.prepend("svc").unwrap_or_else(|_| zone.clone());
    let own = svc.prepend(ns).unwrap_or_else(|_| svc.clone());
    vec![own, svc, zone.clone(), Name::root()]
}

/// autopath.go `firstInSearchPath`: `name` is the first element or below it.
pub fn first_in_search_path(name: &Name, search: &[Name]) -> bool {
    search.first().is_some_and(|first| name.is_subdomain_of(first))
}

impl Walk {
    /// The walk for `query` (whose name is in `search[0]`); `None` when the name is `search[0]`
    /// itself (TrimZone fails: the caller answers SERVFAIL).
    pub fn new(query: &Message, search: &[Name]) -> Option<Walk> {
        let asked = query.question()?.name.clone();
        let first = search.first()?;
        if asked.label_count() <= first.label_count() {
            return None;
        }
        let keep = asked.label_count() - first.label_count();
        let mut candidates = Vec::new();
        for s in search {
            // A name that would be too long is one the chain cannot be asked; skip it.
            if let Ok(n) = asked.with_suffix(keep, s) {
                candidates.push(n);
            }
        }
        Some(Walk { query: query.clone(), candidates, at: 0, first: None })
    }

    /// The names the walk asks, in order.
    pub fn candidates(&self) -> &[Name] {
        &self.candidates
    }

    /// Runs the steps the process answers itself, from the next candidate on, until one goes
    /// to `forward` as a packet or the walk is over.
    pub fn run(&mut self, core: &CoreDns<'_>) -> Step {
        while let Some(name) = self.candidates.get(self.at) {
            let mut q = self.query.clone();
            if let Some(first) = q.questions.first_mut() {
                first.name = name.clone();
            }
            let (reply, forwarded) = core.resolve_step(&q);
            if forwarded {
                return Step::Forward(q);
            }
            if let Some(done) = self.take(reply) {
                return Step::Done(Some(done));
            }
        }
        Step::Done(self.first.take())
    }

    /// The forward plugin's answer to the step sent (`None`: it failed, which ends the walk).
    pub fn forwarded(&mut self, core: &CoreDns<'_>, answer: Option<Message>) -> Step {
        let Some(answer) = answer else { return Step::Done(None) };
        match self.take(answer) {
            Some(done) => Step::Done(Some(done)),
            None => self.run(core),
        }
    }

    /// One step's reply: the walk goes on after NXDOMAIN; anything else is the answer.
    fn take(&mut self, reply: Message) -> Option<Message> {
        let i = self.at;
        self.at += 1;
        if reply.header.rcode == Rcode::ServFail {
            // A plugin's error (no next plugin, a failed upstream) returns from the walk.
            return Some(reply);
        }
        if i == 0 {
            self.first = Some(reply.clone());
        }
        if reply.header.rcode == Rcode::NxDomain {
            return None;
        }
        let original = self.query.question().map(|q| q.name.clone()).unwrap_or_default();
        Some(cnamer(reply, &original))
    }
}

/// autopath.go `cnamer`: a CNAME from `original` to the owner of the first answer record
/// that is not `original`, in front of the answers (with that record's TTL); the question
/// becomes `original` again.
pub fn cnamer(mut m: Message, original: &Name) -> Message {
    if let Some(a) = m.answers.iter().find(|a| !a.name.eq_ignore_case(original)) {
        let cname = Record::new(original.clone(), a.ttl, RData::Cname(a.name.clone()));
        m.answers.insert(0, cname);
    }
    if let Some(q) = m.questions.first_mut() {
        q.name = original.clone();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::message::RecordType;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    /// autopath_test.go `TestInSearchPath`.
    #[test]
    fn first_in_search_path_as_autopath_test() {
        let search = [n("default.svc.cluster.local."), n("svc.cluster.local."), n("cluster.local.")];
        for (q, want) in [
            ("google.com", false),
            ("default.svc.cluster.local.", true),
            ("a.default.svc.cluster.local.", true),
            ("a.b.svc.cluster.local.", false),
        ] {
            assert_eq!(first_in_search_path(&n(q), &search), want, "{q}");
        }
    }

    #[test]
    fn the_kubernetes_search_path_ends_with_the_sentinel() {
        let s: Vec<String> =
            kubernetes_search("test-namespace", &n("cluster.local")).iter().map(|x| x.to_string()).collect();
        assert_eq!(s, ["test-namespace.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "."]);
    }

    #[test]
    fn candidates_keep_the_base_and_the_own_namespace_name_is_no_walk() {
        let search = kubernetes_search("default", &n("cluster.local"));
        let q = Message::query(1, n("google.com.default.svc.cluster.local"), RecordType::A);
        let w = Walk::new(&q, &search).unwrap();
        let c: Vec<String> = w.candidates().iter().map(|x| x.to_string()).collect();
        assert_eq!(
            c,
            [
                "google.com.default.svc.cluster.local.",
                "google.com.svc.cluster.local.",
                "google.com.cluster.local.",
                "google.com."
            ]
        );
        let own = Message::query(1, n("default.svc.cluster.local"), RecordType::A);
        assert!(Walk::new(&own, &search).is_none());
    }

    /// autopath_test.go `TestAutoPath`: `b.example.org. 3600 IN CNAME b.com.` before the A.
    #[test]
    fn cnamer_as_autopath_test() {
        let mut m = Message::query(1, n("b.com"), RecordType::A);
        m.answers.push(Record::new(n("b.com"), 3600, RData::A([127, 0, 0, 53].into())));
        let m = cnamer(m, &n("b.example.org"));
        assert_eq!(m.questions[0].name, n("b.example.org"));
        assert_eq!(m.answers[0], Record::new(n("b.example.org"), 3600, RData::Cname(n("b.com"))));
        assert_eq!(m.answers.len(), 2);
        // No search path expansion: the answer's owner is the question, no CNAME.
        let mut same = Message::query(1, n("a.example.com"), RecordType::A);
        same.answers.push(Record::new(n("a.example.com"), 3600, RData::A([127, 0, 0, 53].into())));
        assert_eq!(cnamer(same.clone(), &n("a.example.com")).answers, same.answers);
    }
}
