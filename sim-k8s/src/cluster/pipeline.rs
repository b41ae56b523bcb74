//! The shell syntax tutorials type around the simulated commands: pipes into text filters,
//! `&&` / `||` / `;` lists, `>` / `>>` redirection to files on the host or pod, `2>/dev/null`,
//! `2>&1`, and `$(...)` command substitution.
//!
//! The first command of a pipeline is a simulated command ([`Cluster::exec`], or
//! [`Cluster::kubectl_line`] for `kubectl ...`); every later stage is one of the text filters
//! below, applied to the previous stage's standard output. The exit status of a pipeline is its
//! last stage's (as POSIX `sh` without `pipefail`). Filters: `grep` (-E -F -v -i -c -o -q -n -w
//! -e), `head` / `tail` (-n N, -N, tail -n +N), `wc` (-l -w -c), `sort` (-n -r -u -k N -t C),
//! `uniq` (-c -d -u), `cut` (-d -f, -c), `awk` (`{print $N, ...}` with `-F`, an optional
//! `/re/` or `NR==N` pattern), `jq` (paths, `.[]`, `|`, `length`, `keys`, `select(P == V)`,
//! `-r`, `-c`), `cat`, `tr -d`. Anything else after a pipe is refused naming what is supported.
//! Left out: variables, loops, functions, here-documents, globbing, background jobs other than
//! `tcpdump ... &` (a trailing `&` is handled before this module: `cluster/tcpdump.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::command::split_words;
use super::exec::ExecOutput;
use super::facade::{Cluster, Target};

/// The filters a pipe may feed, as the refusal names them.
pub const SUPPORTED_FILTERS: &str = "grep, head, tail, wc, sort, uniq, cut, awk '{print $N}', jq, cat, tr -d";

/// Files written by `>` / `>>`, per host (`Target` display) and path.
pub type ShellFiles = BTreeMap<(String, String), String>;

/// How a list element is joined to the previous one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Join {
    First,
    Seq,
    And,
    Or,
}

/// True if `line` has shell syntax this module handles (outside quotes).
pub fn has_shell_syntax(line: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '$') if chars.peek() == Some(&'(') => return true,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => {
                chars.next();
            }
            (None, '|' | ';' | '>') => return true,
            (None, '&') if chars.peek() == Some(&'&') => return true,
            (None, '$') if chars.peek() == Some(&'(') => return true,
            _ => {}
        }
    }
    false
}

/// Splits `line` at unquoted occurrences of the list operators, then each part at `|`.
fn split_list(line: &str) -> Result<Vec<(Join, Vec<String>)>, String> {
    let mut out: Vec<(Join, Vec<String>)> = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut join = Join::First;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = line.chars().peekable();
    let end_stage = |cur: &mut String, stages: &mut Vec<String>| -> Result<(), String> {
        let t = cur.trim().to_string();
        if t.is_empty() {
            return Err("sh: syntax error: unexpected \"|\"".to_string());
        }
        stages.push(t);
        cur.clear();
        Ok(())
    };
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            cur.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if depth > 0 {
            cur.push(c);
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                cur.push(c);
            }
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                cur.push(c);
                if let Some(p) = chars.next() {
                    cur.push(p);
                }
                depth = 1;
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                end_stage(&mut cur, &mut stages)?;
                out.push((join, std::mem::take(&mut stages)));
                join = Join::Or;
            }
            '|' => end_stage(&mut cur, &mut stages)?,
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                end_stage(&mut cur, &mut stages)
                    .map_err(|_| "sh: syntax error: unexpected \"&&\"".to_string())?;
                out.push((join, std::mem::take(&mut stages)));
                join = Join::And;
            }
            ';' => {
                if cur.trim().is_empty() && stages.is_empty() {
                    continue;
                }
                end_stage(&mut cur, &mut stages)?;
                out.push((join, std::mem::take(&mut stages)));
                join = Join::Seq;
            }
            c => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("sh: syntax error: unterminated quoted string".to_string());
    }
    if depth > 0 {
        return Err("sh: syntax error: missing ')'".to_string());
    }
    if !cur.trim().is_empty() {
        end_stage(&mut cur, &mut stages)?;
    } else if !stages.is_empty() || join == Join::And || join == Join::Or {
        return Err("sh: syntax error: unexpected end of file".to_string());
    }
    if !stages.is_empty() {
        out.push((join, stages));
    }
    Ok(out)
}

/// Where a stage's output goes.
#[derive(Default)]
struct Redirects {
    stdout: Option<(String, bool)>,
    stderr_null: bool,
    stderr_to_stdout: bool,
    stdout_null: bool,
}

