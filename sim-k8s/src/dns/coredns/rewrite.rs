//! The `rewrite` plugin's name rules: the query name is rewritten before the chain behind it
//! (hosts, kubernetes, forward) sees it, and the reply is reverted on the way out — the
//! question restored to what the client asked, and with `answer auto` (always for `exact`) or
//! `answer name|value FROM TO`, the records' names and values mapped back.
//!
//! Follows coredns plugin/rewrite (rewrite.go `ServeDNS`/`newRule`, name.go, reverter.go):
//! matching is on the lower-cased absolute name; `exact`, `prefix`, `suffix` and `substring`
//! arguments are normalised like `plugin.Name.Normalize` (lower case, a final dot), regex
//! replacements use `{N}` for groups; `stop` (the default) ends the rules at the first that
//! matches, `continue` goes on with the rewritten name; a name that is not a valid domain name
//! after the rewrite is SERVFAIL. Reverting applies the rules' answer rewriters to every
//! record, in reverse order. Left out (noted at setup): the `class`, `type`, `edns0`, `ttl`,
//! `cname` and `rcode` rules.

use regex::Regex;

use super::super::message::{Message, RData, Record};
use super::super::name::Name;

/// Go's regexp package refuses nothing this model needs; patterns longer than this are
/// refused as plugin/rewrite does (`maxRegexpLen`).
const MAX_REGEXP_LEN: usize = 10_000;

/// A compiled pattern, compared by its text.
#[derive(Clone, Debug)]
pub struct Pattern(Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// What happens after a rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextAction {
    /// `stop` (the default): no further rule.
    Stop,
    /// `continue`: the next rules see the rewritten name.
    Continue,
}

/// How a name rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// `exact FROM TO`.
    Exact(String),
    /// `prefix FROM TO`.
    Prefix(String),
    /// `suffix FROM TO`.
    Suffix(String),
    /// `substring FROM TO`.
    Substring(String),
    /// `regex PATTERN REPLACEMENT`.
    Regex(Pattern),
}

/// One rewriter of a string (a record's name or value) on the way back.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StringRewriter {
    /// `regexStringRewriter`: a match is replaced by the replacement with `{N}` expanded.
    Regex(Pattern, String),
    /// `remapStringRewriter`: the name itself or a subdomain of it.
    Remap { orig: String, replacement: String },
    /// `suffixStringRewriter`.
    Suffix { suffix: String, replacement: String },
}

impl StringRewriter {
    fn rewrite(&self, src: &str) -> String {
        match self {
            StringRewriter::Regex(p, replacement) => {
                expand(&p.0, replacement, src).unwrap_or_else(|| src.to_string())
            }
            StringRewriter::Remap { orig, replacement } => {
                if src == orig {
                    return replacement.clone();
                }
                match src.len().checked_sub(orig.len()) {
                    Some(i) if i > 0 && src.as_bytes()[i - 1] == b'.' && &src[i..] == orig => {
                        format!("{}{replacement}", &src[..i])
                    }
                    _ => src.to_string(),
                }
            }
            StringRewriter::Suffix { suffix, replacement } => match src.strip_suffix(suffix.as_str()) {
                Some(before) => format!("{before}{replacement}"),
                None => src.to_string(),
            },
        }
    }
}

/// A response rule: a rewriter of record names or of record values.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ResponseRule {
    Name(StringRewriter),
    Value(StringRewriter),
}

/// One `rewrite [stop|continue] name ...` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRule {
    /// `stop` or `continue`.
    pub next: NextAction,
    /// How it matches.
    pub matcher: NameMatch,
    /// The replacement (normalised; a regex replacement with `{N}` groups).
    pub replacement: String,
    /// `answer auto`: the answer is mapped back by the inverse of the question's rewrite.
    auto: bool,
    /// `answer name|value FROM TO` rules.
    answers: Vec<ResponseRule>,
}

/// `plugin.Name(s).Normalize()`: lower case, absolute.
fn normalize(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    if lower.ends_with('.') { lower } else { format!("{lower}.") }
}

/// `{N}` in `replacement` expanded from a match of `pattern` in `src`; `None` without a match.
fn expand(pattern: &Regex, replacement: &str, src: &str) -> Option<String> {
    let caps = pattern.captures(src)?;
    let mut s = replacement.to_string();
    for (i, group) in caps.iter().enumerate() {
        s = s.replace(&format!("{{{i}}}"), group.map_or("", |g| g.as_str()));
    }
    Some(s)
}

