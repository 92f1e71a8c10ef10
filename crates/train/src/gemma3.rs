//! What Gemma 3 (Hugging Face `Gemma3ForCausalLM`) computes differently from Llama,
//! for the decoder in [`super::model`], each op as transformers 5 runs it:
//!
//! - `Gemma3RMSNorm`: normalised and multiplied by `1 + weight` in f32, then cast
//!   (Llama casts first and multiplies by `weight`); also applied per head to the
//!   queries and keys (`q_norm`, `k_norm`), and to the attention and MLP outputs
//!   before their residual adds (`post_attention_layernorm`,
//!   `post_feedforward_layernorm`), the MLP's input norm being
//!   `pre_feedforward_layernorm`;
//! - the embeddings are multiplied by `sqrt(hidden_size)`, the factor cast to the
//!   embedding's dtype first ([`embed_scale`]);
//! - sliding-window layers attend to the last `sliding_window` positions only
//!   ([`sliding_window_mask`]) and rotate with their own RoPE base;
//! - the MLP's gate is `gelu` with the tanh approximation (`gelu_pytorch_tanh`).
//!
//! The config side (which layers slide, the RoPE of each, the query scale) is
//! [`okla_formats::hf::config::HfConfig`]'s.

use tch::{Device, Kind, Tensor};

/// `Gemma3RMSNorm`: `x · rsqrt(mean(x²) + eps) · (1 + weight)` in f32, cast back to
/// `x`'s dtype.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Tensor {
    let kind = x.kind();
    let xf = x.to_kind(Kind::Float);
    let var = xf.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
    let normed = &xf * (var + eps).rsqrt();
    (normed * (weight.to_kind(Kind::Float) + 1.0)).to_kind(kind)
}

/// `Gemma3TextScaledWordEmbedding`'s factor: `sqrt(hidden)` as an f32 buffer, cast
/// to `kind` (the embedding's dtype; bf16 rounds 25.30 to 25.25 at width 640), as a
/// 0-dim tensor on `device` so that the product rounds as transformers' does.
pub fn embed_scale(hidden: i64, kind: Kind, device: Device) -> Tensor {
    Tensor::from((hidden as f64).sqrt())
        .to_kind(Kind::Float)
        .to_kind(kind)
        .to_device(device)
}

/// The `gelu_pytorch_tanh` gate activation.
pub fn gelu_tanh(x: &Tensor) -> Tensor {
    x.gelu("tanh")
}

/// transformers' sliding-window causal mask for `b` sequences of `t` positions
/// (`true`: attended; query `i` sees keys `j` with `i - window < j <= i`), shaped
/// `[b, 1, t, t]`; `None` when `t < window`, where the window hides nothing and
/// transformers leaves the mask out for SDPA's `is_causal`
/// (`masking_utils._ignore_causal_mask_sdpa`), as for a global layer.
pub fn sliding_window_mask(b: i64, t: i64, window: i64, device: Device) -> Option<Tensor> {
    if t < window {
        return None;
    }
    let q = Tensor::arange(t, (Kind::Int64, device)).unsqueeze(1);
    let kv = Tensor::arange(t, (Kind::Int64, device)).unsqueeze(0);
    let mask = kv.le_tensor(&q).logical_and(&kv.gt_tensor(&(q - window)));
    Some(mask.view([1, 1, t, t]).expand([b, 1, t, t], false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_hides_what_is_window_positions_back_or_more() {
        assert!(sliding_window_mask(1, 3, 4, Device::Cpu).is_none());
        let m = sliding_window_mask(2, 5, 2, Device::Cpu).unwrap();
        assert_eq!(m.size(), [2, 1, 5, 5]);
        let rows: Vec<Vec<bool>> = (0..5)
            .map(|i| (0..5).map(|j| m.int64_value(&[1, 0, i, j]) == 1).collect())
            .collect();
        for (i, row) in rows.iter().enumerate() {
            for (j, &seen) in row.iter().enumerate() {
                assert_eq!(seen, j <= i && i - j < 2, "query {i} key {j}");
            }
        }
    }

    #[test]
    fn the_norm_scales_by_one_plus_the_weight_in_f32() {
        let x = Tensor::from_slice(&[3.0f32, 4.0]).view([1, 2]);
        let w = Tensor::from_slice(&[0.0f32, 1.0]);
        // rms = sqrt(12.5); the second value is doubled
        let y = rms_norm(&x, &w, 0.0);
        let r = 12.5f64.sqrt();
        assert!((y.double_value(&[0, 0]) - 3.0 / r).abs() < 1e-6);
        assert!((y.double_value(&[0, 1]) - 8.0 / r).abs() < 1e-6);
        let half = rms_norm(&x.to_kind(Kind::BFloat16), &w, 0.0);
        assert_eq!(half.kind(), Kind::BFloat16);
        assert_eq!(
            embed_scale(640, Kind::BFloat16, Device::Cpu).double_value(&[]),
            25.25
        );
    }
}
