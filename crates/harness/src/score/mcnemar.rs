//! The exact McNemar test: did a verdict on the same cases change between two runs by
//! more than chance would?
//!
//! Only the discordant cases carry evidence: `b` passed in the first run and fail in the
//! second, `c` the reverse. Under "no change" each of the `b + c` flips is equally likely
//! either way, so `min(b, c)` is a Bin(b + c, ½) draw and the two-sided p-value is
//! `min(1, 2·P(X ≤ min(b, c)))` (1 when nothing flipped).

/// The two-sided exact McNemar p-value of `b` flips one way and `c` the other.
///
/// `P(X = min(b, c))` is multiplied out with its powers of two kept apart, and the rest
/// of the tail summed as ratios to it, so the value keeps a relative error near 1e-13
/// for any count (where `2^-(b+c)` alone would underflow past b + c = 1074).
pub fn mcnemar_p_value(b: u64, c: u64) -> f64 {
    let n = b + c;
    let k = b.min(c);
    if 2 * k >= n {
        // Nothing flipped, or as many each way: P(X ≤ k) ≥ ½, so p is 1.
        return 1.0;
    }
    // P(X = k) = mantissa · 2^exponent, C(n, k) = Π_{j=1..k} (n − k + j) / j.
    let mut mantissa = 1.0_f64;
    let mut exponent = -(n as i64);
    for j in 1..=k {
        mantissa *= (n - k + j) as f64 / j as f64;
        if mantissa > TWO_TO_500 {
            mantissa /= TWO_TO_500;
            exponent += 500;
        }
    }
    // P(X ≤ k) / P(X = k): the terms shrink going down, P(X = i − 1) / P(X = i) =
    // i / (n − i + 1).
    let mut ratio = 1.0_f64;
    let mut tail = 1.0_f64;
    for i in (1..=k).rev() {
        ratio *= i as f64 / (n - i + 1) as f64;
        tail += ratio;
        if ratio < tail * f64::EPSILON {
            break;
        }
    }
    times_power_of_two(2.0 * mantissa * tail, exponent).min(1.0)
}

/// 2^500, the most the mantissa grows before a power of two moves into the exponent.
const TWO_TO_500: f64 = 3.273_390_607_896_142e150;

/// `x · 2^exponent` for `exponent ≤ 0`, in steps that never underflow early.
fn times_power_of_two(mut x: f64, mut exponent: i64) -> f64 {
    while exponent < -1000 && x > 0.0 {
        x *= 2f64.powi(-1000);
        exponent += 1000;
    }
    x * 2f64.powi(exponent as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= 1e-12 * want.max(f64::MIN_POSITIVE)
    }

    #[test]
    fn hand_computed_values() {
        // b = 1, c = 9: n = 10, P(X ≤ 1) = (C(10,0) + C(10,1)) / 2^10 = 11/1024,
        // p = 2 · 11/1024 = 0.021484375.
        assert!(close(mcnemar_p_value(1, 9), 0.021484375));
        // b = 7, c = 0: p = 2 · 1/2^7 = 0.015625; b = 2, c = 0: 2 · 1/4 = 0.5.
        assert!(close(mcnemar_p_value(7, 0), 0.015625));
        assert!(close(mcnemar_p_value(2, 0), 0.5));
        // Nothing flipped, or as many each way: no evidence of a change.
        assert_eq!(mcnemar_p_value(0, 0), 1.0);
        assert_eq!(mcnemar_p_value(5, 5), 1.0);
        assert_eq!(mcnemar_p_value(1, 0), 1.0);
        // b = 4, c = 5: 2 · P(X ≤ 4) over Bin(9, ½) = 2 · 256/512 = 1.
        assert_eq!(mcnemar_p_value(4, 5), 1.0);
    }

    #[test]
    fn two_to_500_is_exact() {
        assert_eq!(TWO_TO_500, 2f64.powi(500));
    }

    #[test]
    fn large_counts_match_exact_rationals() {
        // Python: from math import comb; from fractions import Fraction
        // p = lambda b, c: min(1, 2 * Fraction(sum(comb(b + c, i)
        //         for i in range(min(b, c) + 1)), 2 ** (b + c)))
        // float(p(40, 60)) = 0.05688793364098079
        // float(p(1000, 1100)) = 0.030720707864242296
        // float(p(0, 20)) = 1.9073486328125e-06 (= 2 / 2^20)
        // float(p(1400, 1600)) = 0.0002785639610392337
        assert!(close(mcnemar_p_value(40, 60), 0.05688793364098079));
        assert!(close(mcnemar_p_value(1000, 1100), 0.030720707864242296));
        assert!(close(mcnemar_p_value(0, 20), 1.9073486328125e-06));
        // 2 · 2^-3000 is below the smallest f64: 0.
        assert_eq!(mcnemar_p_value(0, 3000), 0.0);
        assert!(close(mcnemar_p_value(1400, 1600), 0.0002785639610392337));
    }

    proptest! {
        #[test]
        fn symmetric_and_a_probability(b in 0u64..3000, c in 0u64..3000) {
            let p = mcnemar_p_value(b, c);
            prop_assert!((0.0..=1.0).contains(&p), "{}", p);
            prop_assert_eq!(p, mcnemar_p_value(c, b));
        }

        #[test]
        fn more_lopsided_flips_are_less_likely(b in 0u64..500, c in 0u64..500) {
            // One more flip on the side that already has more never raises p.
            let (low, high) = (b.min(c), b.max(c));
            prop_assert!(mcnemar_p_value(low, high + 1) <= mcnemar_p_value(low, high) + 1e-12);
        }
    }
}