/// `isValidRegexPattern`: the pattern compiles and the replacement uses no more groups.
fn valid_pattern(from: &str, to: &str) -> Result<Pattern, String> {
    if from.len() > MAX_REGEXP_LEN {
        return Err(format!("regex pattern too long: {} > {MAX_REGEXP_LEN}", from.len()));
    }
    let re = Regex::new(from).map_err(|_| format!("invalid regex matching pattern: {from}"))?;
    let used = (0..=100).filter(|i| to.contains(&format!("{{{i}}}"))).count();
    if used > re.captures_len().saturating_sub(1) {
        return Err(format!(
            "the rewrite regex pattern ({to}) uses more subexpressions than its corresponding matching regex pattern ({from})"
        ));
    }
    Ok(Pattern(re))
}

/// The outcome of parsing one rewrite directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A name rule, simulated.
    Name(NameRule),
    /// A rule of another type (`class`, `type`, `edns0`, `ttl`, `cname`, `rcode`): accepted,
    /// not simulated.
    Other(String),
}

/// rewrite.go `newRule`: one directive's arguments.
pub fn parse_rule(args: &[String]) -> Result<Parsed, String> {
    let Some(first) = args.first() else { return Err("no rule type specified for rewrite".to_string()) };
    let arg0 = first.to_ascii_lowercase();
    let (next, rule_type, rest) = match arg0.as_str() {
        "continue" | "stop" => {
            let Some(t) = args.get(1) else { return Err(format!("{arg0} rule must begin with a rule type")) };
            let next = if arg0 == "continue" { NextAction::Continue } else { NextAction::Stop };
            (next, t.to_ascii_lowercase(), &args[2..])
        }
        _ => (NextAction::Stop, arg0.clone(), &args[1..]),
    };
    match rule_type.as_str() {
        "answer" => Err("response rewrites must begin with a name rule".to_string()),
        "name" => name_rule(next, rest).map(Parsed::Name),
        "class" | "type" if rest.len() != 2 => {
            Err(format!("{rule_type} rules must have exactly two arguments"))
        }
        "class" | "type" | "edns0" | "ttl" | "cname" | "rcode" => Ok(Parsed::Other(rule_type)),
        _ => Err(format!("invalid rule type {first:?}")),
    }
}

/// name.go `newNameRule`.
fn name_rule(next: NextAction, args: &[String]) -> Result<NameRule, String> {
    if args.len() < 2 {
        return Err("too few arguments for a name rule".to_string());
    }
    let (kind, mut from, mut to) = if args.len() == 2 {
        ("exact".to_string(), normalize(&args[0]), normalize(&args[1]))
    } else {
        let kind = args[0].to_ascii_lowercase();
        if kind == "regex" {
            (kind, args[1].clone(), args[2].clone())
        } else {
            (kind, normalize(&args[1]), normalize(&args[2]))
        }
    };
    if (kind == "exact" || kind == "suffix") && !from.ends_with('.') {
        from.push('.');
    }
    if (kind == "exact" || kind == "suffix") && !to.ends_with('.') {
        to.push('.');
    }
    let (auto, answers) = if args.len() > 3 { answer_rules(&kind, &args[3..])? } else { (false, Vec::new()) };
    let (matcher, auto, answers) = match kind.as_str() {
        "exact" => {
            valid_pattern(&to, &from)?;
            (NameMatch::Exact(from), true, answers)
        }
        "prefix" => (NameMatch::Prefix(from), auto, answers),
        "suffix" => {
            // The inverse of a suffix rewrite is the suffix swapped back.
            let mut rules = Vec::new();
            if auto {
                let back = StringRewriter::Suffix { suffix: to.clone(), replacement: from.clone() };
                rules.push(ResponseRule::Name(back.clone()));
                rules.push(ResponseRule::Value(back));
            }
            rules.extend(answers);
            (NameMatch::Suffix(from), false, rules)
        }
        "substring" => (NameMatch::Substring(from), auto, answers),
        "regex" => {
            let pattern = valid_pattern(&from, &to)?;
            to = normalize(&args[2]);
            (NameMatch::Regex(pattern), auto, answers)
        }
        other => {
            return Err(format!(
                "name rule supports only exact, prefix, suffix, substring, and regex name matching, received: {other}"
            ));
        }
    };
    Ok(NameRule { next, matcher, replacement: to, auto, answers })
}

