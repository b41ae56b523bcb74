//! The `nft -f` scanner (after `src/scanner.l`): words (identifiers, which may hold `/`, `-`,
//! `_` and `.` after their first character), numbers, IPv4 and IPv6 addresses (an IPv6
//! address is the longest run of hex digits, colons and dots that parses as one, as the
//! scanner's `ip6addr` patterns match greedily: `fd00::2:80` is one address), times (`3h`), quoted
//! strings, punctuation, and newlines (statement separators). `#` starts a comment; a
//! backslash before a newline joins lines.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A token's kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An identifier or keyword.
    Word(String),
    /// A decimal or hexadecimal number.
    Num(u64),
    /// A dotted-quad address.
    Addr(Ipv4Addr),
    /// An IPv6 address.
    Addr6(Ipv6Addr),
    /// A digit-led word that is neither (`3h`, `1.2.3.400`).
    Digits(String),
    /// `"..."`.
    Str(String),
    /// A punctuation character (`{ } ; , : . = @ $ / - + ( ) & | ^ < >`) or `!=`, `==`,
    /// `<=`, `>=`.
    Punct(&'static str),
    /// A newline.
    Newline,
    /// The end of the input.
    Eof,
}

/// A token with its position (1-based line and columns, the end inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The kind.
    pub tok: Tok,
    /// Line.
    pub line: usize,
    /// First column.
    pub col: usize,
    /// Last column.
    pub end: usize,
}

const PUNCT: [&str; 23] = [
    "!=", "==", "<=", ">=", "{", "}", ";", ",", ":", ".", "=", "@", "$", "/", "-", "+", "(", ")", "&", "|",
    "^", "[", "]",
];

/// The IPv6 address starting at `i`, if one does, and its length in characters.
fn ipv6_at(chars: &[char], i: usize) -> Option<(Ipv6Addr, usize)> {
    let mut j = i;
    let mut colons = 0;
    while j < chars.len() && (chars[j].is_ascii_hexdigit() || chars[j] == ':' || chars[j] == '.') {
        colons += usize::from(chars[j] == ':');
        j += 1;
    }
    // A word goes on (`dead:beefy`): not an address.
    if colons < 2 || chars.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
        return None;
    }
    while j > i && chars[j - 1] == '.' {
        j -= 1;
    }
    let w: String = chars[i..j].iter().collect();
    w.parse::<Ipv6Addr>().ok().map(|a| (a, j - i))
}

/// Splits `src` into tokens; the last is [`Tok::Eof`]. An unknown character is returned as
/// its position.
pub fn lex(src: &str) -> Result<Vec<Token>, (usize, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1) == Some(&'\n') {
            i += 2;
            line += 1;
            col = 1;
            continue;
        }
        if c == '\n' {
            out.push(Token { tok: Tok::Newline, line, col, end: col });
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start = col;
        if (c.is_ascii_hexdigit() || c == ':')
            && let Some((a, n)) = ipv6_at(&chars, i)
        {
            out.push(Token { tok: Tok::Addr6(a), line, col: start, end: start + n - 1 });
            i += n;
            col += n;
            continue;
        }
        if c == '"' {
            let mut j = i + 1;
            let mut s = String::new();
            while j < chars.len() && chars[j] != '"' && chars[j] != '\n' {
                s.push(chars[j]);
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                return Err((line, start));
            }
            let n = j + 1 - i;
            out.push(Token { tok: Tok::Str(s), line, col: start, end: start + n - 1 });
            i = j + 1;
            col += n;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || "/-_.".contains(chars[j])) {
                j += 1;
            }
            // A word does not end with a dot or a dash (`ip daddr . meta`).
            while j > i + 1 && matches!(chars[j - 1], '.' | '-') {
                j -= 1;
            }
            let w: String = chars[i..j].iter().collect();
            let n = j - i;
            out.push(Token { tok: Tok::Word(w), line, col: start, end: start + n - 1 });
            i = j;
            col += n;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '.') {
                j += 1;
            }
            while j > i + 1 && chars[j - 1] == '.' {
                j -= 1;
            }
            let w: String = chars[i..j].iter().collect();
            let n = j - i;
            let tok = if let Some(v) = super::expr::parse_number(&w) {
                Tok::Num(v)
            } else if let Ok(a) = w.parse::<Ipv4Addr>() {
                Tok::Addr(a)
            } else {
                Tok::Digits(w)
            };
            out.push(Token { tok, line, col: start, end: start + n - 1 });
            i = j;
            col += n;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match PUNCT.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                let n = p.len();
                out.push(Token { tok: Tok::Punct(p), line, col: start, end: start + n - 1 });
                i += n;
                col += n;
            }
            None if c == '<' || c == '>' => {
                let p = if c == '<' { "<" } else { ">" };
                out.push(Token { tok: Tok::Punct(p), line, col: start, end: start });
                i += 1;
                col += 1;
            }
            None => return Err((line, start)),
        }
    }
    out.push(Token { tok: Tok::Eof, line, col, end: col });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_addresses_and_punctuation() {
        let t = lex("goto endpoint-5OJB/p80__10.180.0.1/80 10.0.0.0/8 . 3h 0x4000 != \"c d\"\n").unwrap();
        let kinds: Vec<Tok> = t.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Word("goto".into()),
                Tok::Word("endpoint-5OJB/p80__10.180.0.1/80".into()),
                Tok::Addr(Ipv4Addr::new(10, 0, 0, 0)),
                Tok::Punct("/"),
                Tok::Num(8),
                Tok::Punct("."),
                Tok::Digits("3h".into()),
                Tok::Num(0x4000),
                Tok::Punct("!="),
                Tok::Str("c d".into()),
                Tok::Newline,
                Tok::Eof,
            ]
        );
    }
}
