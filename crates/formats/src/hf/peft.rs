//! A peft LoRA adapter folder (`adapter_config.json` + `adapter_model.safetensors`,
//! keys such as `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`) and
//! the update `s·B·A` (s = alpha / r, or alpha / √r with rsLoRA) it adds to a base
//! weight, computed in f32.

use std::ops::Range;
use std::path::Path;

use anyhow::{ensure, Result};
use serde::Deserialize;

use super::weights::SafetensorsWeights;
use crate::error::InputError;

/// The fields of `adapter_config.json` the merge needs.
#[derive(Debug, Clone, Deserialize)]
pub struct AdapterConfig {
    /// Must be `LORA`.
    pub peft_type: String,
    /// Rank.
    pub r: usize,
    /// Scale numerator.
    pub lora_alpha: f64,
    /// rsLoRA scaling (alpha / √r).
    #[serde(default)]
    pub use_rslora: bool,
    /// The base model the adapter was trained on, as recorded by the trainer.
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
}

/// A LoRA adapter ready to merge.
pub struct LoraAdapter {
    /// Its configuration.
    pub config: AdapterConfig,
    weights: SafetensorsWeights,
}

impl LoraAdapter {
    /// Opens an adapter folder.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| InputError::file(&path, format!("cannot read: {e}")))?;
        let config: AdapterConfig = serde_json::from_str(&text)
            .map_err(|e| InputError::at(&path, e.line(), None, e.to_string()))?;
        if config.peft_type != "LORA" {
            return Err(InputError::file(
                &path,
                format!("only LORA adapters merge, not {}", config.peft_type),
            )
            .with_field("peft_type")
            .into());
        }
        if config.r == 0 {
            return Err(InputError::file(&path, "must be positive")
                .with_field("r")
                .into());
        }
        let weights = SafetensorsWeights::open_files(&[dir.join("adapter_model.safetensors")])?;
        Ok(Self { config, weights })
    }

    /// The factor the update is multiplied by.
    pub fn scale(&self) -> f64 {
        let r = self.config.r as f64;
        if self.config.use_rslora {
            self.config.lora_alpha / r.sqrt()
        } else {
            self.config.lora_alpha / r
        }
    }

    /// How many base weights the adapter changes.
    pub fn module_count(&self) -> usize {
        self.weights
            .shapes()
            .filter(|(n, _)| n.ends_with(".lora_A.weight"))
            .count()
    }

    /// The factors `(A, B)` (row-major `[r, in]` and `[out, r]`) the adapter holds for
    /// the HF weight `name` (e.g. `model.layers.0.self_attn.q_proj.weight`) of shape
    /// `rows × cols`, or None when the adapter does not touch it.
    pub fn factors(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Option<(Vec<f32>, Vec<f32>)>> {
        let Some(module) = name.strip_suffix(".weight") else {
            return Ok(None);
        };
        let a_name = format!("base_model.model.{module}.lora_A.weight");
        let b_name = format!("base_model.model.{module}.lora_B.weight");
        if !self.weights.contains(&a_name) {
            return Ok(None);
        }
        let (a_shape, a) = self.weights.f32(&a_name)?;
        let (b_shape, b) = self.weights.f32(&b_name)?;
        let r = self.config.r;
        ensure!(
            a_shape == [r, cols] && b_shape == [rows, r],
            "adapter shapes for {name}: A {a_shape:?}, B {b_shape:?}; expected A [{r}, {cols}], B [{rows}, {r}]"
        );
        Ok(Some((a, b)))
    }

    /// Rows `range` of the update `s·B·A` (row-major `[out, in]`) for the HF weight
    /// `name` of shape `rows × cols`, or None when the adapter does not touch it.
    pub fn delta(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        range: Range<usize>,
    ) -> Result<Option<Vec<f32>>> {
        ensure!(
            range.start <= range.end && range.end <= rows,
            "rows {range:?} of {name}, which has {rows}"
        );
        let r = self.config.r;
        Ok(self.factors(name, rows, cols)?.map(|(a, b)| {
            let b_rows = &b[range.start * r..range.end * r];
            low_rank_product(b_rows, &a, range.len(), r, cols, self.scale())
        }))
    }
}