/// name.go `parseAnswerRules`.
fn answer_rules(name: &str, args: &[String]) -> Result<(bool, Vec<ResponseRule>), String> {
    if args.len() < 2 {
        return Err(format!("invalid arguments for {name} rule"));
    }
    let (mut auto, mut rules, mut name_rules) = (false, Vec::new(), 0);
    let mut i = 0;
    let mut last = String::new();
    while i < args.len() {
        if last.is_empty() && args[i] != "answer" {
            return Err(format!(
                "exceeded the number of arguments for a non-answer rule argument for {name} rule"
            ));
        }
        if args[i] == "answer" {
            i += 1;
        }
        let Some(kind) = args.get(i) else {
            return Err(format!("type missing for answer rule for {name} rule"));
        };
        last = kind.clone();
        i += 1;
        match kind.as_str() {
            "auto" => auto = true,
            "name" | "value" => {
                let (Some(from), Some(to)) = (args.get(i), args.get(i + 1)) else {
                    return Err(format!("{kind} answer rule for {name} rule: 2 arguments required"));
                };
                let pattern = valid_pattern(from, to)
                    .map_err(|e| format!("{kind} answer rule for {name} rule: {e}"))?;
                let rewriter = StringRewriter::Regex(pattern, normalize(to));
                if kind == "name" {
                    rules.push(ResponseRule::Name(rewriter));
                    name_rules += 1;
                } else {
                    rules.push(ResponseRule::Value(rewriter));
                }
                i += 2;
            }
            other => return Err(format!("invalid type {other:?} for answer rule for {name} rule")),
        }
    }
    if auto && name_rules > 0 {
        return Err("auto name answer rule cannot be combined with explicit name anwer rules".to_string());
    }
    Ok((auto, rules))
}

impl NameRule {
    /// The rewritten name if the rule matches `name` (lower-case, absolute).
    fn apply(&self, name: &str) -> Option<String> {
        match &self.matcher {
            NameMatch::Exact(from) => (from == name).then(|| self.replacement.clone()),
            NameMatch::Prefix(p) => {
                name.strip_prefix(p.as_str()).map(|after| format!("{}{after}", self.replacement))
            }
            NameMatch::Suffix(s) => {
                name.strip_suffix(s.as_str()).map(|before| format!("{before}{}", self.replacement))
            }
            NameMatch::Substring(s) => {
                name.contains(s.as_str()).then(|| name.replace(s.as_str(), &self.replacement))
            }
            NameMatch::Regex(p) => expand(&p.0, &self.replacement, name),
        }
    }

    /// `responseRuleFor`: with `auto`, the inverse of this rewrite (from `rewritten` back to
    /// `original`) for names and values, then the static answer rules.
    fn response_rules(&self, original: &str, rewritten: &str) -> Vec<ResponseRule> {
        let mut out = Vec::new();
        if self.auto {
            let back =
                StringRewriter::Remap { orig: rewritten.to_string(), replacement: original.to_string() };
            out.push(ResponseRule::Name(back.clone()));
            out.push(ResponseRule::Value(back));
        }
        out.extend(self.answers.iter().cloned());
        out
    }
}

/// The rewrite of one query: the name the chain is asked, and how to revert the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The name the rest of the chain sees.
    pub name: Name,
    rules: Vec<ResponseRule>,
}

/// What the rewrite rules do with a query name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No rule matched.
    Unchanged,
    /// Rewritten.
    Rewritten(Rewritten),
    /// A rule produced a name that is not a domain name: SERVFAIL.
    Invalid(String),
}

/// rewrite.go `ServeDNS`: the rules in order over the query name.
pub fn rewrite(rules: &[NameRule], name: &Name) -> Outcome {
    let mut current = name.to_lowercase().to_string();
    let mut done = false;
    let mut responses = Vec::new();
    for rule in rules {
        let Some(next) = rule.apply(&current) else { continue };
        if Name::parse(&next).is_err() {
            return Outcome::Invalid(next);
        }
        responses.extend(rule.response_rules(&current, &next));
        current = next;
        done = true;
        if rule.next == NextAction::Stop {
            break;
        }
    }
    match Name::parse(&current) {
        Ok(name) if done => Outcome::Rewritten(Rewritten { name, rules: responses }),
        Ok(_) => Outcome::Unchanged,
        Err(_) => Outcome::Invalid(current),
    }
}