/// Takes `> FILE`, `>> FILE`, `2>/dev/null`, `2>&1`, `>/dev/null` off the end of a stage
/// (unquoted).
fn take_redirects(stage: &str) -> Result<(String, Redirects), String> {
    let mut r = Redirects::default();
    let mut rest = String::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = stage.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            rest.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            rest.push(c);
            i += 1;
            continue;
        }
        let fd2 = c == '2' && chars.get(i + 1) == Some(&'>') && (i == 0 || chars[i - 1] == ' ');
        if c == '>' || fd2 {
            let start = if fd2 { i + 2 } else { i + 1 };
            let append = chars.get(start) == Some(&'>');
            let mut j = if append { start + 1 } else { start };
            let amp = chars.get(j) == Some(&'&');
            if amp {
                j += 1;
            }
            while chars.get(j) == Some(&' ') {
                j += 1;
            }
            let mut target = String::new();
            while let Some(&t) = chars.get(j) {
                if t == ' ' {
                    break;
                }
                target.push(t);
                j += 1;
            }
            let target = target.trim_matches(|c| c == '"' || c == '\'').to_string();
            if target.is_empty() {
                return Err("sh: syntax error: unexpected newline".to_string());
            }
            match (fd2, amp, target.as_str()) {
                (true, true, "1") => r.stderr_to_stdout = true,
                (true, false, "/dev/null") => r.stderr_null = true,
                (true, _, _) => {
                    return Err(format!("sh: 2>{target}: only 2>/dev/null and 2>&1 are simulated"));
                }
                (false, false, "/dev/null") => r.stdout_null = true,
                (false, true, _) => return Err(format!("sh: >&{target}: not simulated")),
                (false, false, _) => r.stdout = Some((target, append)),
            }
            i = j;
            continue;
        }
        rest.push(c);
        i += 1;
    }
    Ok((rest.trim().to_string(), r))
}

impl Cluster {
    /// Runs a command line with shell syntax on `target`: each pipeline's first command is
    /// simulated, the later stages filter its output (module doc). `base` anchors `kubectl -f`.
    pub fn shell_line(&mut self, target: &Target, line: &str, base: &Path) -> ExecOutput {
        let list = match split_list(line) {
            Ok(l) => l,
            Err(e) => return ExecOutput::err(e, 2),
        };
        let mut out = ExecOutput::default();
        let mut terminal: Option<String> = None;
        let mut last = 0;
        for (join, stages) in list {
            let run = match join {
                Join::First | Join::Seq => true,
                Join::And => last == 0,
                Join::Or => last != 0,
            };
            if !run {
                continue;
            }
            let o = self.pipeline(target, &stages, base);
            match &o.terminal {
                Some(t) => {
                    terminal.get_or_insert_with(|| format!("{}{}", out.stdout, out.stderr)).push_str(t)
                }
                None => {
                    if let Some(t) = terminal.as_mut() {
                        t.push_str(&o.stdout);
                        t.push_str(&o.stderr);
                    }
                }
            }
            out.stdout.push_str(&o.stdout);
            out.stderr.push_str(&o.stderr);
            if o.connection.is_some() {
                out.connection = o.connection;
            }
            last = o.exit_code;
        }
        out.exit_code = last;
        out.terminal = terminal;
        out
    }

    fn pipeline(&mut self, target: &Target, stages: &[String], base: &Path) -> ExecOutput {
        let mut out = ExecOutput::default();
        let mut earlier_stderr = String::new();
        for (k, stage) in stages.iter().enumerate() {
            let stage = match self.substitute(target, stage, base) {
                Ok(s) => s,
                Err(e) => return ExecOutput::err(e, 2),
            };
            let (cmd, redirects) = match take_redirects(&stage) {
                Ok(v) => v,
                Err(e) => return ExecOutput::err(e, 2),
            };
            let mut o = if k == 0 {
                // Into a pipe or a file, the first command's standard output is no terminal.
                let piped = stages.len() > 1 || redirects.stdout_null || redirects.stdout.is_some();
                let saved = self.stdout_tty;
                self.stdout_tty = saved && !piped;
                let o = self.simple(target, &cmd, base);
                self.stdout_tty = saved;
                o
            } else {
                match filter(&cmd, &out.stdout) {
                    Ok((stdout, code)) => ExecOutput { stdout, exit_code: code, ..Default::default() },
                    Err((e, code)) => ExecOutput::err(e, code),
                }
            };
            if k > 0 {
                // Earlier stages' errors went to the terminal; their connection is kept.
                earlier_stderr.clone_from(&out.stderr);
                o.stderr = format!("{}{}", out.stderr, o.stderr);
                if o.connection.is_none() {
                    o.connection = out.connection.take();
                }
            }
            // `2>&1` joins the streams in the order the command wrote them.
            let terminal = o.terminal.take();
            if redirects.stderr_to_stdout {
                let e = std::mem::take(&mut o.stderr);
                match terminal {
                    Some(both) => o.stdout = both,
                    None => o.stdout.push_str(&e),
                }
            } else if stages.len() == 1
                && !redirects.stderr_null
                && !redirects.stdout_null
                && redirects.stdout.is_none()
            {
                o.terminal = terminal;
            }
            if redirects.stderr_null {
                o.stderr.clear();
            }
            if redirects.stdout_null {
                o.stdout.clear();
            }
            if let Some((path, append)) = redirects.stdout {
                let key = (target.to_string(), path);
                let text = std::mem::take(&mut o.stdout);
                let file = self.shell_files.entry(key).or_default();
                if !append {
                    file.clear();
                }
                file.push_str(&text);
            }
            out = o;
        }
        // The terminal showed the earlier stages' stderr (curl's progress meter, an error) as
        // they wrote it, before the last stage's output.
        if !earlier_stderr.is_empty()
            && out.terminal.is_none()
            && let Some(rest) = out.stderr.strip_prefix(earlier_stderr.as_str())
        {
            out.terminal = Some(format!("{earlier_stderr}{}{rest}", out.stdout));
        }
        out
    }