/// `scale · B · A` for B `[rows, r]` and A `[r, cols]`, accumulated in f64 per
/// element and rounded once to f32.
fn low_rank_product(
    b: &[f32],
    a: &[f32],
    rows: usize,
    r: usize,
    cols: usize,
    scale: f64,
) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    let mut acc = vec![0f64; cols];
    for (o, out_row) in out.chunks_exact_mut(cols).enumerate() {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..r {
            let bk = b[o * r + k] as f64;
            if bk == 0.0 {
                continue;
            }
            for (v, &x) in acc.iter_mut().zip(&a[k * cols..(k + 1) * cols]) {
                *v += bk * x as f64;
            }
        }
        for (dst, v) in out_row.iter_mut().zip(&acc) {
            *dst = (v * scale) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;

    #[test]
    fn a_row_range_of_the_update_is_those_rows_of_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, r, cols) = (5usize, 2usize, 3usize);
        let bytes = |n: usize, k: f32| -> Vec<u8> {
            (0..n)
                .flat_map(|i| ((i as f32 - 2.0) * k).to_le_bytes())
                .collect()
        };
        let (a, b) = (bytes(r * cols, 0.3), bytes(rows * r, -0.7));
        let module = "base_model.model.model.layers.0.mlp.up_proj";
        let views = vec![
            (
                format!("{module}.lora_A.weight"),
                TensorView::new(Dtype::F32, vec![r, cols], &a).unwrap(),
            ),
            (
                format!("{module}.lora_B.weight"),
                TensorView::new(Dtype::F32, vec![rows, r], &b).unwrap(),
            ),
        ];
        safetensors::serialize_to_file(views, None, &dir.path().join("adapter_model.safetensors"))
            .unwrap();
        std::fs::write(
            dir.path().join("adapter_config.json"),
            r#"{"peft_type":"LORA","r":2,"lora_alpha":8}"#,
        )
        .unwrap();
        let adapter = LoraAdapter::open(dir.path()).unwrap();
        let name = "model.layers.0.mlp.up_proj.weight";
        let whole = adapter.delta(name, rows, cols, 0..rows).unwrap().unwrap();
        for range in [0..2, 2..5, 4..5, 3..3] {
            let part = adapter
                .delta(name, rows, cols, range.clone())
                .unwrap()
                .unwrap();
            assert_eq!(
                part,
                whole[range.start * cols..range.end * cols],
                "{range:?}"
            );
        }
        assert!(adapter.delta(name, rows, cols, 4..6).is_err());
        assert!(adapter
            .delta("model.norm.weight", 1, cols, 0..1)
            .unwrap()
            .is_none());
    }

    proptest! {
        /// The product equals the textbook triple loop.
        #[test]
        fn low_rank_product_is_the_matrix_product(
            rows in 1usize..6, r in 1usize..4, cols in 1usize..6,
            seed in proptest::collection::vec(-2.0f32..2.0, 64),
            scale in 0.1f64..4.0,
        ) {
            let b: Vec<f32> = seed.iter().cycle().take(rows * r).copied().collect();
            let a: Vec<f32> = seed.iter().rev().cycle().take(r * cols).copied().collect();
            let got = low_rank_product(&b, &a, rows, r, cols, scale);
            for i in 0..rows {
                for j in 0..cols {
                    let want: f64 = (0..r).map(|k| b[i * r + k] as f64 * a[k * cols + j] as f64).sum::<f64>() * scale;
                    prop_assert!((got[i * cols + j] as f64 - want).abs() <= 1e-5 * want.abs().max(1.0));
                }
            }
        }
    }
}
