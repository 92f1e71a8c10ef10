//! Choosing the next token: greedy (deterministic) or llama.cpp-style sampling with
//! repetition penalty, temperature and nucleus (top-p), driven by a seeded RNG.

use okla_formats::rng::SplitMix64;
use okla_text::Decoding;

/// How many recent tokens the repetition penalty looks at (llama.cpp's `repeat_last_n`).
pub const REPEAT_LAST_N: usize = 64;

/// Sampling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// 0 (or less) means greedy: always the most likely token.
    pub temperature: f32,
    /// Nucleus mass kept before sampling (1 keeps everything).
    pub top_p: f32,
    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 is off.
    pub repetition_penalty: f32,
    /// RNG seed for sampled decoding.
    pub seed: u64,
}

impl SamplingParams {
    /// Greedy decoding: always the most likely token.
    pub const GREEDY: Self = Self {
        temperature: 0.0,
        top_p: 1.0,
        repetition_penalty: 1.0,
        seed: 0,
    };
}

impl From<&Decoding> for SamplingParams {
    fn from(d: &Decoding) -> Self {
        Self {
            temperature: d.temperature,
            top_p: d.top_p,
            repetition_penalty: d.repetition_penalty,
            seed: d.seed,
        }
    }
}

/// Picks tokens from logits.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: SplitMix64,
}

impl Sampler {
    /// A sampler whose random stream depends only on `params.seed` and `stream` (e.g. a
    /// hash of the case id), so results do not depend on the order prompts run in.
    pub fn new(params: SamplingParams, stream: u64) -> Self {
        let mut mix = SplitMix64::new(params.seed ^ stream.rotate_left(32));
        let state = mix.next_u64();
        Self {
            params,
            rng: SplitMix64::new(state),
        }
    }

    /// Chooses the next token; `history` is the sequence so far (prompt and generated).
    /// `logits` is modified (penalties, temperature).
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        self.apply_repetition_penalty(logits, history);
        if self.params.temperature <= 0.0 {
            return argmax(logits);
        }
        let inv_t = 1.0 / self.params.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(u32, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, (((l - max) * inv_t) as f64).exp()))
            .collect();
        probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let total: f64 = probs.iter().map(|p| p.1).sum();
        let mut kept = 0;
        let mut mass = 0.0;
        for (_, p) in &probs {
            mass += p / total;
            kept += 1;
            if mass >= self.params.top_p as f64 {
                break;
            }
        }
        let nucleus = &probs[..kept];
        let nucleus_mass: f64 = nucleus.iter().map(|p| p.1).sum();
        let mut r = self.rng.next_f64() * nucleus_mass;
        for (id, p) in nucleus {
            if r < *p {
                return *id;
            }
            r -= p;
        }
        nucleus[kept - 1].0
    }

    fn apply_repetition_penalty(&self, logits: &mut [f32], history: &[u32]) {
        let penalty = self.params.repetition_penalty;
        if penalty == 1.0 || penalty <= 0.0 {
            return;
        }
        let recent = &history[history.len().saturating_sub(REPEAT_LAST_N)..];
        let mut seen: Vec<u32> = recent.to_vec();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            if let Some(l) = logits.get_mut(t as usize) {
                *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
            }
        }
    }
}

/// Index of the largest logit (the first one on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32, top_p: f32, repetition_penalty: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            top_p,
            repetition_penalty,
            seed: 7,
        }
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(params(0.0, 1.0, 1.0), 0);
        assert_eq!(s.sample(&mut [0.1, 3.0, 3.0, -1.0], &[]), 1);
    }

    #[test]
    fn repetition_penalty_can_change_the_greedy_choice() {
        let mut s = Sampler::new(params(0.0, 1.0, 2.0), 0);
        assert_eq!(s.sample(&mut [2.0, 1.5, -1.0], &[0]), 1);
        let mut logits = [2.0, 1.5, -1.0];
        s.sample(&mut logits, &[2]);
        assert_eq!(logits[2], -2.0);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Token 0 holds ~88% of the mass at temperature 1; top_p 0.5 keeps only it.
        let mut s = Sampler::new(params(1.0, 0.5, 1.0), 3);
        for _ in 0..50 {
            assert_eq!(s.sample(&mut [4.0, 2.0, 0.0, 0.0], &[]), 0);
        }
    }

    #[test]
    fn sampling_is_seeded_and_varies_across_streams() {
        let run = |stream| {
            let mut s = Sampler::new(params(1.0, 1.0, 1.0), stream);
            (0..32)
                .map(|_| s.sample(&mut [0.0; 8], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert!(run(1).iter().any(|&t| t != run(1)[0]));
    }
}
