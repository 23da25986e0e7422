//! What a handler may put in the body's text members, whatever it passes: the published schema
//! holds for every answer. A `detail` is cut at [`MAX_DETAIL_CHARS`] characters, on a character
//! boundary; an `error` code is made `snake_case`. Each correction is a `tracing` warning that
//! names the call, so the handler can be fixed; the client never gets a body the schema rejects.

use std::borrow::Cow;

/// The longest `detail` the schemas allow (`maxLength`, in characters).
pub const MAX_DETAIL_CHARS: usize = 2048;

/// `text` within [`MAX_DETAIL_CHARS`] characters: as it is when it fits, else its first
/// characters and `…`. `None` for an empty text, which the schemas refuse (`minLength` 1).
pub(crate) fn bounded(text: Cow<'static, str>, call: &'static str) -> Option<Cow<'static, str>> {
    if text.is_empty() {
        tracing::warn!(
            target: "tower_api_errors::error",
            call,
            "an empty text was ignored: the body's texts are never empty"
        );
        return None;
    }
    // Fewer bytes than the limit are fewer characters: no counting on the usual path.
    if text.len() <= MAX_DETAIL_CHARS {
        return Some(text);
    }
    let Some((cut, _)) = text.char_indices().nth(MAX_DETAIL_CHARS - 1) else {
        return Some(text);
    };
    if text[cut..].chars().nth(1).is_none() {
        // Exactly the limit.
        return Some(text);
    }
    tracing::warn!(
        target: "tower_api_errors::error",
        call,
        characters = text.chars().count(),
        "a text longer than {MAX_DETAIL_CHARS} characters was cut there"
    );
    Some(Cow::Owned(format!("{}…", &text[..cut])))
}

/// Whether `code` is a code the schemas allow: `^[a-z][a-z0-9_]*$`.
pub(crate) fn is_code(code: &str) -> bool {
    let mut bytes = code.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `code` as the schemas allow it: as it is when it is one, else in `snake_case` (ASCII letters
/// lowered, every run of other characters one `_`, `error_` before a leading digit); `None`
/// when nothing of it is left (the error keeps the code it had).
pub(crate) fn snake_code(code: Cow<'static, str>) -> Option<Cow<'static, str>> {
    if is_code(&code) {
        return Some(code);
    }
    let mut snake = String::with_capacity(code.len());
    for c in code.chars() {
        if c.is_ascii_alphanumeric() {
            snake.push(c.to_ascii_lowercase());
        } else if !snake.is_empty() && !snake.ends_with('_') {
            snake.push('_');
        }
    }
    while snake.ends_with('_') {
        snake.pop();
    }
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        snake.insert_str(0, "error_");
    }
    let fixed = (!snake.is_empty()).then_some(snake);
    tracing::warn!(
        target: "tower_api_errors::error",
        call = "ApiError::with_code",
        code = %code,
        sent = fixed.as_deref().unwrap_or("(the status's code)"),
        "an error code must match ^[a-z][a-z0-9_]*$: it was rewritten"
    );
    fixed.map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_on_a_character_boundary_at_the_limit() {
        let fits = "é".repeat(MAX_DETAIL_CHARS);
        assert_eq!(bounded(fits.clone().into(), "t").unwrap(), fits);
        let long = format!("{}{}", "é".repeat(MAX_DETAIL_CHARS), "tail");
        let cut = bounded(long.into(), "t").unwrap();
        assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS);
        assert!(cut.ends_with("é…"));
        assert_eq!(bounded(Cow::Borrowed(""), "t"), None);
        assert!(matches!(
            bounded(Cow::Borrowed("short"), "t"),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn codes_are_made_snake_case() {
        let snake = |c: &'static str| snake_code(c.into()).map(Cow::into_owned);
        assert_eq!(
            snake("payment_not_found").as_deref(),
            Some("payment_not_found")
        );
        assert_eq!(
            snake("Payment Not Found!").as_deref(),
            Some("payment_not_found")
        );
        assert_eq!(snake("--Rate-Limited--").as_deref(), Some("rate_limited"));
        assert_eq!(snake("404").as_deref(), Some("error_404"));
        assert_eq!(snake("Ünïcode").as_deref(), Some("n_code"));
        assert_eq!(snake("!!!"), None);
        assert_eq!(snake(""), None);
        for code in ["a", "a_1", "payment_not_found"] {
            assert!(is_code(code));
        }
        for code in ["", "A", "1a", "a-b", "a b"] {
            assert!(!is_code(code));
        }
    }
}
