//! Rotary position embedding as ggml computes it, in its "normal" mode (adjacent pairs,
//! Llama) or NEOX mode (dimension `i` with `i + dims/2`, Gemma), with optional per-pair
//! frequency divisors (`rope_freqs.weight`, Llama 3.1 scaling) and a linear position
//! scale (`freq_scale`).

/// Precomputed rotation angles for one position.
#[derive(Debug, Clone)]
pub struct RopeAngles {
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// Which dimensions rotate together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeMode {
    /// Pairs `(2i, 2i + 1)` (ggml's default, Llama as llama.cpp stores it).
    Normal,
    /// Pairs `(i, i + dims/2)` (`GGML_ROPE_TYPE_NEOX`, HF's `rotate_half`; Gemma).
    Neox,
}

/// RoPE parameters of a model.
#[derive(Debug, Clone)]
pub struct Rope {
    mode: RopeMode,
    dims: usize,
    theta_scale: f32,
    freq_scale: f32,
    freq_factors: Option<Vec<f32>>,
}

impl Rope {
    /// RoPE over the first `dims` dimensions of each head with base `theta`, positions
    /// multiplied by `freq_scale` (1 / linear scaling factor); `freq_factors` (one per
    /// rotated pair) divide the angle like llama.cpp's `rope_freqs`.
    pub fn new(
        mode: RopeMode,
        dims: usize,
        theta: f32,
        freq_scale: f32,
        freq_factors: Option<Vec<f32>>,
    ) -> Self {
        Self {
            mode,
            dims,
            theta_scale: theta.powf(-2.0 / dims as f32),
            freq_scale,
            freq_factors,
        }
    }

    /// The angles at position `pos` (ggml multiplies theta step by step in f32, divides
    /// by the frequency factor, then multiplies by `freq_scale`).
    pub fn angles(&self, pos: usize) -> RopeAngles {
        let pairs = self.dims / 2;
        let mut cos = Vec::with_capacity(pairs);
        let mut sin = Vec::with_capacity(pairs);
        let mut theta = pos as f32;
        for i in 0..pairs {
            let factor = self.freq_factors.as_ref().map_or(1.0, |f| f[i]);
            let angle = self.freq_scale * (theta / factor);
            cos.push(angle.cos());
            sin.push(angle.sin());
            theta *= self.theta_scale;
        }
        RopeAngles { cos, sin }
    }

    /// Rotates every `head_dim`-wide head of `x` in place, with the FMAs GCC contracts
    /// ggml's rotation into (`x0·c − x1·s` as `fma(x0, c, −x1·s)`, `x0·s + x1·c` as
    /// `fma(x0, s, x1·c)`), so the rotated values are ggml's bit for bit.
    /// Pairs are adjacent in [`RopeMode::Normal`], `dims/2` apart in [`RopeMode::Neox`].
    pub fn apply(&self, angles: &RopeAngles, x: &mut [f32], head_dim: usize) {
        let half = self.dims / 2;
        let (step, offset) = match self.mode {
            RopeMode::Normal => (2, 1),
            RopeMode::Neox => (1, half),
        };
        for head in x.chunks_exact_mut(head_dim) {
            for (i, (c, s)) in angles.cos.iter().zip(&angles.sin).enumerate() {
                let (a, b) = (step * i, step * i + offset);
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0.mul_add(*c, -(x1 * s));
                head[b] = x0.mul_add(*s, x1 * c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_rotation_keeps_norm() {
        let rope = Rope::new(RopeMode::Normal, 4, 500000.0, 1.0, None);
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        rope.apply(&rope.angles(0), &mut x, 4);
        assert_eq!(x, vec![1.0, 2.0, 3.0, 4.0]);
        rope.apply(&rope.angles(7), &mut x, 4);
        let norm: f32 = x.iter().map(|v| v * v).sum();
        assert!((norm - 30.0).abs() < 1e-4);
        assert!((x[0] - (7f32.cos() - 2.0 * 7f32.sin())).abs() < 1e-5);
    }

    #[test]
    fn freq_factors_slow_the_rotation() {
        let plain = Rope::new(RopeMode::Normal, 4, 10000.0, 1.0, None).angles(3);
        let scaled = Rope::new(RopeMode::Normal, 4, 10000.0, 1.0, Some(vec![1.0, 8.0])).angles(3);
        assert_eq!(plain.cos[0], scaled.cos[0]);
        let slow = 3.0f32 * 10000f32.powf(-0.5) / 8.0;
        assert!((scaled.sin[1] - slow.sin()).abs() < 1e-6);
        let linear = Rope::new(RopeMode::Normal, 4, 10000.0, 0.125, None).angles(8);
        assert_eq!(
            linear.cos,
            Rope::new(RopeMode::Normal, 4, 10000.0, 1.0, None)
                .angles(1)
                .cos
        );
    }

    #[test]
    fn neox_rotates_halves_as_normal_rotates_pairs() {
        let (normal, neox) = (
            Rope::new(RopeMode::Normal, 4, 10000.0, 1.0, None),
            Rope::new(RopeMode::Neox, 4, 10000.0, 1.0, None),
        );
        let mut pairs = vec![1.0, 2.0, 3.0, 4.0];
        let mut halves = vec![1.0, 3.0, 2.0, 4.0];
        normal.apply(&normal.angles(5), &mut pairs, 4);
        neox.apply(&neox.angles(5), &mut halves, 4);
        assert_eq!(pairs, vec![halves[0], halves[2], halves[1], halves[3]]);
    }
}
