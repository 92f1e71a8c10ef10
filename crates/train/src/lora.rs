//! Linear layers of the trainer: a frozen base weight (NF4 or 16-bit) or a trainable
//! dense one, plus an optional LoRA adapter computed as peft computes it.
//!
//! peft's LoRA forward: `y = base(x); y = y + B(A(dropout(x_f32))) * (alpha / r)` with
//! the adapter path in the adapters' dtype (f32) and the sum cast back to the
//! compute dtype. Initialisation as peft's default: A kaiming-uniform with
//! `a = sqrt(5)` (i.e. uniform in `±1/sqrt(in_features)`), B zeros.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::nf4::Nf4Tensor;

/// The seven projection names LoRA can target in a Llama decoder layer.
pub const LLAMA_TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// LoRA hyper-parameters (peft's `LoraConfig` subset we support).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraSettings {
    /// Rank r of the update `B @ A`.
    pub r: i64,
    /// Scale numerator: the update is multiplied by `alpha / r`.
    pub alpha: f64,
    /// Dropout probability on the adapter's input.
    pub dropout: f64,
    /// Projection names that get an adapter (subset of [`LLAMA_TARGETS`]).
    pub targets: Vec<String>,
}

impl Default for LoraSettings {
    fn default() -> Self {
        Self {
            r: 16,
            alpha: 32.0,
            dropout: 0.05,
            targets: LLAMA_TARGETS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl LoraSettings {
    /// The factor applied to the adapter's output.
    pub fn scaling(&self) -> f64 {
        self.alpha / self.r as f64
    }
}

/// The weight a linear layer multiplies by.
#[derive(Debug)]
pub enum BaseWeight {
    /// Frozen, stored as NF4 with double quantization (QLoRA).
    Nf4(Nf4Tensor),
    /// A dense `[out, in]` tensor: frozen (LoRA) or trainable (full fine-tuning).
    Dense(Tensor),
}

impl BaseWeight {
    /// The weight in the compute dtype `kind` (dequantized or cast as needed).
    pub fn materialize(&self, kind: Kind) -> Tensor {
        match self {
            BaseWeight::Nf4(w) => w.dequantize(kind),
            BaseWeight::Dense(w) => w.to_kind(kind),
        }
    }

    /// `[out, in]`.
    pub fn shape(&self) -> Vec<i64> {
        match self {
            BaseWeight::Nf4(w) => w.shape().to_vec(),
            BaseWeight::Dense(w) => w.size(),
        }
    }
}

/// A LoRA adapter pair, f32 and trainable.
#[derive(Debug)]
pub struct LoraPair {
    /// `[r, in]`.
    pub a: Tensor,
    /// `[out, r]`.
    pub b: Tensor,
    scaling: f64,
    dropout: f64,
}

impl LoraPair {
    /// A fresh adapter initialised as peft does (uses the global torch RNG).
    pub fn init(
        in_features: i64,
        out_features: i64,
        settings: &LoraSettings,
        device: Device,
    ) -> Self {
        let bound = 1.0 / (in_features as f64).sqrt();
        let a = Tensor::empty([settings.r, in_features], (Kind::Float, device))
            .uniform_(-bound, bound)
            .set_requires_grad(true);
        let b = Tensor::zeros([out_features, settings.r], (Kind::Float, device))
            .set_requires_grad(true);
        Self::from_tensors(a, b, settings)
    }

    /// An adapter from existing tensors (loaded from a file), made trainable f32.
    pub fn from_tensors(a: Tensor, b: Tensor, settings: &LoraSettings) -> Self {
        let prep = |t: Tensor| t.to_kind(Kind::Float).detach().set_requires_grad(true);
        Self {
            a: prep(a),
            b: prep(b),
            scaling: settings.scaling(),
            dropout: settings.dropout,
        }
    }
}

/// A bias-free linear layer with an optional LoRA adapter.
#[derive(Debug)]
pub struct Linear {
    /// The base weight.
    pub base: BaseWeight,
    /// The adapter, when this projection is targeted.
    pub lora: Option<LoraPair>,
}

impl Linear {
    /// `x @ W^T` (+ the adapter's update), in `x`'s dtype; `train` turns adapter
    /// dropout on.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_with(x, &self.base.materialize(x.kind()), train)
    }

    /// [`Linear::forward`] with the base weight already materialized in `x`'s dtype
    /// (`weight`), so that pieces of one input share one dequantized copy.
    pub fn forward_with(&self, x: &Tensor, weight: &Tensor, train: bool) -> Tensor {
        let kind = x.kind();
        let y = x.matmul(&weight.tr());
        match &self.lora {
            None => y,
            Some(l) => {
                let xf = x.to_kind(Kind::Float);
                let xf = if train && l.dropout > 0.0 {
                    xf.dropout(l.dropout, true)
                } else {
                    xf
                };
                // as peft under torch.autocast (HF Trainer's bf16/fp16): the input
                // and dropout in f32, the adapter matmuls and the sum in `kind`
                let update = xf
                    .to_kind(kind)
                    .matmul(&l.a.to_kind(kind).tr())
                    .matmul(&l.b.to_kind(kind).tr())
                    * l.scaling;
                y + update
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(r: i64, alpha: f64) -> LoraSettings {
        LoraSettings {
            r,
            alpha,
            dropout: 0.0,
            targets: vec!["q_proj".into()],
        }
    }

    #[test]
    fn fresh_adapter_is_a_no_op_and_a_is_bounded() {
        tch::manual_seed(1);
        let w = Tensor::randn([6, 32], (Kind::Float, Device::Cpu));
        let lin = Linear {
            base: BaseWeight::Dense(w.shallow_clone()),
            lora: Some(LoraPair::init(32, 6, &settings(4, 8.0), Device::Cpu)),
        };
        let x = Tensor::randn([3, 32], (Kind::Float, Device::Cpu));
        let y = lin.forward(&x, true);
        assert!(y.allclose(&x.matmul(&w.tr()), 0.0, 0.0, false));
        let a = lin.lora.as_ref().unwrap().a.abs().max().double_value(&[]);
        assert!(
            a <= 1.0 / 32f64.sqrt() && a > 0.5 / 32f64.sqrt(),
            "A range {a}"
        );
    }

    #[test]
    fn update_is_scaled_b_times_a_and_gradients_match_closed_form() {
        tch::manual_seed(2);
        let (din, dout, r) = (8, 5, 2);
        let w = Tensor::randn([dout, din], (Kind::Float, Device::Cpu));
        let a = Tensor::randn([r, din], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([dout, r], (Kind::Float, Device::Cpu));
        let s = settings(r, 6.0);
        let lin = Linear {
            base: BaseWeight::Dense(w.shallow_clone()),
            lora: Some(LoraPair::from_tensors(
                a.shallow_clone(),
                b.shallow_clone(),
                &s,
            )),
        };
        let x = Tensor::randn([4, din], (Kind::Float, Device::Cpu));
        let y = lin.forward(&x, false);
        let merged = &w + b.matmul(&a) * 3.0;
        assert!(y.allclose(&x.matmul(&merged.tr()), 1e-5, 1e-5, false));
        // d(sum(y * g))/dA = scaling * B^T g^T x ; d/dB = scaling * g^T x A^T
        let g = Tensor::randn([4, dout], (Kind::Float, Device::Cpu));
        (&y * &g).sum(Kind::Float).backward();
        let l = lin.lora.as_ref().unwrap();
        let ga = b.tr().matmul(&g.tr()).matmul(&x) * 3.0;
        let gb = g.tr().matmul(&x).matmul(&a.tr()) * 3.0;
        assert!(l.a.grad().allclose(&ga, 1e-4, 1e-5, false));
        assert!(l.b.grad().allclose(&gb, 1e-4, 1e-5, false));
    }
}