    /// Replaces each `$(...)` (outside single quotes) by the command's output, trailing
    /// newlines removed, as `sh` does.
    fn substitute(&mut self, target: &Target, stage: &str, base: &Path) -> Result<String, String> {
        if !stage.contains("$(") {
            return Ok(stage.to_string());
        }
        let chars: Vec<char> = stage.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut single = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                single = !single;
            }
            if !single && c == '$' && chars.get(i + 1) == Some(&'(') {
                let mut depth = 1;
                let mut j = i + 2;
                while j < chars.len() && depth > 0 {
                    match chars[j] {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth > 0 {
                    return Err("sh: syntax error: missing ')'".to_string());
                }
                let inner: String = chars[i + 2..j - 1].iter().collect();
                let o = self.shell_line(target, &inner, base);
                out.push_str(o.stdout.trim_end_matches('\n'));
                i = j;
                continue;
            }
            out.push(c);
            i += 1;
        }
        Ok(out)
    }

    /// One simulated command: `kubectl ...` on the control plane, `cat` of a file written by
    /// `>`, anything else through [`Cluster::exec`].
    fn simple(&mut self, target: &Target, cmd: &str, base: &Path) -> ExecOutput {
        if let Some(args) = cmd.strip_prefix("kubectl ") {
            return self.kubectl_line(args, base);
        }
        if let Some(out) = self.cat_shell_file(target, cmd) {
            return out;
        }
        self.exec_command(target, cmd)
    }

    /// `cat FILE` of a file an earlier command wrote on `target` (`>`, `curl -o`).
    pub(crate) fn cat_shell_file(&self, target: &Target, cmd: &str) -> Option<ExecOutput> {
        let words = split_words(cmd).ok()?;
        let [c, path] = words.as_slice() else { return None };
        if c != "cat" {
            return None;
        }
        let text = self.shell_files.get(&(target.to_string(), path.clone()))?;
        Some(ExecOutput::out(text.clone()))
    }
}

type FilterResult = Result<(String, i32), (String, i32)>;

/// Applies one filter stage to `input`.
pub fn filter(cmd: &str, input: &str) -> FilterResult {
    let words = split_words(cmd).map_err(|e| (e.message, 2))?;
    let Some((name, args)) = words.split_first() else {
        return Err(("sh: syntax error: unexpected \"|\"".to_string(), 2));
    };
    match name.as_str() {
        "grep" | "egrep" | "fgrep" => grep(name, args, input),
        "head" => head_tail(true, args, input),
        "tail" => head_tail(false, args, input),
        "wc" => wc(args, input),
        "sort" => sort(args, input),
        "uniq" => uniq(args, input),
        "cut" => cut(args, input),
        "awk" => awk(args, input),
        "jq" => jq(args, input),
        "cat" if args.is_empty() || args == ["-"] => Ok((input.to_string(), 0)),
        "tr" => tr(args, input),
        other => Err((
            format!("sh: {other}: not simulated after a pipe (netsim's filters: {SUPPORTED_FILTERS})"),
            127,
        )),
    }
}

fn lines(input: &str) -> Vec<&str> {
    input.lines().collect()
}

fn join_lines<'a>(l: impl IntoIterator<Item = &'a str>) -> String {
    let mut s = String::new();
    for x in l {
        s.push_str(x);
        s.push('\n');
    }
    s
}

