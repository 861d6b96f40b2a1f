//! Decimal numbers written with integer arithmetic: `{:.5}` of an `f64` brings core's float
//! formatting and its tables into the dashboard's wasm (≈ 7–10 KB gzipped), so the event text
//! and the dashboard's SVG coordinates are written with [`fixed`].

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

#[cfg(test)]
mod tests {
    use super::*;

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
