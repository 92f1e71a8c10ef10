//! Prices: how the bot writes them ("RD$2,850,000") and how Dominican users say
//! them ("2 millones", "como 800 mil", "dos palos y medio").

use okla_formats::rng::SplitMix64 as Rng;
use okla_harness::score::group_thousands;

/// `n` with thousands separators: 2850000 → "2,850,000".
pub fn thousands(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// The bot's price format: "RD$2,850,000".
pub fn rd(n: u64) -> String {
    format!("RD${}", thousands(n))
}

/// A user's budget near `n`: rounded to 100,000 (50,000 under a million), never 0.
pub fn round_budget(n: u64) -> u64 {
    let step = if n < 1_000_000 { 50_000 } else { 100_000 };
    (n / step).max(1) * step
}

/// One way a user might say the amount `n` (already rounded by [`round_budget`]).
pub fn spoken(rng: &mut Rng, n: u64) -> String {
    let millions = n / 1_000_000;
    let rest = n % 1_000_000;
    let mut forms = vec![rd(n), format!("{} pesos", thousands(n))];
    if millions == 0 {
        forms.push(format!("como {} mil", n / 1_000));
        forms.push(format!("{} mil pesos", n / 1_000));
        forms.push(format!("unos {} mil", n / 1_000));
    } else if rest == 0 {
        let unit = if millions == 1 { "millón" } else { "millones" };
        let palos = if millions == 1 {
            "un palo".to_string()
        } else {
            format!("{millions} palos")
        };
        forms.push(format!("{millions} {unit}"));
        forms.push(format!("como {millions} {unit}"));
        forms.push(palos);
    } else if rest == 500_000 {
        let unit = if millions == 1 { "millón" } else { "millones" };
        forms.push(format!("{millions} {unit} y medio"));
        forms.push(format!("{millions}.5 millones"));
    } else if rest.is_multiple_of(100_000) {
        forms.push(format!("{millions}.{} millones", rest / 100_000));
        forms.push(format!("como {millions}.{} millones", rest / 100_000));
    }
    rng.pick(&forms).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_prices_like_the_bot_and_users() {
        assert_eq!(rd(2_850_000), "RD$2,850,000");
        assert_eq!(rd(800_000), "RD$800,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(round_budget(2_870_000), 2_800_000);
        assert_eq!(round_budget(830_000), 800_000);
        let mut rng = Rng::new(3);
        let seen: Vec<String> = (0..60).map(|_| spoken(&mut rng, 2_000_000)).collect();
        assert!(seen.iter().any(|s| s == "2 millones"));
        assert!(seen.iter().any(|s| s == "2 palos"));
        let small: Vec<String> = (0..60).map(|_| spoken(&mut rng, 800_000)).collect();
        assert!(small.iter().any(|s| s == "como 800 mil"));
    }
}
