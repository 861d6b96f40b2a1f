//! Decimal numbers written and read without core's float formatting and parsing: `{:.5}` of an
//! `f64` brings core's formatting and its tables into the dashboard's wasm (≈ 7–10 KB gzipped),
//! and `f64::from_str` a 10 KB table of powers of five (≈ 14 KB gzipped), so the event text and
//! the dashboard's SVG coordinates are written with [`fixed`], and events and REST answers read
//! with [`parse_decimal`].

/// `value` rounded to `decimals` places, as `format!("{value:.N}")` writes it but for ties
/// (rounded away from zero after scaling) and negative values that round to zero (no `-`);
/// out-of-range values saturate, NaN reads as 0.
pub fn fixed(value: f64, decimals: u32) -> String {
    let unit = 10u64.pow(decimals);
    let scaled = (value * unit as f64).round();
    // `as` saturates: huge values clamp, NaN becomes 0.
    let magnitude = scaled.abs() as u64;
    let mut out = String::new();
    if scaled < 0.0 && magnitude > 0 {
        out.push('-');
    }
    out.push_str(&(magnitude / unit).to_string());
    if decimals > 0 {
        let fraction = (magnitude % unit).to_string();
        out.push('.');
        for _ in fraction.len()..decimals as usize {
            out.push('0');
        }
        out.push_str(&fraction);
    }
    out
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A decimal number (`-12.5`, `4.8e-3`, `+7`, `.5`, `3.`) as the nearest `f64`, or `None` for
/// text that is not one (`inf` and `NaN` are not). Numbers of at most 19 significant digits
/// with a power of ten within ±22 (coordinates, speeds, counts) are converted exactly with
/// integer arithmetic and one multiplication or division (Clinger's fast path); the others go
/// to the browser's `parseFloat` in the wasm and to `str::parse` natively, both correctly
/// rounded.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let (mut mantissa, mut significant, mut exponent, mut digits) = (0u64, 0u32, 0i64, 0);
    let mut fraction = false;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if significant > 0 || byte != b'0' {
                    significant += 1;
                    if significant <= 19 {
                        mantissa = mantissa * 10 + u64::from(byte - b'0');
                    } else if !fraction {
                        // Past 19 digits: only the magnitude is kept (the slow path rounds).
                        exponent += 1;
                    }
                }
                if fraction && significant <= 19 {
                    exponent -= 1;
                }
            }
            b'.' if !fraction => fraction = true,
            _ => break,
        }
        at += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        let sign = match bytes.get(at) {
            Some(b'-') => {
                at += 1;
                -1
            }
            Some(b'+') => {
                at += 1;
                1
            }
            _ => 1,
        };
        let start = at;
        let mut written = 0i64;
        while let Some(&digit @ b'0'..=b'9') = bytes.get(at) {
            written = written
                .saturating_mul(10)
                .saturating_add(i64::from(digit - b'0'));
            at += 1;
        }
        if at == start {
            return None;
        }
        exponent = exponent.saturating_add(sign * written);
    }
    if at != bytes.len() {
        return None;
    }
    let magnitude = if mantissa == 0 {
        0.0
    } else if significant <= 19 && mantissa < 1 << 53 && (-22..=22).contains(&exponent) {
        let power = EXACT_POWERS_OF_TEN[exponent.unsigned_abs() as usize];
        match exponent < 0 {
            true => mantissa as f64 / power,
            false => mantissa as f64 * power,
        }
    } else {
        return slow_parse(text);
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The correctly rounded reading of a number off the fast path.
#[cfg(target_arch = "wasm32")]
fn slow_parse(text: &str) -> Option<f64> {
    Some(js_sys::parse_float(text)).filter(|value| !value.is_nan())
}

#[cfg(not(target_arch = "wasm32"))]
fn slow_parse(text: &str) -> Option<f64> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_as_the_standard_parser_does() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "+0",
            "1",
            "-1",
            "+7",
            "0.5",
            ".5",
            "3.",
            "48.85661",
            "-122.4194155",
            "2.35222",
            "4.8e-3",
            "1E5",
            "1e+5",
            "1e22",
            "1e23",
            "9007199254740993",
            "12345678901234567890123",
            "0.1",
            "0.3",
            "1e-300",
            "1e308",
            "1e309",
            "2e-400",
            "123456789012345678.9",
            "0.000000000000000000000000001",
            "00012.5000",
            // Exponents at and past i64's ends.
            "0.1e-9223372036854775807",
            "0.5e-9223372036854775808",
            "1e-9223372036854775809",
            "1e9223372036854775807",
            "1e99999999999999999999",
            "179769313486231570000000000000000000000000000000000000000000000000000000000000000",
        ]
        .map(str::to_owned)
        .to_vec();
        // Coordinates and speeds as the gateway and the API write them, across their ranges.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let value = (seed % 36_000_000_000) as f64 / 1e8 - 180.0;
            texts.push(fixed(value, (seed % 8) as u32));
            texts.push(format!("{value}"));
            texts.push(format!("{value:e}"));
        }
        for text in &texts {
            let standard: f64 = text.parse().unwrap();
            let ours = parse_decimal(text).unwrap_or_else(|| panic!("{text} refused"));
            assert_eq!(ours.to_bits(), standard.to_bits(), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_decimal_number() {
        for text in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1-2", "inf", "NaN", "infinity", " 1",
            "1 ", "1x", "0x10", "--1", "1e5.5",
        ] {
            assert_eq!(parse_decimal(text), None, "{text:?}");
        }
    }

    #[test]
    fn writes_like_the_standard_formatting() {
        for value in [
            0.0, 1.0, -1.0, 0.3, 12.345_678, -7.0041, 45.76012, 4.8351, 999.999, 1e6,
        ] {
            assert_eq!(fixed(value, 2), format!("{value:.2}"), "{value}");
            assert_eq!(fixed(value, 5), format!("{value:.5}"), "{value}");
            assert_eq!(fixed(value, 0), format!("{value:.0}"), "{value}");
        }
        assert_eq!(fixed(-0.0001, 1), "0.0");
        assert_eq!(fixed(2.5, 0), "3");
        assert_eq!(fixed(f64::NAN, 1), "0.0");
    }
}
