//! The template plugin against plugin/template's README examples and template_test.go's
//! handler cases (same Corefiles, same queries, the records CoreDNS gives), and its setup
//! errors as setup_test.go words them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sim_k8s::dns::corefile::setup::setup;
use sim_k8s::dns::corefile::{Corefile, CorefileError};
use sim_k8s::dns::message::{Message, Rcode, RecordType};
use sim_k8s::dns::name::Name;
use sim_k8s::dns::view::ClusterDnsView;
use sim_k8s::dns::{CoreDns, CoreDnsConfig, Upstream};

fn base() -> CoreDnsConfig {
    let ip: IpAddr = "142.250.74.46".parse().unwrap();
    CoreDnsConfig {
        upstream: Upstream::default().with_address("google.com", ip).unwrap(),
        ..CoreDnsConfig::default()
    }
}

fn load(corefile: &str) -> Result<sim_k8s::dns::corefile::setup::CorefileSetup, CorefileError> {
    let c = Corefile::parse("Corefile", corefile, &BTreeMap::new())?;
    setup(&c, &base())
}

fn ask(corefile: &str, name: &str, qtype: RecordType) -> Message {
    let s = load(corefile).unwrap();
    let n = Name::parse(name).unwrap();
    let srv = s.server_for(&n, 53).unwrap();
    let v = ClusterDnsView::default();
    let core = CoreDns { config: &srv.config, view: &v };
    let q = Message::query(1, n, qtype);
    Message::decode(&core.answer_bytes(&q.encode()).unwrap()).unwrap()
}

fn rrs(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .chain(&m.authority)
        .chain(&m.additional)
        .map(|r| format!("{}\t{}\tIN\t{}\t{}", r.name, r.ttl, r.rtype(), r.data))
        .collect()
}

#[test]
fn resolve_everything_to_nxdomain() {
    let m = ask(
        ". {\n    template ANY ANY {\n      rcode NXDOMAIN\n    }\n}\n",
        "anything.example.",
        RecordType::A,
    );
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert!(m.header.flags.aa);
    assert!(rrs(&m).is_empty());
}

const INVALID: &str = ". {
    forward . 8.8.8.8
    template ANY ANY invalid {
      rcode NXDOMAIN
      authority \"invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)\"
    }
}
";

#[test]
fn resolve_invalid_as_nxdomain_with_a_soa() {
    let m = ask(INVALID, "test.invalid.", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert_eq!(rrs(&m), ["invalid.\t60\tIN\tSOA\tns.invalid. hostmaster.invalid. 1 60 60 60 60"]);
    // Outside the template's zone: the next plugin (forward) answers.
    let m = ask(INVALID, "google.com.", RecordType::A);
    assert_eq!(rrs(&m), ["google.com.\t300\tIN\tA\t142.250.74.46"]);
}

#[test]
fn block_invalid_search_domain_completions() {
    let zone = ". {
    forward . 8.8.8.8
    template IN ANY example.com.dc1.example.com {
      rcode NXDOMAIN
      authority \"{{ .Zone }} 60 IN SOA ns.example.com hostmaster.example.com (1 60 60 60 60)\"
    }
}
";
    let m = ask(zone, "something.example.com.dc1.example.com.", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert_eq!(
        rrs(&m),
        ["example.com.dc1.example.com.\t60\tIN\tSOA\tns.example.com. hostmaster.example.com. 1 60 60 60 60"]
    );
    let regex = ". {
    forward . 8.8.8.8
    template IN ANY example.com {
      match \"example\\.com\\.(dc1\\.example\\.com\\.)$\"
      rcode NXDOMAIN
      authority \"{{ index .Match 1 }} 60 IN SOA ns.{{ index .Match 1 }} hostmaster.{{ index .Match 1 }} (1 60 60 60 60)\"
      fallthrough
    }
}
";
    let m = ask(regex, "something.example.com.dc1.example.com.", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert_eq!(
        rrs(&m),
        ["dc1.example.com.\t60\tIN\tSOA\tns.dc1.example.com. hostmaster.dc1.example.com. 1 60 60 60 60"]
    );
    // No regex matched and `fallthrough`: forward answers (the upstream has nothing: NXDOMAIN, no aa).
    let m = ask(regex, "www.example.com.", RecordType::A);
    assert_eq!(m.header.rcode, Rcode::NxDomain);
    assert!(!m.header.flags.aa);
}

const A_PTR: &str = ". {
    forward . 8.8.8.8
    # ip-a-b-c-d.example A a.b.c.d
    template IN A example {
      match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$
      answer \"{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"
      fallthrough
    }
    # d.c.b.a.in-addr.arpa PTR ip-a-b-c-d.example
    template IN PTR in-addr.arpa {
      match ^(?P<d>[0-9]*)[.](?P<c>[0-9]*)[.](?P<b>[0-9]*)[.](?P<a>[0-9]*)[.]in-addr[.]arpa[.]$
      answer \"{{ .Name }} 60 IN PTR ip-{{ .Group.a }}-{{ .Group.b }}-{{ .Group.c }}-{{ .Group.d }}.example.\"
    }
}
";

