//! Dynamic loss scaling for fp16 training, with `torch.amp.GradScaler`'s defaults
//! and semantics: the loss is multiplied by the scale before backward; before
//! clipping the gradients are unscaled (multiplied by the f32 `1 / scale`) and
//! checked; a step with an inf or NaN gradient is skipped and halves the scale;
//! every 2000 consecutive good steps double it.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::optim::Param;

/// torch's `GradScaler(init_scale=2.**16)`.
pub const INIT_SCALE: f64 = 65_536.0;
/// torch's `growth_factor`.
pub const GROWTH_FACTOR: f64 = 2.0;
/// torch's `backoff_factor`.
pub const BACKOFF_FACTOR: f64 = 0.5;
/// torch's `growth_interval`.
pub const GROWTH_INTERVAL: u64 = 2000;

/// The scaler's state (saved in checkpoints so a resume continues exactly).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossScaler {
    /// The current scale (written as a decimal string: serde_json's number parser
    /// may miss the last bit, Rust's does not).
    #[serde(with = "exact_f64")]
    pub scale: f64,
    /// Consecutive steps without an inf/NaN gradient since the last change.
    pub growth_tracker: u64,
    /// Optimizer steps skipped so far (the learning-rate schedule does not advance
    /// on them, as HF's Trainer does not step its scheduler then).
    pub skipped_steps: u64,
}

impl Default for LossScaler {
    fn default() -> Self {
        Self {
            scale: INIT_SCALE,
            growth_tracker: 0,
            skipped_steps: 0,
        }
    }
}

impl LossScaler {
    /// Unscale the gradients of `params` in place; returns whether any is inf or NaN
    /// (checked before unscaling). The per-gradient checks are gathered on the
    /// device and read once (one host sync per step, not one per parameter).
    pub fn unscale(&self, params: &[Param]) -> bool {
        let inv = (1.0 / self.scale) as f32 as f64;
        let mut finite = Vec::with_capacity(params.len());
        for p in params {
            let mut g = p.tensor.grad();
            if !g.defined() {
                continue;
            }
            finite.push(g.isfinite().all());
            let _ = g.g_mul_scalar_(inv);
        }
        !finite.is_empty() && Tensor::stack(&finite, 0).all().int64_value(&[]) == 0
    }

    /// Record a step's outcome: back off and count a skip on inf/NaN, else grow
    /// after [`GROWTH_INTERVAL`] good steps in a row.
    pub fn update(&mut self, found_inf: bool) {
        if found_inf {
            self.scale *= BACKOFF_FACTOR;
            self.growth_tracker = 0;
            self.skipped_steps += 1;
        } else {
            self.growth_tracker += 1;
            if self.growth_tracker == GROWTH_INTERVAL {
                self.scale *= GROWTH_FACTOR;
                self.growth_tracker = 0;
            }
        }
    }
}

/// An f64 as its shortest round-trip decimal string.
mod exact_f64 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:?}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| D::Error::custom(format!("loss scale `{text}`: {e}")))
    }
}

/// Whether `kind` needs loss scaling (fp16's narrow exponent range).
pub fn needs_scaling(kind: Kind) -> bool {
    kind == Kind::Half
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn param_with_grad(grad: &[f32]) -> Param {
        let t =
            Tensor::zeros([grad.len() as i64], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        (&t * Tensor::from_slice(grad)).sum(Kind::Float).backward();
        Param {
            name: "p".into(),
            tensor: t,
            decay: false,
        }
    }

    #[test]
    fn an_overflow_skips_halves_and_resets_growth() {
        let mut s = LossScaler {
            growth_tracker: 7,
            ..LossScaler::default()
        };
        let params = [param_with_grad(&[1.0, f32::INFINITY])];
        assert!(s.unscale(&params));
        s.update(true);
        assert_eq!(
            s,
            LossScaler {
                scale: 32_768.0,
                growth_tracker: 0,
                skipped_steps: 1
            }
        );
    }

    #[test]
    fn good_steps_unscale_and_grow_every_interval() {
        let mut s = LossScaler::default();
        let params = [param_with_grad(&[65_536.0, -131_072.0])];
        assert!(!s.unscale(&params));
        let g = Vec::<f32>::try_from(params[0].tensor.grad()).unwrap();
        assert_eq!(g, vec![1.0, -2.0]);
        for _ in 0..GROWTH_INTERVAL - 1 {
            s.update(false);
        }
        assert_eq!(s.scale, INIT_SCALE);
        s.update(false);
        assert_eq!(s.scale, 2.0 * INIT_SCALE);
        assert_eq!(s.growth_tracker, 0);
        let nan = [param_with_grad(&[f32::NAN])];
        assert!(s.unscale(&nan));
    }

    #[test]
    fn the_state_round_trips_through_json_exactly() {
        let s = LossScaler {
            scale: 5e29,
            growth_tracker: 3,
            skipped_steps: 2,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"scale\":\"5e29\""), "{text}");
        assert_eq!(serde_json::from_str::<LossScaler>(&text).unwrap(), s);
        assert!(serde_json::from_str::<LossScaler>(
            r#"{"scale":"x","growth_tracker":0,"skipped_steps":0}"#
        )
        .is_err());
    }
}
