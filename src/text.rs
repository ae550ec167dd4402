//! Checks on text that people will read: names and email addresses.

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

#[cfg(test)]
mod tests {
    use super::*;

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