/// A POSIX basic regular expression as the `regex` crate reads it: `\(` `\)` `\{` `\}` `\|`
/// `\+` `\?` are the operators, the bare characters literal.
fn bre_to_ere(p: &str) -> String {
    let mut out = String::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(x @ ('(' | ')' | '{' | '}' | '|' | '+' | '?')) => out.push(x),
                Some(x) => {
                    out.push('\\');
                    out.push(x);
                }
                None => out.push_str("\\\\"),
            },
            '(' | ')' | '{' | '}' | '|' | '+' | '?' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn grep(name: &str, args: &[String], input: &str) -> FilterResult {
    let (mut ext, mut fixed) = (name == "egrep", name == "fgrep");
    let (mut invert, mut icase, mut count, mut only, mut quiet, mut number, mut word) =
        (false, false, false, false, false, false, false);
    let mut patterns: Vec<String> = Vec::new();
    let mut rest = args.iter();
    let mut positional = Vec::new();
    while let Some(a) = rest.next() {
        if a == "--" && positional.is_empty() {
            // The end of the options: what follows is the pattern, even `-x`.
            positional.extend(rest.by_ref().cloned());
            break;
        }
        if a == "-e" {
            patterns.push(
                rest.next().cloned().ok_or(("grep: option requires an argument -- 'e'".to_string(), 2))?,
            );
        } else if a.starts_with('-') && a.len() > 1 && positional.is_empty() {
            for f in a[1..].chars() {
                match f {
                    'E' => ext = true,
                    'F' => fixed = true,
                    'v' => invert = true,
                    'i' => icase = true,
                    'c' => count = true,
                    'o' => only = true,
                    'q' => quiet = true,
                    'n' => number = true,
                    'w' => word = true,
                    other => return Err((format!("grep: unrecognized option: {other}"), 2)),
                }
            }
        } else {
            positional.push(a.clone());
        }
    }
    if patterns.is_empty() {
        if positional.is_empty() {
            return Err(("Usage: grep [-EFvicoqnw] PATTERN".to_string(), 2));
        }
        patterns.push(positional.remove(0));
    }
    if !positional.is_empty() {
        return Err((format!("grep: {}: files are not read after a pipe", positional[0]), 2));
    }
    let alternatives: Vec<String> = patterns
        .iter()
        .map(|p| {
            let re = if fixed {
                regex::escape(p)
            } else if ext {
                p.clone()
            } else {
                bre_to_ere(p)
            };
            if word { format!(r"\b(?:{re})\b") } else { format!("(?:{re})") }
        })
        .collect();
    let re = regex::RegexBuilder::new(&alternatives.join("|"))
        .case_insensitive(icase)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            (format!("grep: bad regex: {}", e.to_string().lines().last().unwrap_or("invalid")), 2)
        })?;
    let mut out = String::new();
    let mut n = 0;
    for (i, l) in input.lines().enumerate() {
        if re.is_match(l) == invert {
            continue;
        }
        n += 1;
        if count || quiet {
            continue;
        }
        let prefix = if number { format!("{}:", i + 1) } else { String::new() };
        if only && !invert {
            for m in re.find_iter(l).filter(|m| !m.as_str().is_empty()) {
                out.push_str(&prefix);
                out.push_str(m.as_str());
                out.push('\n');
            }
        } else {
            out.push_str(&prefix);
            out.push_str(l);
            out.push('\n');
        }
    }
    if quiet {
        out.clear();
    } else if count {
        out = format!("{n}\n");
    }
    Ok((out, if n > 0 { 0 } else { 1 }))
}

fn head_tail(head: bool, args: &[String], input: &str) -> FilterResult {
    let tool = if head { "head" } else { "tail" };
    let mut n: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-n" {
            n = Some(it.next().cloned().ok_or((format!("{tool}: option requires an argument -- 'n'"), 1))?);
        } else if let Some(v) = a.strip_prefix("-n") {
            n = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix('-').filter(|v| v.chars().all(|c| c.is_ascii_digit())) {
            n = Some(v.to_string());
        } else {
            return Err((format!("{tool}: {a}: files are not read after a pipe"), 1));
        }
    }
    let n = n.unwrap_or_else(|| "10".to_string());
    let l = lines(input);
    if !head && let Some(from) = n.strip_prefix('+') {
        let from: usize = from.parse().map_err(|_| (format!("tail: invalid number '{n}'"), 1))?;
        return Ok((join_lines(l.into_iter().skip(from.saturating_sub(1))), 0));
    }
    let k: usize = n.parse().map_err(|_| (format!("{tool}: invalid number '{n}'"), 1))?;
    let picked: Vec<&str> =
        if head { l.into_iter().take(k).collect() } else { l[l.len().saturating_sub(k)..].to_vec() };
    Ok((join_lines(picked), 0))
}

fn wc(args: &[String], input: &str) -> FilterResult {
    let (mut l, mut w, mut c) = (false, false, false);
    for a in args {
        match a.as_str() {
            "-l" => l = true,
            "-w" => w = true,
            "-c" | "-m" => c = true,
            other if other.starts_with('-') => {
                for f in other[1..].chars() {
                    match f {
                        'l' => l = true,
                        'w' => w = true,
                        'c' | 'm' => c = true,
                        x => return Err((format!("wc: invalid option -- '{x}'"), 1)),
                    }
                }
            }
            other => return Err((format!("wc: {other}: files are not read after a pipe"), 1)),
        }
    }
    if !(l || w || c) {
        (l, w, c) = (true, true, true);
    }
    let counts: Vec<usize> = [
        l.then(|| input.matches('\n').count()),
        w.then(|| input.split_whitespace().count()),
        c.then_some(input.len()),
    ]
    .into_iter()
    .flatten()
    .collect();
    // GNU wc reading standard input: one count bare, several right-aligned to width 7.
    let text = if counts.len() == 1 {
        counts[0].to_string()
    } else {
        counts.iter().map(|n| format!("{n:>7}")).collect::<Vec<_>>().join(" ")
    };
    Ok((format!("{text}\n"), 0))
}

