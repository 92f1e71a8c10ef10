//! A LoRA adapter applied at run time, the way llama.cpp applies `--lora FILE`: the
//! base weights stay as they are (quantized, in place), and each adapted projection
//! adds `scale · B·(A·x)`, computed in f32 from the f32 activations, to its output.
//!
//! The adapter is a GGUF LoRA file as llama.cpp's `convert_lora_to_gguf.py` and
//! `okla-eval export --as-lora` write it: `general.type = "adapter"`, `adapter.type =
//! "lora"`, `adapter.lora.alpha`, the base's `general.architecture`, and per adapted
//! weight `W` two tensors, `W.lora_a` (`ne = [cols, r]`) and `W.lora_b` (`ne = [r,
//! rows]`), in F32, F16 or BF16. The scale is `alpha / r` (1 when alpha is 0), as in
//! llama.cpp.
//!
//! Why at run time: a base that is already Q4_K_M sits exactly on Q4_K's grid, and a
//! LoRA update is much smaller than one quantization step, so merging and
//! re-quantizing rounds most of the fine-tune away (scripts/recipes/gemma3-okla).

use std::path::Path;

use anyhow::{ensure, Context, Result};
use rayon::prelude::*;

use okla_formats::error::InputError;
use okla_formats::gguf::{GgufFile, Metadata, TensorInfo};
use okla_formats::quant::tensor::dequantize_tensor_into;
use okla_formats::quant::QuantType;

use super::weights::{ModelWeights, TensorRef};

/// The block projections an adapter may change, by GGUF name (`blk.N.<name>.weight`).
const PROJECTIONS: [&str; 7] = [
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
];

/// One adapted projection: `rows × cols` base weight plus `scale · B·A`.
#[derive(Debug, Clone)]
pub struct LoraPair {
    rank: usize,
    cols: usize,
    rows: usize,
    /// `A`, row-major `[rank, cols]`.
    a: Vec<f32>,
    /// `B`, row-major `[rows, rank]`.
    b: Vec<f32>,
    scale: f32,
}

impl LoraPair {
    /// Adds `scale · B·(A·x)` for every row of `x` (`cols` wide) to the matching row of
    /// `out` (`rows` wide), in the order llama.cpp's graph does it: `A·x`, then `B·`,
    /// then `× scale`, then the sum.
    pub fn add_to(&self, x: &[f32], out: &mut [f32]) {
        debug_assert_eq!(x.len() / self.cols, out.len() / self.rows);
        x.par_chunks_exact(self.cols)
            .zip(out.par_chunks_exact_mut(self.rows))
            .for_each(|(x_row, out_row)| {
                let down: Vec<f32> = self
                    .a
                    .chunks_exact(self.cols)
                    .map(|a_row| dot(a_row, x_row))
                    .collect();
                for (o, b_row) in out_row.iter_mut().zip(self.b.chunks_exact(self.rank)) {
                    *o += dot(b_row, &down) * self.scale;
                }
            });
    }

    /// The rank `r`.
    pub fn rank(&self) -> usize {
        self.rank
    }
}

/// An f32 dot product over 8 running sums.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] = x[i].mul_add(y[i], lanes[i]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The adapted projections of one block (None: unchanged).
#[derive(Debug, Clone, Default)]
pub struct LayerLora {
    /// Query projection.
    pub wq: Option<LoraPair>,
    /// Key projection.
    pub wk: Option<LoraPair>,
    /// Value projection.
    pub wv: Option<LoraPair>,
    /// Attention output projection.
    pub wo: Option<LoraPair>,
    /// Feed-forward gate projection.
    pub gate: Option<LoraPair>,
    /// Feed-forward up projection.
    pub up: Option<LoraPair>,
    /// Feed-forward down projection.
    pub down: Option<LoraPair>,
}

