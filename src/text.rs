//! Checks on text that people will read: names and email addresses, and
//! the same checks as the contract's patterns, so clients can run them too.

use std::sync::LazyLock;

/// Unicode's format characters (general category Cf, Unicode 15.1): zero
/// width spaces and joiners, bidirectional overrides and isolates, the byte
/// order mark, tags. They are invisible, or reorder what follows, so a name
/// or address holding one can pass for another.
const FORMAT_CHARS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

pub fn is_format_char(c: char) -> bool {
    FORMAT_CHARS.iter().any(|(first, last)| (*first..=*last).contains(&c))
}

/// Control or formatting characters: what no name, title or label may hold.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_format_char(c)
}

/// Text a column can store: PostgreSQL's `text` holds no NUL, so no
/// request may carry one.
pub const STORABLE_PATTERN: &str = "^[^\\u0000]*$";

/// Storable text with something written in it: not only whitespace.
pub static NON_BLANK_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let blank = regex_class(|c| c == '\0' || c.is_whitespace());
    format!("^[^\\u0000]*[^{blank}][^\\u0000]*$")
});

/// Text without control or formatting characters; it may be empty.
pub static NO_HIDDEN_PATTERN: LazyLock<String> = LazyLock::new(|| format!("^[^{}]*$", regex_class(is_hidden)));

/// One line people read, as the contract states it: whatever the server
/// trims, around at least one visible character, and no control or
/// formatting characters. See [`regex_class`] for the dialect.
pub static LINE_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let space = regex_class(char::is_whitespace);
    let hidden = regex_class(is_hidden);
    let blank = regex_class(|c| is_hidden(c) || c.is_whitespace());
    format!("^[{space}]*[^{blank}](?:[^{hidden}]*[^{blank}])?[{space}]*$")
});

/// An email address as the server accepts it, around what it trims: a
/// local part, `@`, and a domain with a dot inside it; no spaces, control
/// or formatting characters.
pub static EMAIL_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let space = regex_class(char::is_whitespace);
    let other = regex_class(|c| c == '@' || is_hidden(c) || c.is_whitespace());
    let edge = regex_class(|c| c == '@' || c == '.' || is_hidden(c) || c.is_whitespace());
    format!("^[{space}]*[^{other}]+@[^{edge}][^{other}]*\\.[^{other}]*[^{edge}][{space}]*$")
});

/// The body of a character class holding every character `member` accepts,
/// as ranges. Written so ECMA-262 in Unicode mode (JSON Schema 2020-12 asks
/// for the `u` flag) and Python's `re` (schemathesis) read it alike:
/// `\uXXXX` escapes within the BMP, the characters themselves beyond it
/// (the two have no common escape for those).
pub fn regex_class(member: impl Fn(char) -> bool) -> String {
    let write = |class: &mut String, c: char| match u32::from(c) {
        code @ ..=0xFFFF => class.push_str(&format!("\\u{code:04X}")),
        _ => class.push(c),
    };
    let mut class = String::new();
    let mut members = (0..=u32::from(char::MAX)).filter_map(char::from_u32).filter(|c| member(*c)).peekable();
    while let Some(first) = members.next() {
        let mut last = first;
        while let Some(next) = members.next_if(|next| u32::from(*next) == u32::from(last) + 1) {
            last = next;
        }
        write(&mut class, first);
        if last != first {
            class.push('-');
            write(&mut class, last);
        }
    }
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regress::Regex::new(pattern).unwrap().find(text).is_some()
    }

    #[test]
    fn the_line_pattern_accepts_exactly_what_a_trimmed_visible_line_is() {
        let line = regress::Regex::new(&LINE_PATTERN).unwrap();
        // Every plane that holds a control, formatting or space character.
        for c in (0..=0x2FFFF).chain(0xE0000..=0xE0FFF).filter_map(char::from_u32) {
            let alone = c.to_string();
            let accepted = !is_hidden(c) && !c.is_whitespace();
            assert_eq!(line.find(&alone).is_some(), accepted, "{c:?}");
            assert_eq!(line.find(&format!(" a{c}b ")).is_some(), !is_hidden(c), "{c:?}");
        }
        for trimmed in ["a", "\ta b\n", " \u{3000}name\u{2003}"] {
            assert!(matches(&LINE_PATTERN, trimmed), "{trimmed:?}");
        }
        for refused in ["", " \t ", "a\tb", "a\u{200B}"] {
            assert!(!matches(&LINE_PATTERN, refused), "{refused:?}");
        }
    }

    #[test]
    fn the_non_blank_pattern_needs_something_written() {
        for written in ["a", "\n  a\n\tb \n"] {
            assert!(matches(&NON_BLANK_PATTERN, written), "{written:?}");
        }
        for refused in ["", " \n\t\u{3000}", "a\u{0}"] {
            assert!(!matches(&NON_BLANK_PATTERN, refused), "{refused:?}");
        }
    }

    #[test]
    fn the_email_pattern_accepts_what_the_server_accepts() {
        for accepted in ["a@b.c", " First.Last+tag@sub.example.com\t", "ünïcode@exämple.org", "a@b..c"] {
            assert!(matches(&EMAIL_PATTERN, accepted), "{accepted}");
        }
        for refused in
            ["", "a@b", "@b.c", "a@.b", "a@b.", "a@b@c.d", "a b@c.d", "a@b.c x", "a\u{200B}@b.c", "a\u{7}@b.c"]
        {
            assert!(!matches(&EMAIL_PATTERN, refused), "{refused:?}");
        }
    }

    #[test]
    fn invisible_and_bidirectional_characters_are_format_characters() {
        for c in ['\u{200B}', '\u{200D}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{00AD}', '\u{E0041}'] {
            assert!(is_format_char(c), "{:?}", c);
        }
        for c in ['a', 'é', 'Ω', '中', ' ', '-', '\u{1F600}'] {
            assert!(!is_format_char(c), "{:?}", c);
        }
    }
}