/// The field of `line` that `sort -k N` / `cut -f N` / awk `$N` picks (1-based).
fn field<'a>(line: &'a str, sep: Option<&str>, n: usize) -> &'a str {
    if n == 0 {
        return line;
    }
    match sep {
        Some(s) => line.split(s).nth(n - 1).unwrap_or(""),
        None => line.split_whitespace().nth(n - 1).unwrap_or(""),
    }
}

fn sort(args: &[String], input: &str) -> FilterResult {
    let (mut numeric, mut reverse, mut unique) = (false, false, false);
    let mut key: Option<usize> = None;
    let mut sep: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-k" => {
                let k = it.next().ok_or(("sort: option requires an argument -- 'k'".to_string(), 2))?;
                let k = k.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
                key = Some(k.parse().map_err(|_| {
                    (format!("sort: invalid number at field start: invalid count at start of '{k}'"), 2)
                })?);
            }
            "-t" => {
                sep = Some(
                    it.next().cloned().ok_or(("sort: option requires an argument -- 't'".to_string(), 2))?,
                )
            }
            f if f.starts_with('-') => {
                for c in f[1..].chars() {
                    match c {
                        'n' => numeric = true,
                        'r' => reverse = true,
                        'u' => unique = true,
                        x => return Err((format!("sort: invalid option -- '{x}'"), 2)),
                    }
                }
            }
            other => return Err((format!("sort: {other}: files are not read after a pipe"), 2)),
        }
    }
    let mut l = lines(input);
    let keyed = |s: &str| -> String {
        key.map(|k| field(s, sep.as_deref(), k).to_string()).unwrap_or_else(|| s.to_string())
    };
    let num = |s: &str| -> f64 {
        let t = s.trim_start();
        let end = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(t.len());
        t[..end].parse().unwrap_or(0.0)
    };
    l.sort_by(|a, b| {
        let (ka, kb) = (keyed(a), keyed(b));
        let o = if numeric {
            num(&ka).total_cmp(&num(&kb)).then_with(|| a.cmp(b))
        } else {
            ka.cmp(&kb).then_with(|| a.cmp(b))
        };
        if reverse { o.reverse() } else { o }
    });
    if unique {
        l.dedup_by(|a, b| keyed(a) == keyed(b));
    }
    Ok((join_lines(l), 0))
}

fn uniq(args: &[String], input: &str) -> FilterResult {
    let (mut count, mut dups, mut uniques) = (false, false, false);
    for a in args {
        match a.as_str() {
            f if f.starts_with('-') => {
                for c in f[1..].chars() {
                    match c {
                        'c' => count = true,
                        'd' => dups = true,
                        'u' => uniques = true,
                        x => return Err((format!("uniq: invalid option -- '{x}'"), 1)),
                    }
                }
            }
            other => return Err((format!("uniq: {other}: files are not read after a pipe"), 1)),
        }
    }
    let mut groups: Vec<(usize, &str)> = Vec::new();
    for l in input.lines() {
        match groups.last_mut() {
            Some((n, last)) if *last == l => *n += 1,
            _ => groups.push((1, l)),
        }
    }
    let mut out = String::new();
    for (n, l) in groups {
        if (dups && n < 2) || (uniques && n > 1) {
            continue;
        }
        if count {
            out.push_str(&format!("{n:>7} {l}\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok((out, 0))
}

/// A `cut` list: `2`, `1,3`, `2-4`, `3-`, `-2` (1-based, inclusive).
fn ranges(list: &str) -> Option<Vec<(usize, usize)>> {
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let a = if a.is_empty() { 1 } else { a.parse().ok()? };
                let b = if b.is_empty() { usize::MAX } else { b.parse().ok()? };
                Some((a, b))
            }
            None => part.parse().ok().map(|n| (n, n)),
        })
        .collect()
}

fn cut(args: &[String], input: &str) -> FilterResult {
    let mut delim = "\t".to_string();
    let mut fields: Option<String> = None;
    let mut chars: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = if a.len() > 2 && a.starts_with('-') {
            (&a[..2], Some(a[2..].to_string()))
        } else {
            (a.as_str(), None)
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or((format!("cut: option requires an argument -- '{}'", &flag[1..]), 1))
        };
        match flag {
            "-d" => delim = value()?,
            "-f" => fields = Some(value()?),
            "-c" => chars = Some(value()?),
            other => return Err((format!("cut: invalid option -- '{}'", other.trim_start_matches('-')), 1)),
        }
    }
    let pick = |n: usize, r: &[(usize, usize)]| r.iter().any(|(a, b)| n >= *a && n <= *b);
    let mut out = String::new();
    if let Some(c) = chars {
        let r = ranges(&c).ok_or(("cut: invalid byte, character or field list".to_string(), 1))?;
        for l in input.lines() {
            let s: String = l.chars().enumerate().filter(|(i, _)| pick(i + 1, &r)).map(|(_, c)| c).collect();
            out.push_str(&s);
            out.push('\n');
        }
        return Ok((out, 0));
    }
    let Some(f) = fields else {
        return Err(("cut: you must specify a list of bytes, characters, or fields".to_string(), 1));
    };
    let r = ranges(&f).ok_or(("cut: invalid byte, character or field list".to_string(), 1))?;
    for l in input.lines() {
        if !l.contains(delim.as_str()) {
            out.push_str(l);
        } else {
            let picked: Vec<&str> = l
                .split(delim.as_str())
                .enumerate()
                .filter(|(i, _)| pick(i + 1, &r))
                .map(|(_, s)| s)
                .collect();
            out.push_str(&picked.join(&delim));
        }
        out.push('\n');
    }
    Ok((out, 0))
}

