//! Log text is hostile: strip terminal escape sequences and control
//! characters before a string reaches the screen, a report or an export.
//!
//! Removed: ANSI/VT escape sequences (CSI `ESC [ ... final`, OSC
//! `ESC ] ... BEL|ST`, DCS/SOS/PM/APC strings and two-byte escapes), C0
//! controls, DEL, C1 controls (U+0080..U+009F, including the 8-bit CSI), and
//! Unicode bidirectional overrides/isolates that can reorder what is shown.
//! Tabs and newlines become a single space.

use std::borrow::Cow;

/// Whether `s` is printable ASCII only (space to `~`): nothing in it needs
/// cleaning, the common case.
pub fn is_printable_ascii(s: &str) -> bool {
    // Every byte is checked, without stopping at the first miss: a loop
    // without an exit is one the compiler checks 16 bytes at a time, and
    // the strings asked about (names, ids, tags) are short.
    s.bytes().fold(true, |ok, b| ok & printable(b))
}

/// A printable ASCII byte (space to `~`), as one comparison.
fn printable(b: u8) -> bool {
    b.wrapping_sub(0x20) < 0x5f
}

/// Whether `s` is printable ASCII without `"` or `\`: it reads the same
/// inside JSON quotes, nothing to escape. Checked like
/// [`is_printable_ascii`], every byte without an early exit.
pub fn is_plain_json_text(s: &str) -> bool {
    s.bytes().fold(true, |ok, b| ok & printable(b) & (b != b'"') & (b != b'\\'))
}

/// `s.trim()`, with the common case (a visible ASCII character at both
/// ends, so nothing to trim) decided from two bytes instead of decoding
/// characters at both ends: asked of several values on every line.
#[inline]
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Returns `s` without control characters and escape sequences.
/// Borrows when nothing needs to change (the common case).
pub fn clean(s: &str) -> Cow<'_, str> {
    if is_printable_ascii(s) || !s.chars().any(needs_work) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' | '\u{9d}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if is_dropped(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`clean`] line by line, keeping the line breaks (for multi-line
/// messages such as error chains).
pub fn clean_multiline(s: &str) -> String {
    s.split('\n').map(|l| clean(l).into_owned()).collect::<Vec<_>>().join("\n")
}

/// Cleans and truncates to at most `max_chars` characters, appending `…`
/// when something was cut.
pub fn clean_truncated(s: &str, max_chars: usize) -> String {
    let c = clean(s);
    if c.chars().count() <= max_chars {
        return c.into_owned();
    }
    let mut out: String = c.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn needs_work(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

fn is_dropped(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn skip_escape<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => {
            chars.next();
            skip_string(chars);
        }
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            // nF escape: intermediates then one final byte.
            while let Some(&c) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&c) {
                    break;
                }
            }
        }
        Some(c) if ('\u{30}'..='\u{7e}').contains(&c) => {
            chars.next();
        }
        _ => {}
    }
}

/// CSI: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, one final
/// byte 0x40-0x7E.
fn skip_csi<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>) {
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            break;
        }
    }
}

/// OSC/DCS/SOS/PM/APC: up to BEL, ST (`ESC \`) or the 8-bit ST.
fn skip_string<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "\u{3000}x\u{3000}",
            "x\u{85}",
            "\u{a0}x",
            "é",
            " é ",
            "ok",
            "1.5",
            "\u{2028}",
            "a\u{200b}",
            "\r\n",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn printable_ascii_is_space_to_tilde_at_any_position() {
        for b in 0u8..=127 {
            let printable = b == b' ' || b.is_ascii_graphic();
            let c = b as char;
            // Alone, first, last and in the middle of strings long enough
            // to be checked in blocks.
            for s in [
                c.to_string(),
                format!("{c}{}", "x".repeat(40)),
                format!("{}{c}", "x".repeat(33)),
                format!("{}{c}{}", "y".repeat(17), "z".repeat(20)),
            ] {
                assert_eq!(is_printable_ascii(&s), printable, "{b:#04x} in {s:?}");
            }
        }
        assert!(is_printable_ascii(""));
        assert!(!is_printable_ascii(&format!("{}\u{e9}", "a".repeat(31))));
    }

    #[test]
    fn plain_json_text_is_what_json_writes_without_escapes() {
        for b in 0u8..=127 {
            let c = b as char;
            for s in
                [c.to_string(), format!("{c}{}", "x".repeat(40)), format!("{}{c}{}", "y".repeat(17), "z".repeat(20))]
            {
                // serde_json's writer is the oracle: plain means quoted as is.
                let plain = serde_json::to_string(&s).unwrap() == format!("\"{s}\"") && b != 0x7f;
                assert_eq!(is_plain_json_text(&s), plain, "{b:#04x} in {s:?}");
            }
        }
        assert!(is_plain_json_text(""));
        assert!(!is_plain_json_text("caf\u{e9}"));
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(clean("support-copilot ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_escape_sequences_and_controls() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(clean("a\u{1b}]0;pwned title\u{7}b"), "ab");
        assert_eq!(clean("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"), "alinkb");
        assert_eq!(clean("x\u{1b}Py\u{1b}\\z"), "xz");
        assert_eq!(clean("bell\u{7}\u{8}back"), "bellback");
        assert_eq!(clean("c1\u{9b}2Jcsi"), "c1csi");
        assert_eq!(clean("line1\r\nline2\tx"), "line1 line2 x");
        assert_eq!(clean("del\u{7f}x"), "delx");
        assert_eq!(clean("\u{202e}evil"), "evil");
        assert_eq!(clean("\u{1b}c reset"), " reset");
    }

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(clean_truncated("abcdef", 4), "abc…");
        assert_eq!(clean_truncated("abc", 4), "abc");
    }
}