#[test]
fn resolve_a_and_ptr_for_example() {
    let m = ask(A_PTR, "ip-10-95-12-8.example.", RecordType::A);
    assert_eq!(rrs(&m), ["ip-10-95-12-8.example.\t60\tIN\tA\t10.95.12.8"]);
    // "the A record is actually a wildcard".
    let m = ask(A_PTR, "www.ip-10-95-12-8.example.", RecordType::A);
    assert_eq!(rrs(&m), ["www.ip-10-95-12-8.example.\t60\tIN\tA\t10.95.12.8"]);
    let m = ask(A_PTR, "8.12.95.10.in-addr.arpa.", RecordType::Ptr);
    assert_eq!(rrs(&m), ["8.12.95.10.in-addr.arpa.\t60\tIN\tPTR\tip-10-95-12-8.example."]);
    // The PTR template has no fallthrough: a name of its zone it does not match is SERVFAIL.
    let m = ask(A_PTR, "x.in-addr.arpa.", RecordType::Ptr);
    assert_eq!(m.header.rcode, Rcode::ServFail);
}

#[test]
fn resolve_hexadecimal_ip_pattern_using_parse_int() {
    let c = ". {
    forward . 8.8.8.8
    template IN A example {
      match \"^ip0a(?P<b>[a-f0-9]{2})(?P<c>[a-f0-9]{2})(?P<d>[a-f0-9]{2})[.]example[.]$\"
      answer \"{{ .Name }} 60 IN A 10.{{ parseInt .Group.b 16 8 }}.{{ parseInt .Group.c 16 8 }}.{{ parseInt .Group.d 16 8 }}\"
      fallthrough
    }
}
";
    // template_test.go ExampleDomainMatchHexIp.
    let m = ask(c, "ip0a5f0c09.example.", RecordType::A);
    assert_eq!(rrs(&m), ["ip0a5f0c09.example.\t60\tIN\tA\t10.95.12.9"]);
}

#[test]
fn resolve_multiple_ip_patterns() {
    let c = ". {
    forward . 8.8.8.8
    template IN A example {
      match \"^ip-(?P<a>10)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]dc[.]example[.]$\"
      match \"^(?P<a>[0-9]*)[.](?P<b>[0-9]*)[.](?P<c>[0-9]*)[.](?P<d>[0-9]*)[.]ext[.]example[.]$\"
      answer \"{{ .Name }} 60 IN A {{ .Group.a}}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"
      fallthrough
    }
}
";
    assert_eq!(
        rrs(&ask(c, "ip-10-1-2-3.dc.example.", RecordType::A)),
        ["ip-10-1-2-3.dc.example.\t60\tIN\tA\t10.1.2.3"]
    );
    assert_eq!(
        rrs(&ask(c, "1.2.3.4.ext.example.", RecordType::A)),
        ["1.2.3.4.ext.example.\t60\tIN\tA\t1.2.3.4"]
    );
    // Another type than the template's: not matched, and that falls through whatever `fallthrough` says.
    assert_eq!(ask(c, "1.2.3.4.ext.example.", RecordType::Aaaa).header.rcode, Rcode::NxDomain);
}