impl LayerLora {
    fn slot(&mut self, projection: &str) -> &mut Option<LoraPair> {
        match projection {
            "attn_q" => &mut self.wq,
            "attn_k" => &mut self.wk,
            "attn_v" => &mut self.wv,
            "attn_output" => &mut self.wo,
            "ffn_gate" => &mut self.gate,
            "ffn_up" => &mut self.up,
            "ffn_down" => &mut self.down,
            other => unreachable!("{other} is not one of PROJECTIONS"),
        }
    }
}

/// A LoRA adapter ready to apply to one model.
#[derive(Debug, Clone)]
pub struct LoraAdapter {
    /// Per block.
    pub layers: Vec<LayerLora>,
    /// How many projections it changes.
    pub adapted: usize,
    /// `adapter.lora.alpha`.
    pub alpha: f32,
}

impl LoraAdapter {
    /// Reads the GGUF LoRA `path` for a model of architecture `architecture` with
    /// `weights`, applied at `user_scale` (llama.cpp's `--lora-scaled`; 1 for
    /// `--lora`). Everything wrong with the file is an input error naming it: not an
    /// adapter, another architecture, a tensor that is not an `A`/`B` pair of a block
    /// projection, shapes that do not fit the base.
    pub fn open(
        path: &Path,
        architecture: &str,
        weights: &ModelWeights,
        user_scale: f32,
    ) -> Result<Self> {
        let file = GgufFile::open(path)?;
        Self::from_file(&file, architecture, weights, user_scale)
            .map_err(|e| InputError::file(path, format!("{e:#}")).into())
    }

    fn from_file(
        file: &GgufFile,
        architecture: &str,
        weights: &ModelWeights,
        user_scale: f32,
    ) -> Result<Self> {
        let md = file.metadata();
        let kind = md.optional("general.type", Metadata::str)?;
        ensure!(
            kind == Some("adapter"),
            "general.type is {kind:?}, not \"adapter\": this is not a LoRA adapter"
        );
        let adapter = md.str("adapter.type")?;
        ensure!(
            adapter == "lora",
            "adapter.type is {adapter:?}; only \"lora\" adapters apply"
        );
        let arch = md.str("general.architecture")?;
        ensure!(
            arch == architecture,
            "the adapter is for a {arch:?} model, the base is {architecture:?}"
        );
        let alpha = md.f32("adapter.lora.alpha")?;
        for t in file.tensors() {
            ensure!(
                is_projection_lora(&t.name),
                "tensor {} is not the lora_a/lora_b of a block projection (blk.N.{{{}}}.weight); the engine applies adapters to those only",
                t.name,
                PROJECTIONS.join(",")
            );
        }
        let mut layers = vec![LayerLora::default(); weights.layers.len()];
        let mut adapted = 0;
        for (l, (layer, base)) in layers.iter_mut().zip(&weights.layers).enumerate() {
            let bases = [
                base.wq, base.wk, base.wv, base.wo, base.gate, base.up, base.down,
            ];
            for (projection, w) in PROJECTIONS.iter().zip(bases) {
                let name = format!("blk.{l}.{projection}.weight");
                if let Some(pair) = read_pair(file, &name, &w, alpha, user_scale)? {
                    *layer.slot(projection) = Some(pair);
                    adapted += 1;
                }
            }
        }
        ensure!(
            adapted * 2 == file.tensors().len(),
            "some lora tensors name a block the base does not have ({} tensors, {adapted} pairs used)",
            file.tensors().len()
        );
        Ok(Self {
            layers,
            adapted,
            alpha,
        })
    }
}

/// True for `blk.N.<projection>.weight.lora_a` or `.lora_b` of a [`PROJECTIONS`] name.
fn is_projection_lora(name: &str) -> bool {
    let Some(weight) = name
        .strip_suffix(".lora_a")
        .or_else(|| name.strip_suffix(".lora_b"))
    else {
        return false;
    };
    let parts: Vec<&str> = weight.split('.').collect();
    matches!(parts.as_slice(), ["blk", n, p, "weight"]
        if n.parse::<usize>().is_ok() && PROJECTIONS.contains(p))
}

