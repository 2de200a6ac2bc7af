//! Quoting input in error messages without echoing all of it: an error about a 50 MB string
//! must not put 50 MB (or, Debug-escaped, twice that) on stderr.

/// How many characters of the input an error quotes at most.
pub const QUOTE_CHARS: usize = 200;

/// `text` Debug-quoted (`"…"`), cut after [`QUOTE_CHARS`] characters with a note of how many
/// bytes were left out, e.g. `"12345…" (and 49999800 more bytes)`.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… (and {} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// `text` as it is (an error's own wording, e.g. a decoder's reason that may quote input), cut
/// after [`QUOTE_CHARS`] × 5 characters with a note of how many bytes were left out. Text at
/// most [`QUOTE_CHARS`] characters longer is left whole, so that a message cut by an inner
/// layer and given a short prefix is not cut again (which would hide the first note).
pub fn cut(text: &str) -> String {
    let keep = QUOTE_CHARS * 5;
    if text.char_indices().nth(keep + QUOTE_CHARS).is_none() {
        return text.to_owned();
    }
    let (cut, _) = text.char_indices().nth(keep).expect("longer than keep");
    format!("{}… (and {} more bytes)", &text[..cut], text.len() - cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole_and_long_text_is_cut() {
        assert_eq!(quote("1.5"), "\"1.5\"");
        let long = "é".repeat(1000);
        let quoted = quote(&long);
        assert!(quoted.starts_with(&format!("\"{}\"…", "é".repeat(QUOTE_CHARS))));
        assert!(quoted.ends_with("(and 1600 more bytes)"), "{quoted}");
        assert_eq!(cut("short"), "short");
        // A message cut once, with a prefix, is not cut again.
        let once = format!("element 0: {}", cut(&"y".repeat(10_000)));
        assert_eq!(
            cut(&format!("recording: {once}")),
            format!("recording: {once}")
        );
        let cut_long = cut(&"x".repeat(50_000_000));
        assert!(cut_long.len() < 2_000, "{}", cut_long.len());
        assert!(cut_long.ends_with("(and 49999000 more bytes)"));
    }
}
