//! `Accept` negotiation: `application/json`, `application/problem+json` or a shape offered, as
//! RFC 9110 says.

use http::header::ACCEPT;
use http::HeaderMap;

use crate::respond::settings::{Format, Rendering};

/// (specificity, quality in thousandths) of the most specific range seen for a type.
type Best = Option<(u8, u16)>;

/// `best` after `range` matched with `specificity`: the most specific range decides, and of
/// equally specific ones the higher quality.
fn better(best: Best, specificity: u8, quality: u16) -> Best {
    match best {
        Some((s, q)) if s > specificity => Some((s, q)),
        Some((s, q)) if s == specificity => Some((s, q.max(quality))),
        _ => Some((specificity, quality)),
    }
}

/// Picks the format from every `Accept` field line, as RFC 9110 §12.5.1 says: each type's
/// quality is the one of the most specific range that matches it (`application/json` before
/// `application/*` before `*/*`), `q=0` means "not acceptable", the higher quality wins, and a
/// tie (or nothing acceptable: an error is sent anyway) keeps `default`.
pub(crate) fn negotiate(default: Format, headers: &HeaderMap) -> Format {
    let mut fields = headers.get_all(ACCEPT).iter().peekable();
    if fields.peek().is_none() {
        return default;
    }
    let (mut json, mut problem): (Best, Best) = (None, None);
    let ranges = fields
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(MediaRange::parse);
    for range in ranges {
        for (subtype, best) in [("json", &mut json), ("problem+json", &mut problem)] {
            if let Some(specificity) = range.matches("application", subtype) {
                *best = better(*best, specificity, range.quality);
            }
        }
    }
    let quality = |best: Best| best.map_or(0, |(_, q)| q);
    let (json, problem) = (quality(json), quality(problem));
    match json.cmp(&problem) {
        std::cmp::Ordering::Greater => Format::Json,
        std::cmp::Ordering::Less => Format::Problem,
        std::cmp::Ordering::Equal => default,
    }
}

/// What the body of a request is written in when shapes are offered: a shape, or a format
/// whose media type no shape takes. The same rules as [`negotiate`], over every candidate in
/// order (the shapes, then JSON, then problem documents); a tie with the default keeps it, and
/// another tie goes to the first candidate. The shape is its place in the rendering's shapes,
/// from 1 (0: a format).
pub(crate) fn negotiate_shape(rendering: &Rendering, headers: &HeaderMap) -> (Format, u8) {
    let default = (rendering.format, rendering.default_shape);
    let quality = |kind: &str, subtype: &str| {
        let ranges = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(MediaRange::parse);
        let mut best = None;
        for range in ranges {
            if let Some(specificity) = range.matches(kind, subtype) {
                best = better(best, specificity, range.quality);
            }
        }
        best.map_or(0, |(_, q)| q)
    };
    let taken = |format: Format| {
        rendering
            .shapes
            .iter()
            .any(|shape| shape.media_range() == format.media_range())
    };
    let formats = [Format::Json, Format::Problem]
        .into_iter()
        .filter(|format| !taken(*format))
        .map(|format| ((format, 0), format.media_range()));
    let shapes = (1..)
        .zip(&rendering.shapes)
        .map(|(place, shape)| ((rendering.format, place), shape.media_range()));
    let (mut chosen, mut chosen_quality, mut default_quality) = (default, 0, 0);
    for (candidate, (kind, subtype)) in shapes.chain(formats) {
        let q = quality(kind, subtype);
        if candidate == default {
            default_quality = q;
        }
        if q > chosen_quality {
            (chosen, chosen_quality) = (candidate, q);
        }
    }
    if default_quality == chosen_quality {
        default
    } else {
        chosen
    }
}

/// One media range of an `Accept` field.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    /// Parameters besides `q` make a range more specific than the same range without them.
    has_params: bool,
    quality: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut params = text.split(';');
        let (kind, subtype) = params.next()?.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut range = Self {
            kind,
            subtype,
            has_params: false,
            quality: 1000,
        };
        for param in params {
            let (name, value) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                range.quality = parse_quality(value.trim())?;
                // Everything after the weight is an accept-ext, not a media type parameter.
                break;
            }
            range.has_params = true;
        }
        Some(range)
    }

    /// How specifically this range names `kind/subtype`, or `None` when it does not match.
    fn matches(&self, kind: &str, subtype: &str) -> Option<u8> {
        if self.kind == "*" {
            return Some(1);
        }
        if !self.kind.eq_ignore_ascii_case(kind) {
            return None;
        }
        if self.subtype == "*" {
            return Some(2);
        }
        self.subtype
            .eq_ignore_ascii_case(subtype)
            .then_some(3 + u8::from(self.has_params))
    }
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths: `0`, `0.5`, `1`, `1.000`; anything else is
/// invalid.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(ACCEPT, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn accept_negotiation_follows_rfc_9110() {
        use Format::{Json, Problem};
        // (default, Accept field lines, expected)
        let table: &[(Format, &[&str], Format)] = &[
            (Json, &[], Json),
            (Problem, &[], Problem),
            (Json, &["application/problem+json"], Problem),
            (Json, &["Application/Problem+JSON"], Problem),
            (
                Json,
                &["application/json;q=0.5, application/problem+json"],
                Problem,
            ),
            (
                Json,
                &["application/json, application/problem+json;q=0.9"],
                Json,
            ),
            (
                Json,
                &["application/json;Q=0.1, application/problem+json"],
                Problem,
            ),
            (Problem, &["application/json"], Json),
            (Problem, &["*/*"], Problem),
            (Json, &["*/*"], Json),
            // q=0: not acceptable, whatever a wildcard says.
            (Json, &["application/problem+json;q=0"], Json),
            (Problem, &["application/problem+json;q=0, */*"], Json),
            // The most specific range decides a type's quality.
            (
                Json,
                &["application/problem+json;q=0.5, application/*;q=0.9"],
                Json,
            ),
            (
                Json,
                &["application/json;q=0.5, application/*;q=0.9"],
                Problem,
            ),
            (
                Json,
                &["application/*;q=0.9, */*;q=0.1, application/json;q=0.2"],
                Problem,
            ),
            // Every field line counts, not only the first.
            (Json, &["text/html", "application/problem+json"], Problem),
            (
                Json,
                &["application/json;q=0.1", "application/problem+json;q=0.2"],
                Problem,
            ),
            // Ties keep the default; nothing acceptable keeps it too.
            (
                Problem,
                &["application/json, application/problem+json"],
                Problem,
            ),
            (Json, &["application/*"], Json),
            (Problem, &["text/html"], Problem),
            (Json, &["text/html"], Json),
            // Invalid weights make a range invalid, not preferred.
            (Json, &["application/problem+json;q=2"], Json),
            (Json, &["application/problem+json;q=0.1234"], Json),
            (Json, &["application/problem+json;q=abc"], Json),
            // Browser-style lists.
            (
                Json,
                &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                Json,
            ),
            (
                Problem,
                &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                Problem,
            ),
        ];
        for (default, lines, expected) in table {
            assert_eq!(
                negotiate(*default, &accept(lines)),
                *expected,
                "default {default:?}, Accept {lines:?}"
            );
        }
    }

    #[test]
    fn qvalues_are_parsed_exactly() {
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality(""), None);
        assert_eq!(parse_quality("0.1234"), None);
    }
}