/// The pair for base weight `name` (shape of `base`), or None when the file has neither half.
fn read_pair(
    file: &GgufFile,
    name: &str,
    base: &TensorRef,
    alpha: f32,
    user_scale: f32,
) -> Result<Option<LoraPair>> {
    let (a, b) = (
        file.tensor(&format!("{name}.lora_a")),
        file.tensor(&format!("{name}.lora_b")),
    );
    let (a, b) = match (a, b) {
        (None, None) => return Ok(None),
        (Some(a), Some(b)) => (a, b),
        _ => anyhow::bail!("{name} has only one of lora_a and lora_b"),
    };
    let dims = |t: &TensorInfo| -> Result<(usize, usize)> {
        ensure!(
            t.dims.len() == 2,
            "{} has {} dimensions, expected 2",
            t.name,
            t.dims.len()
        );
        Ok((t.dims[0] as usize, t.dims[1] as usize))
    };
    let ((a_cols, rank), (b_rank, b_rows)) = (dims(a)?, dims(b)?);
    ensure!(
        a_cols == base.cols && b_rows == base.rows,
        "{name}: lora_a is {a_cols}×{rank} and lora_b {b_rank}×{b_rows} (ne0×ne1), but the base weight is {}×{}",
        base.cols,
        base.rows
    );
    ensure!(
        rank == b_rank && rank > 0,
        "{name}: lora_a has rank {rank} but lora_b {b_rank}"
    );
    let scale = if alpha == 0.0 {
        user_scale
    } else {
        user_scale * alpha / rank as f32
    };
    Ok(Some(LoraPair {
        rank,
        cols: base.cols,
        rows: base.rows,
        a: read_f32(file, a)?,
        b: read_f32(file, b)?,
        scale,
    }))
}

/// A float tensor's values in f32.
fn read_f32(file: &GgufFile, t: &TensorInfo) -> Result<Vec<f32>> {
    let ty = QuantType::from_ggml_type_id(t.ggml_type as u32)
        .filter(|q| matches!(q, QuantType::F32 | QuantType::F16 | QuantType::BF16))
        .with_context(|| {
            format!(
                "{} has type {}; adapters are read in F32, F16 or BF16",
                t.name,
                t.ggml_type.name()
            )
        })?;
    let mut out = vec![0f32; t.n_elements() as usize];
    dequantize_tensor_into(ty, file.tensor_data(t), t.dims[0] as usize, &mut out)
        .with_context(|| format!("reading {}", t.name))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_block_projections_are_recognised() {
        assert!(is_projection_lora("blk.3.attn_q.weight.lora_a"));
        assert!(is_projection_lora("blk.12.ffn_down.weight.lora_b"));
        assert!(!is_projection_lora("token_embd.weight.lora_a"));
        assert!(!is_projection_lora("blk.x.attn_q.weight.lora_a"));
        assert!(!is_projection_lora("blk.1.attn_q.weight"));
        assert!(!is_projection_lora("blk.1.attn_q_norm.weight.lora_a"));
    }

    #[test]
    fn the_update_is_scale_times_b_a_x() {
        // A = [[1, 2]], B = [[3], [4]], x = [5, 6]: A·x = 17, B·17 = [51, 68].
        let pair = LoraPair {
            rank: 1,
            cols: 2,
            rows: 2,
            a: vec![1.0, 2.0],
            b: vec![3.0, 4.0],
            scale: 0.5,
        };
        let mut out = vec![1.0, 1.0, 0.0, 0.0];
        pair.add_to(&[5.0, 6.0, 1.0, 0.0], &mut out);
        assert_eq!(out, vec![1.0 + 25.5, 1.0 + 34.0, 1.5, 2.0]);
    }

    #[test]
    fn dot_matches_the_plain_sum_on_exact_values() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..19).map(|i| (i % 3) as f32).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), plain);
    }
}
