//! Numbers as header values and label text, from one static table of digits: `Content-Length`,
//! `Retry-After` and a status's three digits cost no allocation below 10 000.

use http::HeaderValue;

/// Numbers below this come from a static table: a header value for them allocates nothing.
const TABLED: usize = 10_000;

static DIGITS: [[u8; 4]; TABLED] = {
    let mut table = [[b'0'; 4]; TABLED];
    let mut n = 0;
    while n < TABLED {
        let (mut rest, mut i) = (n, 4);
        while i > 0 {
            i -= 1;
            table[n][i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        n += 1;
    }
    table
};

/// A status code's three digits, from the same table: a `&'static str`, no allocation.
#[cfg(feature = "metrics")]
pub(crate) fn status_digits(status: http::StatusCode) -> &'static str {
    let digits: &'static [u8; 4] = &DIGITS[usize::from(status.as_u16())];
    std::str::from_utf8(&digits[1..]).expect("ASCII digits")
}

/// `n` as a header value (`Content-Length`, `Retry-After`), without allocating below
/// 10 000: `HeaderValue::from(n)` allocates twice.
pub(crate) fn number_value(n: u64) -> HeaderValue {
    if n >= TABLED as u64 {
        return HeaderValue::from(n);
    }
    let digits: &'static [u8; 4] = &DIGITS[n as usize];
    let skip = match n {
        0..=9 => 3,
        10..=99 => 2,
        100..=999 => 1,
        _ => 0,
    };
    HeaderValue::from_static(std::str::from_utf8(&digits[skip..]).expect("ASCII digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_values_match_their_decimal_text() {
        for n in [0, 7, 10, 99, 100, 999, 1000, 9999, 10_000, 86_400, u64::MAX] {
            assert_eq!(number_value(n), n.to_string().as_str());
        }
    }
}
