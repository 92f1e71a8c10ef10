//! Which type each tensor gets when re-quantizing: llama.cpp's `llama-quantize`
//! rules (src/llama-quant.cpp) for the file types `gguf quantize` offers,
//! reproduced so our Q4_K_M files have the same tensor-type table as llama.cpp's.
//!
//! The rules depend on tensor order (attn_v tensors are counted as they come), so
//! tensors must be planned in [`llama_order`]. Architecture-specific exceptions
//! llama.cpp makes for Falcon are not reproduced: planning a Falcon model fails.

use super::ggml_type::GgmlType;
use super::metadata::Metadata;
use super::tensor::TensorSpec;
use crate::choice::Choice;

/// A target file type (llama.cpp's `llama_ftype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Q4_K for most weights, Q6_K for output and some attn_v / ffn_down (`LLAMA_FTYPE_MOSTLY_Q4_K_M`).
    Q4KM,
    /// Q8_0 for every quantizable weight (`LLAMA_FTYPE_MOSTLY_Q8_0`).
    Q8_0,
    /// F16 for every quantizable weight (`LLAMA_FTYPE_MOSTLY_F16`).
    F16,
    /// F32 for every weight (`LLAMA_FTYPE_ALL_F32`): exact copies, for parity tests.
    F32,
}

impl Choice for FileType {
    const ALL: &'static [Self] = &[FileType::Q4KM, FileType::Q8_0, FileType::F16, FileType::F32];

    fn name(self) -> &'static str {
        self.label()
    }
}

impl FileType {
    /// The name used on the command line and in file names (`q4_k_m`).
    pub fn label(self) -> &'static str {
        match self {
            FileType::Q4KM => "q4_k_m",
            FileType::Q8_0 => "q8_0",
            FileType::F16 => "f16",
            FileType::F32 => "f32",
        }
    }

    /// The `general.file_type` value llama.cpp writes for this type.
    pub fn ftype_id(self) -> u32 {
        match self {
            FileType::Q4KM => 15,
            FileType::Q8_0 => 7,
            FileType::F16 => 1,
            FileType::F32 => 0,
        }
    }

    /// The type most weights get.
    pub fn default_type(self) -> GgmlType {
        match self {
            FileType::Q4KM => GgmlType::Q4_K,
            FileType::Q8_0 => GgmlType::Q8_0,
            FileType::F16 => GgmlType::F16,
            FileType::F32 => GgmlType::F32,
        }
    }
}

/// The model facts llama.cpp's rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFacts {
    /// `general.architecture`.
    pub arch: String,
    /// `{arch}.block_count`.
    pub n_layer: u32,
    /// `{arch}.expert_count` (0 when absent).
    pub n_expert: u32,
    /// llama.cpp's `LLM_TYPE_70B`: a llama model with 80 layers and grouped-query attention.
    pub is_llama_70b: bool,
}

impl ModelFacts {
    /// Read the facts from a model's metadata.
    pub fn from_metadata(md: &Metadata) -> Result<Self, String> {
        let arch = md
            .str("general.architecture")
            .map_err(|e| e.to_string())?
            .to_string();
        let n_layer = md
            .u32(&format!("{arch}.block_count"))
            .map_err(|e| e.to_string())?;
        let n_expert = md.u32(&format!("{arch}.expert_count")).unwrap_or(0);
        let n_head = md.u32(&format!("{arch}.attention.head_count")).ok();
        let n_head_kv = md
            .u32(&format!("{arch}.attention.head_count_kv"))
            .ok()
            .or(n_head);
        Ok(Self {
            is_llama_70b: arch == "llama" && n_layer == 80 && n_head != n_head_kv,
            arch,
            n_layer,
            n_expert,
        })
    }
}

/// The layer number llama.cpp reads from a `blk.N.` prefix (`sscanf("blk.%d.")`).
fn layer_of(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("blk.")?.trim_start();
    let (sign, digits) = match rest.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, rest.strip_prefix('+').unwrap_or(rest)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().ok().map(|n| sign * n)
}

/// Indices of `names` in the order llama.cpp's loader visits tensors: tensors
/// outside blocks first, then block by block, by name within each group.
pub fn llama_order(names: &[&str]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| (layer_of(names[i]).unwrap_or(-1), names[i]);
        key(a).cmp(&key(b))
    });
    order
}

/// Broad tensor roles the rules distinguish (llama.cpp's `tensor_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    TokenEmbd,
    AttnQ,
    AttnVLike,
    AttnK,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Output,
    Other,
}

