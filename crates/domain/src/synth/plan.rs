//! The shape of a conversation: how many user turns (≈15% one, 60% two to
//! four, 25% five to eight, as in FASE 2) and which intent each turn carries.

use crate::intent::{Intent, Mode};
use okla_formats::rng::SplitMix64 as Rng;

/// The number of user turns of a conversation.
pub fn turn_count(rng: &mut Rng) -> usize {
    match rng.weighted(&[15, 60, 25]) {
        0 => 1,
        1 => rng.range(2, 4) as usize,
        _ => rng.range(5, 8) as usize,
    }
}

/// The intents of `turns` user turns in `mode`: an optional greeting first, an
/// optional farewell last (from three turns on), and in between intents drawn
/// from the mode's others, never the same twice in a row nor thrice in all.
/// The three DealerInventory-only intents weigh double there, so that over a
/// 50/50 mode mix every intent ends up about equally frequent.
pub fn intents(rng: &mut Rng, mode: Mode, turns: usize) -> Vec<Intent> {
    let body: Vec<Intent> = Intent::ALL
        .into_iter()
        .filter(|i| i.allowed_in(mode) && !matches!(i, Intent::Greeting | Intent::Farewell))
        .collect();
    let mut plan = Vec::with_capacity(turns);
    if turns > 1 && rng.percent(40) {
        plan.push(Intent::Greeting);
    }
    let farewell = turns >= 3 && rng.percent(35);
    let middle_end = if farewell { turns - 1 } else { turns };
    let weights: Vec<u32> = body
        .iter()
        .map(|i| {
            if i.allowed_in(Mode::SingleVehicle) {
                1
            } else {
                2
            }
        })
        .collect();
    while plan.len() < middle_end {
        let candidate = body[rng.weighted(&weights)];
        let repeats = plan.iter().filter(|&&i| i == candidate).count();
        if plan.last() != Some(&candidate) && repeats < 2 {
            plan.push(candidate);
        }
    }
    if farewell {
        plan.push(Intent::Farewell);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_mix_is_near_the_fase2_mix_and_plans_respect_modes() {
        let mut rng = Rng::new(11);
        let counts: Vec<usize> = (0..10_000).map(|_| turn_count(&mut rng)).collect();
        let share = |lo: usize, hi: usize| {
            counts.iter().filter(|&&n| (lo..=hi).contains(&n)).count() as f64 / 1e4
        };
        assert!((share(1, 1) - 0.15).abs() < 0.02);
        assert!((share(2, 4) - 0.60).abs() < 0.02);
        assert!((share(5, 8) - 0.25).abs() < 0.02);
        for n in 1..=8 {
            let plan = intents(&mut rng, Mode::SingleVehicle, n);
            assert_eq!(plan.len(), n);
            assert!(plan.iter().all(|i| i.allowed_in(Mode::SingleVehicle)));
            assert!(plan.windows(2).all(|w| w[0] != w[1]));
        }
    }
}