fn awk(args: &[String], input: &str) -> FilterResult {
    let mut sep: Option<String> = None;
    let mut program: Option<&str> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-F" {
            sep = it.next().cloned();
        } else if let Some(s) = a.strip_prefix("-F") {
            sep = Some(s.to_string());
        } else if program.is_none() {
            program = Some(a);
        } else {
            return Err((format!("awk: {a}: files are not read after a pipe"), 2));
        }
    }
    let unsupported = |p: &str| {
        (
            format!(
                "awk: program {p:?} is not simulated (netsim's awk: [/RE/ | NR==N] {{print $N, ...}}, -F SEP)"
            ),
            2,
        )
    };
    let p = program.ok_or(("usage: awk [-F SEP] '{print $N}'".to_string(), 2))?.trim();
    let (pattern, action) = match p.find('{') {
        Some(i) => (p[..i].trim(), p[i..].trim()),
        None => return Err(unsupported(p)),
    };
    let body =
        action.strip_prefix('{').and_then(|a| a.strip_suffix('}')).ok_or_else(|| unsupported(p))?.trim();
    let body = body.trim_end_matches(';').trim();
    let exprs: Vec<String> = if body == "print" {
        vec!["$0".to_string()]
    } else if let Some(list) = body.strip_prefix("print ") {
        list.split(',').map(|s| s.trim().to_string()).collect()
    } else {
        return Err(unsupported(p));
    };
    enum Pat {
        All,
        Re(regex::Regex),
        Nr(usize),
    }
    let pat = if pattern.is_empty() {
        Pat::All
    } else if let Some(re) = pattern.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
        Pat::Re(regex::Regex::new(re).map_err(|_| unsupported(p))?)
    } else if let Some(n) = pattern.strip_prefix("NR==").and_then(|n| n.trim().parse().ok()) {
        Pat::Nr(n)
    } else {
        return Err(unsupported(p));
    };
    let mut out = String::new();
    for (i, l) in input.lines().enumerate() {
        let hit = match &pat {
            Pat::All => true,
            Pat::Re(re) => re.is_match(l),
            Pat::Nr(n) => i + 1 == *n,
        };
        if !hit {
            continue;
        }
        let nf = match &sep {
            Some(s) => l.split(s.as_str()).count(),
            None => l.split_whitespace().count(),
        };
        let mut vals = Vec::new();
        for e in &exprs {
            let v = if e == "$NF" {
                field(l, sep.as_deref(), nf).to_string()
            } else if e == "NR" {
                (i + 1).to_string()
            } else if e == "NF" {
                nf.to_string()
            } else if let Some(n) = e.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                field(l, sep.as_deref(), n).to_string()
            } else if let Some(s) = e.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                s.to_string()
            } else {
                return Err(unsupported(p));
            };
            vals.push(v);
        }
        out.push_str(&vals.join(" "));
        out.push('\n');
    }
    Ok((out, 0))
}

fn tr(args: &[String], input: &str) -> FilterResult {
    match args {
        [d, set] if d == "-d" => {
            let set: Vec<char> = set.replace("\\n", "\n").replace("\\t", "\t").chars().collect();
            Ok((input.chars().filter(|c| !set.contains(c)).collect(), 0))
        }
        _ => Err((format!("tr: only `tr -d SET` is simulated (netsim's filters: {SUPPORTED_FILTERS})"), 1)),
    }
}

use serde_json::Value;

/// One jq filter term.
#[derive(Clone, Debug)]
enum Jq {
    /// `.a.b[0]` (keys and indexes), `.[]` / `.a[]` iterate.
    Path(Vec<Seg>),
    Length,
    Keys,
    /// `select(PATH == LITERAL)` or `!=`.
    Select(Vec<Seg>, bool, Value),
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(i64),
    Iter,
}