fn category(name: &str) -> Category {
    if name == "output.weight" {
        return Category::Output;
    }
    if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
        return Category::TokenEmbd;
    }
    let table = [
        ("attn_qkv.weight", Category::AttnVLike),
        ("attn_kv_b.weight", Category::AttnVLike),
        ("attn_v.weight", Category::AttnVLike),
        ("attn_k.weight", Category::AttnK),
        ("attn_q.weight", Category::AttnQ),
        ("attn_output.weight", Category::AttnOutput),
        ("ffn_up", Category::FfnUp),
        ("ffn_gate", Category::FfnGate),
        ("ffn_down", Category::FfnDown),
    ];
    table
        .iter()
        .find(|(pattern, _)| name.contains(pattern))
        .map_or(Category::Other, |&(_, c)| c)
}

/// Substrings that keep a weight out of quantization (norms, gates, small or positional tensors).
const NEVER_QUANTIZED: &[&str] = &[
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
];

/// ggml's `ggml_n_dims`: dimensions up to the last one that is not 1 (at least 1).
pub fn effective_dims(dims: &[u64]) -> usize {
    dims.iter().rposition(|&d| d != 1).map_or(1, |i| i + 1)
}

/// llama.cpp's `tensor_allows_quantization` for the default parameters.
fn allows_quantization(spec: &TensorSpec) -> bool {
    let name = spec.name.as_str();
    effective_dims(&spec.dims) >= 2
        && name.ends_with("weight")
        && name != "position_embd.weight"
        && name != "token_types.weight"
        && !NEVER_QUANTIZED.iter().any(|p| name.contains(p))
}

/// llama.cpp's `use_more_bits`: the first and last eighth of layers, and every third in between.
fn use_more_bits(i_layer: i64, n_layers: i64) -> bool {
    i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2
}

/// The type to use when a row is not a whole number of `wanted`'s blocks.
fn fallback(name: &str, row: u64, wanted: GgmlType) -> Result<GgmlType, String> {
    if row.is_multiple_of(wanted.block_size()) {
        return Ok(wanted);
    }
    let replacement = match wanted {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        GgmlType::Q6_K => GgmlType::Q8_0,
        GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::TQ1_0 | GgmlType::TQ2_0 | GgmlType::Q2_0 => {
            GgmlType::Q4_0
        }
        t if t.block_size() <= 32 => t,
        t => {
            return Err(format!(
                "tensor `{name}`: no fallback type for {t} with rows of {row}"
            ))
        }
    };
    Ok(if row.is_multiple_of(replacement.block_size()) {
        replacement
    } else {
        GgmlType::F16
    })
}

/// Counters the rules keep while walking the tensors.
struct PlanState<'a> {
    facts: &'a ModelFacts,
    file_type: FileType,
    has_tied_embeddings: bool,
    n_attention_wv: i64,
    i_attention_wv: i64,
    i_ffn_down: i64,
    i_ffn_gate: i64,
    i_ffn_up: i64,
}

impl PlanState<'_> {
    /// (layer, layer count) for a per-layer rule; MoE models read the layer from the name.
    fn layer_info(&self, counter: i64, name: &str) -> Result<(i64, i64), String> {
        let n_layer = i64::from(self.facts.n_layer);
        if self.facts.n_expert <= 1 {
            return Ok((counter, n_layer));
        }
        let layer =
            layer_of(name).ok_or_else(|| format!("cannot tell the layer of tensor `{name}`"))?;
        if !(0..n_layer).contains(&layer) {
            return Err(format!(
                "tensor `{name}` has layer {layer}, outside [0, {n_layer})"
            ));
        }
        Ok((layer, n_layer))
    }

    /// llama.cpp's `llama_tensor_get_type_impl` restricted to Q4_K_M and Q8_0.
    fn mixture_type(&mut self, spec: &TensorSpec, mut t: GgmlType) -> Result<GgmlType, String> {
        let q4km = self.file_type == FileType::Q4KM;
        let eight_experts = self.facts.n_expert == 8;
        let cat = category(&spec.name);
        let row = spec.dims.first().copied().unwrap_or(1);
        match cat {
            Category::Output => t = self.output_type(row, t),
            Category::TokenEmbd if self.has_tied_embeddings => t = self.output_type(row, t),
            Category::AttnVLike => {
                if q4km && use_more_bits(self.i_attention_wv, self.n_attention_wv) {
                    t = GgmlType::Q6_K;
                }
                if self.facts.is_llama_70b && matches!(t, GgmlType::Q3_K | GgmlType::Q4_K) {
                    t = GgmlType::Q5_K;
                }
                if eight_experts {
                    t = GgmlType::Q8_0;
                }
                self.i_attention_wv += 1;
            }
            Category::AttnK if eight_experts => t = GgmlType::Q8_0,
            Category::FfnDown => {
                let (i_layer, n_layer) = self.layer_info(self.i_ffn_down, &spec.name)?;
                if q4km && use_more_bits(i_layer, n_layer) {
                    t = GgmlType::Q6_K;
                }
                self.i_ffn_down += 1;
            }
            Category::AttnOutput if eight_experts && q4km => t = GgmlType::Q5_K,
            Category::FfnGate => {
                self.layer_info(self.i_ffn_gate, &spec.name)?;
                self.i_ffn_gate += 1;
            }
            Category::FfnUp => {
                self.layer_info(self.i_ffn_up, &spec.name)?;
                self.i_ffn_up += 1;
            }
            _ => {}
        }
        Ok(t)
    }

    /// The rule for output.weight (and a tied token embedding).
    fn output_type(&self, row: u64, t: GgmlType) -> GgmlType {
        if !row.is_multiple_of(t.block_size()) {
            GgmlType::Q8_0
        } else if t != GgmlType::Q8_0 {
            GgmlType::Q6_K
        } else {
            t
        }
    }
}