impl Rewritten {
    /// `ResponseReverter.WriteMsg`: the client's question back, and every record of the
    /// authority, answer and additional sections through the response rules in reverse order.
    pub fn revert(&self, original: &Message, reply: &mut Message) {
        reply.questions = original.questions.clone();
        if self.rules.is_empty() {
            return;
        }
        for r in reply.authority.iter_mut().chain(&mut reply.answers).chain(&mut reply.additional) {
            for rule in self.rules.iter().rev() {
                rewrite_record(rule, r);
            }
        }
    }
}

fn rewrite_record(rule: &ResponseRule, r: &mut Record) {
    match rule {
        ResponseRule::Name(rw) => {
            if let Ok(n) = Name::parse(&rw.rewrite(&r.name.to_string())) {
                r.name = n;
            }
        }
        ResponseRule::Value(rw) => {
            let target = match &mut r.data {
                RData::Cname(t) | RData::Ns(t) | RData::Ptr(t) => t,
                RData::Srv(s) => &mut s.target,
                RData::Soa(s) => &mut s.mname,
                _ => return,
            };
            let old = target.to_string();
            let new = rw.rewrite(&old);
            if new != old
                && let Ok(n) = Name::parse(&new)
            {
                *target = n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The cases of plugin/rewrite name_test.go: the chain behind answers one A record named as
    //! the (rewritten) question (`msgPrinter`).
    use super::*;
    use crate::dns::message::RecordType;
    use std::net::Ipv4Addr;

    fn rule(args: &[&str]) -> NameRule {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        name_rule(NextAction::Stop, &args).unwrap()
    }

    /// (question sent on, answer name the client gets) with the question restored or not.
    fn serve(r: &NameRule, question: &str) -> (String, String) {
        let q = Message::query(1, Name::parse(question).unwrap(), RecordType::A);
        let (asked, rw) = match rewrite(std::slice::from_ref(r), &q.questions[0].name) {
            Outcome::Rewritten(rw) => (rw.name.clone(), Some(rw)),
            Outcome::Unchanged => (q.questions[0].name.clone(), None),
            Outcome::Invalid(n) => panic!("invalid {n}"),
        };
        let mut reply = q.clone();
        reply.answers.push(Record::new(asked.clone(), 3600, RData::A(Ipv4Addr::new(10, 240, 0, 1))));
        if let Some(rw) = rw {
            rw.revert(&q, &mut reply);
        }
        (asked.to_string(), reply.answers[0].name.to_string())
    }

    #[test]
    fn prefix_and_suffix_rewrite_the_question() {
        for (args, question, expected) in [
            (["prefix", "foo", "bar"], "foo.example.com.", "bar.example.com."),
            (["prefix", "foo.", "bar."], "foo.example.com.", "bar.example.com."),
            (["suffix", "com", "org"], "foo.example.com.", "foo.example.org."),
            (["suffix", ".com", ".org"], "foo.example.com.", "foo.example.org."),
        ] {
            assert_eq!(serve(&rule(&args), question).0, expected, "{args:?}");
        }
    }

    #[test]
    fn names_that_do_not_match_are_left_alone() {
        for (args, question) in [
            (["prefix", "foo", "bar"], "coredns.foo."),
            (["prefix", "foo", "bar."], "coredns.foo."),
            (["suffix", "com", "org"], "com.coredns."),
            (["suffix", "com", "org."], "com.coredns."),
            (["substring", "service", "svc"], "com.coredns."),
        ] {
            assert_eq!(
                serve(&rule(&args), question),
                (question.to_string(), question.to_string()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn without_answer_auto_the_answer_keeps_the_rewritten_name() {
        for (args, question, expected) in [
            (["prefix", "foo", "bar"], "foo.example.com.", "bar.example.com."),
            (["suffix", "com", "org"], "foo.example.com.", "foo.example.org."),
            (
                ["suffix", ".ingress.coredns.rocks", "nginx.coredns.rocks"],
                "coredns.ingress.coredns.rocks.",
                "corednsnginx.coredns.rocks.",
            ),
        ] {
            assert_eq!(serve(&rule(&args), question).1, expected, "{args:?}");
        }
    }

    #[test]
    fn answer_auto_maps_the_answer_back() {
        for (args, question, rewritten) in [
            (vec!["prefix", "foo", "bar", "answer", "auto"], "foo.example.com.", "bar.example.com."),
            (vec!["prefix", "foo.", "bar.", "answer", "auto"], "foo.example.com.", "bar.example.com."),
            (vec!["suffix", "com", "org", "answer", "auto"], "foo.example.com.", "foo.example.org."),
            (vec!["suffix", ".com", ".org", "answer", "auto"], "foo.example.com.", "foo.example.org."),
            (
                vec!["suffix", ".ingress.coredns.rocks", "nginx.coredns.rocks", "answer", "auto"],
                "coredns.ingress.coredns.rocks.",
                "corednsnginx.coredns.rocks.",
            ),
            (
                vec!["exact", "coredns.rocks", "service.consul", "answer", "auto"],
                "coredns.rocks.",
                "service.consul.",
            ),
            (vec!["exact", "coredns.rocks", "service.consul"], "coredns.rocks.", "service.consul."),
            (
                vec!["regex", "(.*).coredns.rocks", "{1}.coredns.maps", "answer", "auto"],
                "foo.coredns.rocks.",
                "foo.coredns.maps.",
            ),
        ] {
            assert_eq!(
                serve(&rule(&args), question),
                (rewritten.to_string(), question.to_string()),
                "{args:?}"
            );
        }
        // An exact rule that does not match leaves everything alone.
        let r = rule(&["exact", "coredns.org.", "service.consul."]);
        assert_eq!(serve(&r, "coredns.rocks."), ("coredns.rocks.".to_string(), "coredns.rocks.".to_string()));
    }

    #[test]
    fn regex_answer_name_rules_and_plain_regex() {
        let r = rule(&[
            "regex",
            "(.*).coredns.rocks",
            "{1}.coredns.maps",
            "answer",
            "name",
            "(.*).coredns.maps",
            "{1}.coredns.works",
        ]);
        assert_eq!(
            serve(&r, "foo.coredns.rocks."),
            ("foo.coredns.maps.".to_string(), "foo.coredns.works.".to_string())
        );
        let r = rule(&["regex", "(.*).coredns.rocks", "{1}.coredns.maps"]);
        assert_eq!(
            serve(&r, "foo.coredns.rocks."),
            ("foo.coredns.maps.".to_string(), "foo.coredns.maps.".to_string())
        );
    }

    #[test]
    fn rule_errors_are_worded_as_upstream() {
        let err = |a: &[&str]| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            parse_rule(&args).unwrap_err()
        };
        assert_eq!(err(&["name", "foo"]), "too few arguments for a name rule");
        assert_eq!(
            err(&["name", "wildcard", "a", "b"]),
            "name rule supports only exact, prefix, suffix, substring, and regex name matching, received: wildcard"
        );
        assert_eq!(
            err(&["name", "regex", "(.*)", "{1}{2}"]),
            "the rewrite regex pattern ({1}{2}) uses more subexpressions than its corresponding matching regex pattern ((.*))"
        );
        assert_eq!(err(&["name", "regex", "(", "x"]), "invalid regex matching pattern: (");
        assert_eq!(err(&["name", "prefix", "a", "b", "answer"]), "invalid arguments for prefix rule");
        assert_eq!(
            err(&["name", "prefix", "a", "b", "answer", "bogus"]),
            "invalid type \"bogus\" for answer rule for prefix rule"
        );
        assert_eq!(
            err(&["name", "regex", "(.*)", "{1}", "answer", "auto", "answer", "name", "(.*)", "{1}"]),
            "auto name answer rule cannot be combined with explicit name anwer rules"
        );
        assert_eq!(err(&["answer", "name", "a", "b"]), "response rewrites must begin with a name rule");
        assert_eq!(err(&["foo", "a", "b"]), "invalid rule type \"foo\"");
        assert_eq!(err(&["type", "A"]), "type rules must have exactly two arguments");
        let args: Vec<String> = ["continue", "ttl", "a", "5"].iter().map(|s| s.to_string()).collect();
        assert_eq!(parse_rule(&args).unwrap(), Parsed::Other("ttl".to_string()));
    }

    #[test]
    fn continue_chains_rules_and_stop_ends_them() {
        let a = name_rule(NextAction::Continue, &["prefix", "a", "b"].map(String::from)).unwrap();
        let b = name_rule(NextAction::Stop, &["suffix", "com", "org"].map(String::from)).unwrap();
        let c = name_rule(NextAction::Stop, &["prefix", "b", "z"].map(String::from)).unwrap();
        let Outcome::Rewritten(rw) = rewrite(&[a, b, c], &Name::parse("a.example.com").unwrap()) else {
            panic!()
        };
        assert_eq!(rw.name.to_string(), "b.example.org.");
    }
}
