//! The binomial distribution's tails, exactly (in log space, so a window of
//! sixty thousand requests is as easy as one of sixty): the chance that
//! `n` requests, each failing with probability `p`, hold more than `k`
//! failures.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine terms: about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |sum, (i, c)| sum + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// `ln P(X = k)` for `X ~ Binomial(n, p)`, `0 < p < 1`.
fn ln_pmf(n: u64, p: f64, k: u64) -> f64 {
    let (n, k) = (n as f64, k as f64);
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
        + k * p.ln()
        + (n - k) * (1.0 - p).ln()
}

/// The sum of `P(X = k)` for `k` in `range`, walked away from the mode so
/// the terms only shrink, and stopped once they no longer count.
fn sum_pmf(n: u64, p: f64, range: impl Iterator<Item = u64>) -> f64 {
    let mut sum = 0.0;
    for k in range {
        let term = ln_pmf(n, p, k).exp();
        sum += term;
        // The first term is the largest: once one underflows or stops
        // counting, so do all after it.
        if term == 0.0 || term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// `P(X > k)` for `X ~ Binomial(n, p)`: the chance that more than `k` of
/// `n` requests fail when each fails with probability `p`.
pub fn more_than(n: u64, p: f64, k: u64) -> f64 {
    if k >= n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let mean = n as f64 * p;
    if (k + 1) as f64 >= mean {
        // The upper tail, from k + 1 upwards (terms fall from there on).
        sum_pmf(n, p, k + 1..=n).min(1.0)
    } else {
        // The lower side is the small one: 1 − P(X ≤ k), from k downwards.
        (1.0 - sum_pmf(n, p, (0..=k).rev())).clamp(0.0, 1.0)
    }
}

/// `P(X ≥ k)`.
pub fn at_least(n: u64, p: f64, k: u64) -> f64 {
    match k {
        0 => 1.0,
        k => more_than(n, p, k - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, relative: f64) -> bool {
        (a - b).abs() <= relative * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_knows_its_factorials() {
        for (n, factorial) in [(1u64, 1.0f64), (5, 120.0), (10, 3_628_800.0)] {
            assert!(
                close(ln_gamma(n as f64 + 1.0), factorial.ln(), 1e-12),
                "{n}!"
            );
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn small_tails_match_the_sums_written_out() {
        // n = 10, p = 0.3: P(X > 5) = 0.047349… (1 − the CDF at 5).
        let by_hand: f64 = (6..=10u64)
            .map(|k| {
                let choose = (0..k).fold(1.0, |c, i| c * (10 - i) as f64 / (i + 1) as f64);
                choose * 0.3f64.powi(k as i32) * 0.7f64.powi(10 - k as i32)
            })
            .sum();
        assert!(close(more_than(10, 0.3, 5), by_hand, 1e-10));
        assert!(close(more_than(10, 0.3, 5), 0.047_348_987_8, 1e-8));
        // The lower side: P(X > 1) = 1 − 0.7^10 − 10·0.3·0.7^9.
        let expected = 1.0 - 0.7f64.powi(10) - 3.0 * 0.7f64.powi(9);
        assert!(close(more_than(10, 0.3, 1), expected, 1e-12));
        assert_eq!(more_than(10, 0.3, 10), 0.0);
        assert_eq!(at_least(10, 0.3, 0), 1.0);
        assert!(close(at_least(10, 0.3, 6), by_hand, 1e-10));
    }

    #[test]
    fn the_issues_windows_compressed_and_not() {
        // 2% errors under a 5% threshold. A full production window (5m at
        // 20/s: 6000 requests) essentially never crosses; the compressed
        // window at the written rate (30s at 20/s: 600) seldom; one a few
        // seconds into the run (40 requests) often.
        let cross = |n: u64| more_than(n, 0.02, (0.05 * n as f64).floor() as u64);
        assert!(cross(6000) < 1e-30, "{}", cross(6000));
        let six_hundred = cross(600);
        assert!(six_hundred > 1e-7 && six_hundred < 1e-4, "{six_hundred}");
        let forty = cross(40);
        assert!(forty > 0.03 && forty < 0.06, "{forty}");
    }

    #[test]
    fn degenerate_probabilities() {
        assert_eq!(more_than(100, 0.0, 0), 0.0);
        assert_eq!(more_than(100, 1.0, 99), 1.0);
        assert_eq!(more_than(0, 0.5, 0), 0.0);
    }
}