/// The type of each tensor (given in [`llama_order`]) after quantizing to `file_type`.
/// Tensors that are not quantized (norms, 1-D tensors, ...) keep their type.
pub fn plan(
    file_type: FileType,
    facts: &ModelFacts,
    tensors: &[TensorSpec],
) -> Result<Vec<GgmlType>, String> {
    if facts.arch == "falcon" {
        return Err(
            "the falcon architecture has its own llama-quantize rules, which are not implemented"
                .into(),
        );
    }
    let mut state = PlanState {
        facts,
        file_type,
        has_tied_embeddings: !tensors
            .iter()
            .any(|t| category(&t.name) == Category::Output),
        n_attention_wv: tensors
            .iter()
            .filter(|t| category(&t.name) == Category::AttnVLike)
            .count() as i64,
        i_attention_wv: 0,
        i_ffn_down: 0,
        i_ffn_gate: 0,
        i_ffn_up: 0,
    };
    let default = file_type.default_type();
    tensors
        .iter()
        .map(|spec| {
            if !allows_quantization(spec) {
                return Ok(spec.ggml_type);
            }
            if !default.is_quantized() {
                return Ok(default);
            }
            let t = state.mixture_type(spec, default)?;
            fallback(&spec.name, spec.dims.first().copied().unwrap_or(1), t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Llama-3-8B's tensors (32 layers, untied output), in llama order.
    fn llama3_8b() -> Vec<TensorSpec> {
        let mut t = vec![
            TensorSpec::new("token_embd.weight", GgmlType::F16, vec![4096, 128256]),
            TensorSpec::new("output_norm.weight", GgmlType::F32, vec![4096]),
            TensorSpec::new("output.weight", GgmlType::F16, vec![4096, 128256]),
            TensorSpec::new("rope_freqs.weight", GgmlType::F32, vec![64]),
        ];
        for i in 0..32 {
            for (n, ty, dims) in [
                ("attn_norm.weight", GgmlType::F32, vec![4096]),
                ("attn_q.weight", GgmlType::F16, vec![4096, 4096]),
                ("attn_k.weight", GgmlType::F16, vec![4096, 1024]),
                ("attn_v.weight", GgmlType::F16, vec![4096, 1024]),
                ("attn_output.weight", GgmlType::F16, vec![4096, 4096]),
                ("ffn_norm.weight", GgmlType::F32, vec![4096]),
                ("ffn_gate.weight", GgmlType::F16, vec![4096, 14336]),
                ("ffn_up.weight", GgmlType::F16, vec![4096, 14336]),
                ("ffn_down.weight", GgmlType::F16, vec![14336, 4096]),
            ] {
                t.push(TensorSpec::new(format!("blk.{i}.{n}"), ty, dims));
            }
        }
        let names: Vec<&str> = t.iter().map(|s| s.name.as_str()).collect();
        llama_order(&names)
            .into_iter()
            .map(|i| t[i].clone())
            .collect()
    }

    fn facts(n_layer: u32) -> ModelFacts {
        ModelFacts {
            arch: "llama".into(),
            n_layer,
            n_expert: 0,
            is_llama_70b: false,
        }
    }

    #[test]
    fn llama3_8b_q4_k_m_uses_q6_k_in_the_layers_llama_cpp_picks() {
        let tensors = llama3_8b();
        let types = plan(FileType::Q4KM, &facts(32), &tensors).unwrap();
        let of = |name: &str| types[tensors.iter().position(|t| t.name == name).unwrap()];
        assert_eq!(of("output.weight"), GgmlType::Q6_K);
        assert_eq!(of("token_embd.weight"), GgmlType::Q4_K);
        assert_eq!(of("output_norm.weight"), GgmlType::F32);
        assert_eq!(of("rope_freqs.weight"), GgmlType::F32);
        let more_bits = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
        for i in 0..32 {
            let want = if more_bits.contains(&i) {
                GgmlType::Q6_K
            } else {
                GgmlType::Q4_K
            };
            assert_eq!(of(&format!("blk.{i}.attn_v.weight")), want, "layer {i}");
            assert_eq!(of(&format!("blk.{i}.ffn_down.weight")), want, "layer {i}");
            for n in ["attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"] {
                assert_eq!(of(&format!("blk.{i}.{n}.weight")), GgmlType::Q4_K);
            }
            assert_eq!(of(&format!("blk.{i}.attn_norm.weight")), GgmlType::F32);
        }
    }

    #[test]
    fn q8_0_and_f16_quantize_every_weight_matrix_alike() {
        let tensors = llama3_8b();
        for (ft, want) in [
            (FileType::Q8_0, GgmlType::Q8_0),
            (FileType::F16, GgmlType::F16),
            (FileType::F32, GgmlType::F32),
        ] {
            let types = plan(ft, &facts(32), &tensors).unwrap();
            for (t, ty) in tensors.iter().zip(types) {
                let expect = if t.dims.len() == 1 {
                    GgmlType::F32
                } else {
                    want
                };
                assert_eq!(ty, expect, "{}", t.name);
            }
        }
    }

    #[test]
    fn rows_not_a_multiple_of_256_fall_back_like_llama_cpp() {
        assert_eq!(fallback("t", 640, GgmlType::Q4_K), Ok(GgmlType::Q5_0));
        assert_eq!(fallback("t", 640, GgmlType::Q6_K), Ok(GgmlType::Q8_0));
        assert_eq!(fallback("t", 640, GgmlType::Q5_K), Ok(GgmlType::Q5_1));
        assert_eq!(fallback("t", 100, GgmlType::Q4_K), Ok(GgmlType::F16));
        assert_eq!(fallback("t", 100, GgmlType::Q8_0), Ok(GgmlType::F16));
        assert_eq!(fallback("t", 512, GgmlType::Q4_K), Ok(GgmlType::Q4_K));
    }

    #[test]
    fn seventy_b_and_eight_expert_models_get_their_bumps() {
        let tensors = llama3_8b();
        let mut f = facts(32);
        f.is_llama_70b = true;
        let types = plan(FileType::Q4KM, &f, &tensors).unwrap();
        let v4 = tensors
            .iter()
            .position(|t| t.name == "blk.4.attn_v.weight")
            .unwrap();
        assert_eq!(types[v4], GgmlType::Q5_K);
        f.is_llama_70b = false;
        f.n_expert = 8;
        let types = plan(FileType::Q4KM, &f, &tensors).unwrap();
        assert_eq!(types[v4], GgmlType::Q8_0);
        let o4 = tensors
            .iter()
            .position(|t| t.name == "blk.4.attn_output.weight")
            .unwrap();
        assert_eq!(types[o4], GgmlType::Q5_K);
    }

    #[test]
    fn order_puts_global_tensors_first_then_layers_numerically() {
        let names = [
            "blk.10.a",
            "output.weight",
            "blk.2.b",
            "blk.2.a",
            "token_embd.weight",
        ];
        let order: Vec<&str> = llama_order(&names).into_iter().map(|i| names[i]).collect();
        assert_eq!(
            order,
            [
                "output.weight",
                "token_embd.weight",
                "blk.2.a",
                "blk.2.b",
                "blk.10.a"
            ]
        );
    }

    #[test]
    fn trailing_unit_dimensions_do_not_count() {
        assert_eq!(effective_dims(&[640, 1]), 1);
        assert_eq!(effective_dims(&[640, 2, 1]), 2);
        assert_eq!(effective_dims(&[]), 1);
        let t = TensorSpec::new("x.weight", GgmlType::F16, vec![512, 1]);
        assert_eq!(
            plan(FileType::Q4KM, &facts(1), &[t]).unwrap(),
            [GgmlType::F16]
        );
    }
}