fn parse_path(p: &str) -> Option<Vec<Seg>> {
    let p = p.trim();
    let mut rest = p.strip_prefix('.')?;
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if inner.is_empty() {
                segs.push(Seg::Iter);
            } else if let Ok(i) = inner.parse::<i64>() {
                segs.push(Seg::Index(i));
            } else {
                segs.push(Seg::Key(inner.trim_matches('"').to_string()));
            }
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() {
                return None;
            }
            if !key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '"') {
                return None;
            }
            segs.push(Seg::Key(key.trim_matches('"').to_string()));
            rest = &r[end..];
        }
    }
    Some(segs)
}

fn parse_jq(program: &str) -> Option<Vec<Jq>> {
    program
        .split('|')
        .map(|t| {
            let t = t.trim();
            match t {
                "length" => Some(Jq::Length),
                "keys" => Some(Jq::Keys),
                _ => {
                    if let Some(inner) = t.strip_prefix("select(").and_then(|s| s.strip_suffix(')')) {
                        let (lhs, neg, rhs) = if let Some((l, r)) = inner.split_once("!=") {
                            (l, true, r)
                        } else {
                            let (l, r) = inner.split_once("==")?;
                            (l, false, r)
                        };
                        let v: Value = serde_json::from_str(rhs.trim()).ok()?;
                        return Some(Jq::Select(parse_path(lhs)?, neg, v));
                    }
                    parse_path(t).map(Jq::Path)
                }
            }
        })
        .collect()
}