#[test]
fn adding_authoritative_nameservers_to_the_response() {
    let c = ". {
    forward . 8.8.8.8
    template IN A example {
      match ^ip-10-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$
      answer \"{{ .Name }} 60 IN A 10.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}\"
      authority  \"example. 60 IN NS ns0.example.\"
      authority  \"example. 60 IN NS ns1.example.\"
      additional \"ns0.example. 60 IN A 203.0.113.8\"
      additional \"ns1.example. 60 IN A 198.51.100.8\"
      fallthrough
    }
}
";
    assert_eq!(
        rrs(&ask(c, "ip-10-95-12-8.example.", RecordType::A)),
        [
            "ip-10-95-12-8.example.\t60\tIN\tA\t10.95.12.8",
            "example.\t60\tIN\tNS\tns0.example.",
            "example.\t60\tIN\tNS\tns1.example.",
            "ns0.example.\t60\tIN\tA\t203.0.113.8",
            "ns1.example.\t60\tIN\tA\t198.51.100.8",
        ]
    );
}

#[test]
fn fabricate_a_cname() {
    let c = ". {
  template IN ANY foogle.com {
    match \"^foogle\\.com\\.$\"
    answer \"foogle.com 60 IN CNAME google.com\"
  }
  forward . 8.8.8.8
}
";
    // For A the target's records are looked up and appended; for TXT only the CNAME.
    assert_eq!(
        rrs(&ask(c, "foogle.com.", RecordType::A)),
        ["foogle.com.\t60\tIN\tCNAME\tgoogle.com.", "google.com.\t300\tIN\tA\t142.250.74.46"]
    );
    assert_eq!(rrs(&ask(c, "foogle.com.", RecordType::Txt)), ["foogle.com.\t60\tIN\tCNAME\tgoogle.com."]);
    // Its zone, no regex match, no fallthrough: SERVFAIL.
    assert_eq!(ask(c, "www.foogle.com.", RecordType::A).header.rcode, Rcode::ServFail);
}

#[test]
fn broken_templates_are_servfail() {
    // template_test.go BrokenTemplate (index out of range) and NonRRTemplate.
    let c = ". {\n template ANY ANY example {\n  answer \"{{ .Name }} 60 IN TXT \\\"{{ index .Match 2 }}\\\"\"\n }\n}\n";
    assert_eq!(ask(c, "test.example.", RecordType::Any).header.rcode, Rcode::ServFail);
    let c = ". {\n template ANY ANY example {\n  answer \"{{ .Name }}\"\n }\n}\n";
    assert_eq!(ask(c, "test.example.", RecordType::Any).header.rcode, Rcode::ServFail);
    let c = ". {\n template ANY ANY invalid {\n  rcode SERVFAIL\n }\n}\n";
    assert_eq!(ask(c, "test.invalid.", RecordType::A).header.rcode, Rcode::ServFail);
}

#[test]
fn setup_errors_are_worded_as_coredns() {
    let err = |c: &str| load(c).unwrap_err().to_string();
    assert_eq!(
        err(". {\n template\n}\n"),
        "plugin/template: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'template'"
    );
    assert_eq!(
        err(". {\n template X ANY\n}\n"),
        "plugin/template: Corefile:2 - Error during parsing: invalid query class X"
    );
    assert_eq!(
        err(". {\n template ANY X\n}\n"),
        "plugin/template: Corefile:2 - Error during parsing: invalid RR class X"
    );
    assert_eq!(
        err(". {\n template ANY ANY {\n  rcode FOO\n }\n}\n"),
        "plugin/template: Corefile:3 - Error during parsing: unknown rcode FOO"
    );
    assert_eq!(
        err(". {\n template ANY ANY {\n  unknown\n }\n}\n"),
        "plugin/template: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'unknown'"
    );
    assert_eq!(
        err(". {\n template ANY ANY {\n  match \"(\"\n }\n}\n"),
        "plugin/template: Corefile:3 - Error during parsing: could not parse regex: (, error parsing regexp: missing closing ): `(`"
    );
    assert_eq!(
        err(". {\n template ANY ANY {\n  answer \"{{ foo }}\"\n }\n}\n"),
        "plugin/template: Corefile:3 - Error during parsing: could not compile template: {{ foo }}, template: answer:1: function \"foo\" not defined"
    );
}