fn walk(v: &Value, segs: &[Seg], out: &mut Vec<Value>) -> Result<(), String> {
    let Some((first, rest)) = segs.split_first() else {
        out.push(v.clone());
        return Ok(());
    };
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) => walk(m.get(k).unwrap_or(&Value::Null), rest, out),
        (Seg::Key(_), Value::Null) => walk(&Value::Null, rest, out),
        (Seg::Key(k), other) => Err(format!("jq: error: Cannot index {} with \"{k}\"", type_name(other))),
        (Seg::Index(i), Value::Array(a)) => {
            let idx = if *i < 0 { a.len() as i64 + i } else { *i };
            walk(usize::try_from(idx).ok().and_then(|i| a.get(i)).unwrap_or(&Value::Null), rest, out)
        }
        (Seg::Index(_), Value::Null) => walk(&Value::Null, rest, out),
        (Seg::Index(_), other) => Err(format!("jq: error: Cannot index {} with number", type_name(other))),
        (Seg::Iter, Value::Array(a)) => a.iter().try_for_each(|x| walk(x, rest, out)),
        (Seg::Iter, Value::Object(m)) => m.values().try_for_each(|x| walk(x, rest, out)),
        (Seg::Iter, other) => Err(format!("jq: error: Cannot iterate over {}", type_name(other))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn jq(args: &[String], input: &str) -> FilterResult {
    let (mut raw, mut compact) = (false, false);
    let mut program: Option<&str> = None;
    for a in args {
        match a.as_str() {
            "-r" | "--raw-output" => raw = true,
            "-c" | "--compact-output" => compact = true,
            "-rc" | "-cr" => (raw, compact) = (true, true),
            f if f.starts_with('-') && f.len() > 1 => return Err((format!("jq: Unknown option: {f}"), 2)),
            p if program.is_none() => program = Some(p),
            other => return Err((format!("jq: {other}: files are not read after a pipe"), 2)),
        }
    }
    let program = program.unwrap_or(".");
    let Some(terms) = parse_jq(program) else {
        return Err((
            format!(
                "jq: the filter {program:?} is not simulated (netsim's jq: .a.b, .a[0], .[], .a[].b, |, length, keys, select(.a == \"v\"), -r, -c)"
            ),
            3,
        ));
    };
    let mut out = String::new();
    let stream = serde_json::Deserializer::from_str(input).into_iter::<Value>();
    for doc in stream {
        let doc =
            doc.map_err(|e| (format!("jq: error (at <stdin>:{}): Cannot parse input: {e}", e.line()), 2))?;
        let mut vals = vec![doc];
        for t in &terms {
            let mut next = Vec::new();
            for v in &vals {
                match t {
                    Jq::Path(segs) => walk(v, segs, &mut next).map_err(|e| (e, 5))?,
                    Jq::Length => next.push(Value::from(match v {
                        Value::Array(a) => a.len(),
                        Value::Object(m) => m.len(),
                        Value::String(s) => s.chars().count(),
                        Value::Null => 0,
                        other => return Err((format!("jq: error: {} has no length", type_name(other)), 5)),
                    })),
                    Jq::Keys => match v {
                        Value::Object(m) => {
                            let mut k: Vec<&String> = m.keys().collect();
                            k.sort();
                            next.push(Value::from(k.into_iter().cloned().collect::<Vec<_>>()));
                        }
                        Value::Array(a) => next.push(Value::from((0..a.len()).collect::<Vec<_>>())),
                        other => return Err((format!("jq: error: {} has no keys", type_name(other)), 5)),
                    },
                    Jq::Select(segs, neg, want) => {
                        let mut got = Vec::new();
                        walk(v, segs, &mut got).map_err(|e| (e, 5))?;
                        if got.iter().any(|g| g == want) != *neg {
                            next.push(v.clone());
                        }
                    }
                }
            }
            vals = next;
        }
        for v in vals {
            let text = match (&v, raw) {
                (Value::String(s), true) => s.clone(),
                _ if compact => v.to_string(),
                _ => serde_json::to_string_pretty(&v).unwrap_or_default(),
            };
            out.push_str(&text);
            out.push('\n');
        }
    }
    Ok((out, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(cmd: &str, input: &str) -> String {
        match filter(cmd, input) {
            Ok((s, _)) => s,
            Err((e, c)) => format!("error {c}: {e}"),
        }
    }

    #[test]
    fn filters_behave_like_their_tools() {
        let text = "NAME READY\nweb-1 1/1\nweb-2 0/1\ndb-1 1/1\n";
        assert_eq!(f("grep web", text), "web-1 1/1\nweb-2 0/1\n");
        assert_eq!(f("grep -v web", text), "NAME READY\ndb-1 1/1\n");
        assert_eq!(f("grep -c 1/1", text), "2\n");
        assert_eq!(f("grep -Eo 'web-[0-9]+'", text), "web-1\nweb-2\n");
        assert_eq!(f("grep -i name", text), "NAME READY\n");
        // `--` ends the options, as getopt does: the pattern may start with a dash.
        assert_eq!(f("grep -- -1", text), "web-1 1/1\ndb-1 1/1\n");
        assert_eq!(f("grep -c -- -2", text), "1\n");
        assert_eq!(filter("grep nope", text).map(|r| r.1), Ok(1));
        assert_eq!(f("head -n 2", text), "NAME READY\nweb-1 1/1\n");
        assert_eq!(f("tail -1", text), "db-1 1/1\n");
        assert_eq!(f("tail -n +2", text), "web-1 1/1\nweb-2 0/1\ndb-1 1/1\n");
        assert_eq!(f("wc -l", text), "4\n");
        assert_eq!(f("awk '{print $1}'", text), "NAME\nweb-1\nweb-2\ndb-1\n");
        assert_eq!(f("awk 'NR==2 {print $2}'", text), "1/1\n");
        assert_eq!(f("cut -d - -f 1", "web-1\ndb-2\n"), "web\ndb\n");
        assert_eq!(f("sort -r", "a\nc\nb\n"), "c\nb\na\n");
        assert_eq!(f("sort -n", "10\n9\n100\n"), "9\n10\n100\n");
        assert_eq!(f("uniq -c", "a\na\nb\n"), "      2 a\n      1 b\n");
        assert!(f("sed s/a/b/", text).starts_with("error 127: sh: sed: not simulated after a pipe"));
    }

    #[test]
    fn jq_common_filters() {
        let j = r#"{"items":[{"metadata":{"name":"a"},"spec":{"type":"NodePort"}},{"metadata":{"name":"b"},"spec":{"type":"ClusterIP"}}]}"#;
        assert_eq!(f("jq -r '.items[].metadata.name'", j), "a\nb\n");
        assert_eq!(f("jq '.items | length'", j), "2\n");
        assert_eq!(f("jq -r '.items[] | select(.spec.type == \"NodePort\") | .metadata.name'", j), "a\n");
        assert_eq!(f("jq -c '.items[0].metadata'", j), "{\"name\":\"a\"}\n");
        assert!(f("jq 'map(.x)'", j).starts_with("error 3: jq: the filter"));
    }

    #[test]
    fn lists_and_redirects_split_outside_quotes() {
        let l = split_list("curl -s x | grep -c 'a|b' && echo ok; hostname").unwrap_or_default();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].1, ["curl -s x", "grep -c 'a|b'"]);
        assert_eq!(l[1].0, Join::And);
        assert_eq!(l[2].0, Join::Seq);
        assert!(has_shell_syntax("a | b"));
        assert!(!has_shell_syntax("iptables -m comment --comment 'a > b'"));
        let (cmd, r) = take_redirects("curl -s x > /tmp/out 2>/dev/null").unwrap_or_default_redirects();
        assert_eq!(cmd, "curl -s x");
        assert_eq!(r.stdout, Some(("/tmp/out".to_string(), false)));
        assert!(r.stderr_null);
    }

    trait OrDefault {
        fn unwrap_or_default_redirects(self) -> (String, Redirects);
    }
    impl OrDefault for Result<(String, Redirects), String> {
        fn unwrap_or_default_redirects(self) -> (String, Redirects) {
            self.unwrap_or_else(|e| (e, Redirects::default()))
        }
    }
}
