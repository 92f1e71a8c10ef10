//! A Hugging Face `config.json` of a Llama or a Gemma 3 text model ([`HfConfig`], the
//! file's contents), its conversions each way to the model shape GGUF metadata holds
//! ([`crate::llama_config::LlamaConfig`], [`crate::gemma3_config::Gemma3Config`]; the
//! trainer and the exporter read a `config.json` only here), and what a Gemma 3 config
//! means per layer (sliding window or global attention, which RoPE, the query scale),
//! as transformers' `Gemma3TextConfig` reads it (transformers 4 and 5 layouts).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::gemma3_config::{Gemma3Config, LOCAL_ROPE_THETA, SLIDING_WINDOW_PATTERN};
use crate::llama_config::LlamaConfig;

/// `rope_scaling` (transformers 4 layout): `llama3` (Llama 3.1+, every field) or
/// `linear` (Gemma 3's global layers, `factor` only; the other fields then read 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// `llama3` or `default` for a Llama; `linear` or `default` for a Gemma 3.
    #[serde(alias = "type")]
    pub rope_type: String,
    /// Context extension factor (`linear`: positions are divided by it).
    pub factor: f64,
    /// Low-frequency factor (`llama3`).
    #[serde(default)]
    pub low_freq_factor: f64,
    /// High-frequency factor (`llama3`).
    #[serde(default)]
    pub high_freq_factor: f64,
    /// The pre-training context length (`llama3`).
    #[serde(default)]
    pub original_max_position_embeddings: f64,
}

impl RopeScaling {
    /// True for a `llama3` scaling with all four of its numbers positive.
    fn is_complete_llama3(&self) -> bool {
        self.rope_type == "llama3"
            && [
                self.factor,
                self.low_freq_factor,
                self.high_freq_factor,
                self.original_max_position_embeddings,
            ]
            .iter()
            .all(|v| *v > 0.0)
    }
}

/// transformers 5's `rope_parameters` (theta and scaling in one object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeParameters {
    /// RoPE base.
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// `default` or `llama3`.
    #[serde(default)]
    pub rope_type: Option<String>,
    /// `llama3` context extension factor.
    #[serde(default)]
    pub factor: Option<f64>,
    /// `llama3` low-frequency factor.
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    /// `llama3` high-frequency factor.
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    /// `llama3` pre-training context length.
    #[serde(default)]
    pub original_max_position_embeddings: Option<f64>,
    /// Gemma 3 (transformers 5): the parameters of the global layers; the object then
    /// holds only this and [`Self::sliding_attention`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_attention: Option<Box<RopeParameters>>,
    /// Gemma 3 (transformers 5): the parameters of the sliding-window layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_attention: Option<Box<RopeParameters>>,
}

/// The decoder architectures a [`HfConfig`] can describe (its `model_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `LlamaForCausalLM` (`model_type` `llama`).
    Llama,
    /// `Gemma3ForCausalLM` (`model_type` `gemma3_text`; a `gemma3` folder's
    /// `text_config` reads as one, see [`HfConfig::from_json`]).
    Gemma3,
}

/// The `config.json` fields only Gemma 3 has (absent, and not written, for a Llama).
/// [`HfConfig::from_json`] fills in transformers' defaults for the absent ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gemma3Fields {
    /// Attention scores are scaled by `query_pre_attn_scalar^-0.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_pre_attn_scalar: Option<f64>,
    /// Positions a sliding-window layer attends to, itself included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window: Option<i64>,
    /// `sliding_attention` or `full_attention`, per layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_types: Option<Vec<String>>,
    /// Without `layer_types`: every n-th layer attends globally (transformers' default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_pattern: Option<i64>,
    /// The same, under the name transformers 4.5x writes.
    #[serde(
        default,
        rename = "_sliding_window_pattern",
        skip_serializing_if = "Option::is_none"
    )]
    pub sliding_window_pattern_saved: Option<i64>,
    /// RoPE base of the sliding-window layers (transformers 4 layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_local_base_freq: Option<f64>,
    /// The MLP's activation: only `gelu_pytorch_tanh` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_activation: Option<String>,
    /// Tanh soft-capping of the logits: not supported (Gemma 3 has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_logit_softcapping: Option<f64>,
    /// Tanh soft-capping of the attention scores: not supported (Gemma 3 has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attn_logit_softcapping: Option<f64>,
    /// Biases on the attention projections: not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_bias: Option<bool>,
    /// Bidirectional attention (EmbeddingGemma): not supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_bidirectional_attention: Option<bool>,
}

/// transformers' `Gemma3TextConfig` defaults for keys a Gemma 3 `config.json` may leave
/// out, where they differ from the Llama defaults of [`HfConfig`]'s fields.
fn gemma3_defaults() -> [(&'static str, serde_json::Value); 7] {
    [
        ("num_key_value_heads", 4.into()),
        ("rms_norm_eps", 1e-6.into()),
        ("head_dim", 256.into()),
        ("max_position_embeddings", 131_072.into()),
        ("query_pre_attn_scalar", 256.0.into()),
        ("sliding_window", 4096.into()),
        ("rope_local_base_freq", 10_000.0.into()),
    ]
}
/// transformers' RoPE base of Gemma 3's global layers when the config has none.
const GEMMA3_GLOBAL_THETA: f64 = 1_000_000.0;
/// The one MLP activation Gemma 3 uses (`gelu` with the tanh approximation).
pub const GEMMA3_ACTIVATION: &str = "gelu_pytorch_tanh";

/// The fields of a Llama `config.json` the trainer uses (transformers 4 and 5 layouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HfConfig {
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: i64,
    /// Model width.
    pub hidden_size: i64,
    /// MLP width.
    pub intermediate_size: i64,
    /// Decoder layers.
    pub num_hidden_layers: i64,
    /// Query heads.
    pub num_attention_heads: i64,
    /// Key/value heads (grouped-query attention).
    #[serde(default)]
    pub num_key_value_heads: Option<i64>,
    /// Per-head width (defaults to hidden / heads).
    #[serde(default)]
    pub head_dim: Option<i64>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Llama 3.1-style RoPE scaling, when present (transformers 4 layout).
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// RoPE theta and scaling (transformers 5 layout; wins over the fields above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<RopeParameters>,
    /// Longest supported position.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: i64,
    /// Whether the LM head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Architecture list (`LlamaForCausalLM`).
    #[serde(default = "default_arch")]
    pub architectures: Vec<String>,
    /// Model type (`llama` or `gemma3_text`).
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// What only a Gemma 3 config has.
    #[serde(flatten)]
    pub gemma3: Gemma3Fields,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> i64 {
    8192
}
fn default_arch() -> Vec<String> {
    vec!["LlamaForCausalLM".into()]
}
fn default_model_type() -> String {
    "llama".into()
}

impl HfConfig {
    /// Read and check `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| InputError::at(path, e.line(), None, format!("not JSON: {e}")))?;
        let cfg = Self::from_json(value).map_err(|m| {
            // the line of a field of the wrong type, where the file itself shows it
            match serde_json::from_str::<Self>(&text) {
                Err(e) if e.line() > 0 => InputError::at(path, e.line(), None, m),
                _ => InputError::file(path, m),
            }
        })?;
        cfg.validate().map_err(|m| InputError::file(path, m))?;
        Ok(cfg)
    }

    /// A config from the JSON object of a `config.json`, unchecked (see
    /// [`Self::validate`]). A multimodal Gemma 3 (`model_type` `gemma3`) reads as its
    /// `text_config`; a Gemma 3 text config gets transformers' defaults for the keys
    /// it leaves out (the Llama defaults of the fields differ).
    pub fn from_json(mut value: serde_json::Value) -> std::result::Result<Self, String> {
        if value.get("model_type").and_then(|m| m.as_str()) == Some("gemma3") {
            let tied = value.get("tie_word_embeddings").cloned();
            value = value
                .get_mut("text_config")
                .map(serde_json::Value::take)
                .filter(serde_json::Value::is_object)
                .ok_or("a `gemma3` config needs its `text_config` object")?;
            let text = value.as_object_mut().expect("an object");
            text.insert("model_type".into(), "gemma3_text".into());
            if let Some(tied) = tied {
                text.entry("tie_word_embeddings").or_insert(tied);
            }
        }
        if let Some(map) = value
            .as_object_mut()
            .filter(|m| m.get("model_type").and_then(|t| t.as_str()) == Some("gemma3_text"))
        {
            for (key, v) in gemma3_defaults() {
                map.entry(key).or_insert(v);
            }
            map.entry("tie_word_embeddings").or_insert(true.into());
            map.entry("hidden_activation")
                .or_insert(GEMMA3_ACTIVATION.into());
            map.entry("architectures")
                .or_insert(serde_json::json!(["Gemma3ForCausalLM"]));
            if !map.contains_key("rope_parameters") {
                map.entry("rope_theta")
                    .or_insert(GEMMA3_GLOBAL_THETA.into());
            }
        }
        serde_json::from_value(value).map_err(|e| format!("not a Llama or Gemma 3 config: {e}"))
    }

    /// The architecture its `model_type` names, or why it is not one the trainer runs.
    pub fn architecture(&self) -> std::result::Result<Architecture, String> {
        match self.model_type.as_str() {
            "llama" => Ok(Architecture::Llama),
            "gemma3_text" => Ok(Architecture::Gemma3),
            other => Err(format!(
                "field `model_type`: `{other}` is not supported (only `llama` and `gemma3_text`, or `gemma3` with a `text_config`)"
            )),
        }
    }

    /// Check that the shapes fit together and that the architecture is one the
    /// trainer runs, with nothing it would silently get wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.kv_heads()),
            ("head_dim", self.head_dim()),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("field `{name}` must be positive, got {v}"));
        }
        if self.num_attention_heads % self.kv_heads() != 0 {
            return Err("field `num_key_value_heads` must divide `num_attention_heads`".into());
        }
        if self.head_dim() % 2 != 0 {
            return Err("the head width must be even for RoPE".into());
        }
        let llama = self.architecture()? == Architecture::Llama;
        if let Some(s) = self.rope_scaling.as_ref().filter(|_| llama) {
            if s.rope_type != "default" && !s.is_complete_llama3() {
                return Err(format!(
                    "field `rope_scaling.rope_type`: only `default` and complete `llama3` are supported, got `{}`",
                    s.rope_type
                ));
            }
        }
        if let Some(p) = self.rope_parameters.as_ref().filter(|_| llama) {
            let complete = p.factor.is_some()
                && p.low_freq_factor.is_some()
                && p.high_freq_factor.is_some()
                && p.original_max_position_embeddings.is_some();
            match p.rope_type.as_deref() {
                None | Some("default") => {}
                Some("llama3") if complete => {}
                Some(other) => {
                    return Err(format!(
                        "field `rope_parameters.rope_type`: only `default` and complete `llama3` are supported, got `{other}`"
                    ))
                }
            }
        }
        match self.architecture()? {
            Architecture::Llama => Ok(()),
            Architecture::Gemma3 => self.validate_gemma3(),
        }
    }

    /// The Gemma 3 part of [`Self::validate`].
    fn validate_gemma3(&self) -> std::result::Result<(), String> {
        let g = &self.gemma3;
        let refused = [
            (
                "final_logit_softcapping",
                g.final_logit_softcapping.is_some(),
            ),
            ("attn_logit_softcapping", g.attn_logit_softcapping.is_some()),
            ("attention_bias", g.attention_bias == Some(true)),
            (
                "use_bidirectional_attention",
                g.use_bidirectional_attention == Some(true),
            ),
        ];
        if let Some((name, _)) = refused.iter().find(|(_, set)| *set) {
            return Err(format!(
                "field `{name}`: not supported for Gemma 3 (it must be null or false)"
            ));
        }
        if let Some(act) = g
            .hidden_activation
            .as_deref()
            .filter(|a| *a != GEMMA3_ACTIVATION)
        {
            return Err(format!(
                "field `hidden_activation`: only `{GEMMA3_ACTIVATION}` is supported, got `{act}`"
            ));
        }
        if !positive(self.gemma3_query_pre_attn_scalar()) {
            return Err("field `query_pre_attn_scalar` must be positive".into());
        }
        if self.sliding_window() <= 0 {
            return Err("field `sliding_window` must be positive".into());
        }
        if let Some(types) = &g.layer_types {
            if types.len() as i64 != self.num_hidden_layers {
                return Err(format!(
                    "field `layer_types` has {} entries for {} layers",
                    types.len(),
                    self.num_hidden_layers
                ));
            }
            if let Some(bad) = types
                .iter()
                .find(|t| *t != "sliding_attention" && *t != "full_attention")
            {
                return Err(format!(
                    "field `layer_types`: `{bad}` is neither `sliding_attention` nor `full_attention`"
                ));
            }
        } else if self.gemma3_pattern() <= 0 {
            return Err("field `sliding_window_pattern` must be positive".into());
        }
        if let Some(s) = &self.rope_scaling {
            if s.rope_type != "linear" && s.rope_type != "default" || !positive(s.factor) {
                return Err(format!(
                    "field `rope_scaling`: Gemma 3 supports only `linear` (or `default`) scaling with a positive factor, got `{}`",
                    s.rope_type
                ));
            }
        }
        for sliding in [false, true] {
            let (theta, factor) = self.layer_rope(sliding)?;
            if !(positive(theta) && positive(factor)) {
                return Err(format!(
                    "the RoPE of the {} layers needs a positive base and factor",
                    if sliding { "sliding-window" } else { "global" }
                ));
            }
        }
        Ok(())
    }

    /// The Gemma 3 `rope_parameters` of one layer type (transformers 5 layout).
    fn gemma3_rope_parameters(&self, sliding: bool) -> Option<&RopeParameters> {
        let p = self.rope_parameters.as_ref()?;
        if sliding {
            p.sliding_attention.as_deref()
        } else {
            p.full_attention.as_deref()
        }
    }

    /// `query_pre_attn_scalar` (Gemma 3; transformers' default 256).
    fn gemma3_query_pre_attn_scalar(&self) -> f64 {
        self.gemma3.query_pre_attn_scalar.unwrap_or(256.0)
    }

    /// The layer pattern of a Gemma 3 config without `layer_types` (default 6).
    fn gemma3_pattern(&self) -> i64 {
        self.gemma3
            .sliding_window_pattern
            .or(self.gemma3.sliding_window_pattern_saved)
            .unwrap_or(6)
    }

    /// True when layer `layer` attends only to the last [`Self::sliding_window`]
    /// positions (Gemma 3's `sliding_attention`: from `layer_types`, else every layer
    /// but each `sliding_window_pattern`-th); never for a Llama.
    pub fn is_sliding(&self, layer: i64) -> bool {
        if self.model_type != "gemma3_text" {
            return false;
        }
        match &self.gemma3.layer_types {
            Some(types) => types
                .get(layer as usize)
                .is_some_and(|t| t == "sliding_attention"),
            None => (layer + 1) % self.gemma3_pattern().max(1) != 0,
        }
    }

    /// Positions a sliding-window layer attends to, itself included (Gemma 3; 4096 by
    /// default as transformers).
    pub fn sliding_window(&self) -> i64 {
        self.gemma3.sliding_window.unwrap_or(4096)
    }

    /// The factor attention scores are scaled by: `head_dim^-0.5` for a Llama,
    /// `query_pre_attn_scalar^-0.5` for a Gemma 3.
    pub fn attention_scale(&self) -> f64 {
        match self.architecture() {
            Ok(Architecture::Gemma3) => self.gemma3_query_pre_attn_scalar().powf(-0.5),
            _ => (self.head_dim() as f64).powf(-0.5),
        }
    }

    /// `(base, linear factor)` of the RoPE of a Gemma 3 layer of either type:
    /// transformers 5's `rope_parameters.{full,sliding}_attention`, else
    /// `rope_theta` + `rope_scaling` (global) and `rope_local_base_freq` (sliding);
    /// inverse frequencies are divided by the factor (1: no scaling). A type other
    /// than `default` or (global) `linear` is an error.
    pub fn layer_rope(&self, sliding: bool) -> std::result::Result<(f64, f64), String> {
        let field = if sliding {
            "rope_parameters.sliding_attention"
        } else {
            "rope_parameters.full_attention"
        };
        if let Some(p) = self.gemma3_rope_parameters(sliding) {
            let theta = p.rope_theta.unwrap_or(if sliding {
                10_000.0
            } else {
                GEMMA3_GLOBAL_THETA
            });
            return match (p.rope_type.as_deref(), p.factor) {
                (None | Some("default"), _) => Ok((theta, 1.0)),
                (Some("linear"), Some(f)) if !sliding => Ok((theta, f)),
                (t, _) => Err(format!(
                    "field `{field}.rope_type`: `{}` is not supported here",
                    t.unwrap_or("")
                )),
            };
        }
        if sliding {
            return Ok((self.gemma3.rope_local_base_freq.unwrap_or(10_000.0), 1.0));
        }
        let factor = match &self.rope_scaling {
            Some(s) if s.rope_type == "linear" => s.factor,
            _ => 1.0,
        };
        Ok((self.rope_theta, factor))
    }

    /// The RoPE base (from `rope_parameters` when present).
    pub fn theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .and_then(|p| p.rope_theta)
            .unwrap_or(self.rope_theta)
    }

    /// The `llama3` RoPE scaling in force, if any.
    pub fn scaling(&self) -> Option<RopeScaling> {
        if let Some(p) = &self.rope_parameters {
            return match (
                p.rope_type.as_deref(),
                p.factor,
                p.low_freq_factor,
                p.high_freq_factor,
                p.original_max_position_embeddings,
            ) {
                (Some("llama3"), Some(factor), Some(low), Some(high), Some(orig)) => {
                    Some(RopeScaling {
                        rope_type: "llama3".into(),
                        factor,
                        low_freq_factor: low,
                        high_freq_factor: high,
                        original_max_position_embeddings: orig,
                    })
                }
                _ => None,
            };
        }
        self.rope_scaling
            .clone()
            .filter(|s| s.rope_type == "llama3")
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> i64 {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> i64 {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The model shape as GGUF `llama.*` metadata holds it, checked. The `llama3` RoPE
    /// scaling is not part of it (a GGUF carries it as the `rope_freqs.weight` tensor).
    pub fn llama_config(&self) -> Result<LlamaConfig> {
        let config = LlamaConfig {
            vocab: self.vocab_size as usize,
            dim: self.hidden_size as usize,
            layers: self.num_hidden_layers as usize,
            heads: self.num_attention_heads as usize,
            kv_heads: self.kv_heads() as usize,
            ff: self.intermediate_size as usize,
            context: self.max_position_embeddings as usize,
            rope_theta: self.theta() as f32,
            rope_dims: self.head_dim() as usize,
            rms_eps: self.rms_norm_eps as f32,
        };
        config.validate()?;
        Ok(config)
    }

    /// The model shape as GGUF `gemma3.*` metadata holds it: the config checked
    /// ([`Self::validate`]) and refused, naming the field (the caller adds the file,
    /// [`InputError::in_file`]), when it is not a Gemma 3 or holds what llama.cpp's
    /// Gemma 3 cannot read from a GGUF: a sliding-window RoPE base other than its fixed
    /// [`LOCAL_ROPE_THETA`], global layers other than every
    /// [`SLIDING_WINDOW_PATTERN`]-th, a query scale other than the one it derives from
    /// the shape.
    pub fn gemma3_config(&self) -> std::result::Result<Gemma3Config, InputError> {
        self.validate().map_err(InputError::usage)?;
        if self.architecture() != Ok(Architecture::Gemma3) {
            return Err(InputError::field(
                "model_type",
                format!("`{}` is not a Gemma 3 (`gemma3_text`)", self.model_type),
            ));
        }
        let (theta_local, _) = self.layer_rope(true).map_err(InputError::usage)?;
        if theta_local != f64::from(LOCAL_ROPE_THETA) {
            let field = match self.gemma3_rope_parameters(true) {
                Some(_) => "rope_parameters.sliding_attention.rope_theta",
                None => "rope_local_base_freq",
            };
            return Err(InputError::field(
                field,
                format!("llama.cpp's Gemma 3 uses {LOCAL_ROPE_THETA} on sliding-window layers, not {theta_local}"),
            ));
        }
        let fixed = |l: usize| l % SLIDING_WINDOW_PATTERN < SLIDING_WINDOW_PATTERN - 1;
        let layers = self.num_hidden_layers as usize;
        if (0..layers).any(|l| self.is_sliding(l as i64) != fixed(l)) {
            // the field the layer types came from (see `Self::gemma3_pattern`)
            let field = match (&self.gemma3.layer_types, self.gemma3.sliding_window_pattern) {
                (Some(_), _) => "layer_types",
                (None, Some(_)) => "sliding_window_pattern",
                (None, None) => "_sliding_window_pattern",
            };
            return Err(InputError::field(
                field,
                format!("llama.cpp's Gemma 3 makes every {SLIDING_WINDOW_PATTERN}th layer global, and only those"),
            ));
        }
        let (dim, heads, head_dim) = (
            self.hidden_size as usize,
            self.num_attention_heads as usize,
            self.head_dim() as usize,
        );
        let query_scale = Gemma3Config::default_query_scale(layers, dim, heads, head_dim);
        let scale = self.attention_scale();
        if (scale - f64::from(query_scale)).abs() > 1e-6 * scale {
            return Err(InputError::field(
                "query_pre_attn_scalar",
                format!(
                    "is {} (queries scaled by {scale}), but llama.cpp's Gemma 3 scales them by {query_scale}, from the shape",
                    self.gemma3_query_pre_attn_scalar()
                ),
            ));
        }
        if self.max_position_embeddings <= 0 {
            return Err(InputError::field(
                "max_position_embeddings",
                format!("must be positive, got {}", self.max_position_embeddings),
            ));
        }
        if !positive(f64::from(self.rms_norm_eps as f32)) {
            return Err(InputError::field(
                "rms_norm_eps",
                format!(
                    "must be a positive 32-bit number, got {}",
                    self.rms_norm_eps
                ),
            ));
        }
        let (theta, factor) = self.layer_rope(false).map_err(InputError::usage)?;
        let config = Gemma3Config {
            vocab: self.vocab_size as usize,
            dim,
            layers,
            heads,
            kv_heads: self.kv_heads() as usize,
            head_dim,
            ff: self.intermediate_size as usize,
            context: self.max_position_embeddings as usize,
            rms_eps: self.rms_norm_eps as f32,
            rope_theta: theta as f32,
            rope_scale: (1.0 / factor) as f32,
            rope_theta_local: LOCAL_ROPE_THETA,
            sliding_window: self.sliding_window() as usize,
            sliding_window_pattern: SLIDING_WINDOW_PATTERN,
            query_scale,
        };
        config
            .validate()
            .map_err(|e| InputError::usage(e.to_string()))?;
        Ok(config)
    }

    /// The `config.json` of a model of shape `config` (the inverse of
    /// [`Self::llama_config`], without RoPE scaling), checked; `tie_word_embeddings`
    /// when the LM head shares the embedding. Partial RoPE (fewer rotated dimensions
    /// than the head width) has no `config.json` field and is refused.
    pub fn from_llama_config(config: &LlamaConfig, tie_word_embeddings: bool) -> Result<Self> {
        anyhow::ensure!(
            config.rope_dims == config.head_dim(),
            "llama.rope.dimension_count is {} but heads are {} wide; partial RoPE is not supported",
            config.rope_dims,
            config.head_dim()
        );
        let hf = Self {
            vocab_size: config.vocab as i64,
            hidden_size: config.dim as i64,
            intermediate_size: config.ff as i64,
            num_hidden_layers: config.layers as i64,
            num_attention_heads: config.heads as i64,
            num_key_value_heads: Some(config.kv_heads as i64),
            head_dim: Some(config.head_dim() as i64),
            rms_norm_eps: widen(config.rms_eps),
            rope_theta: widen(config.rope_theta),
            rope_scaling: None,
            rope_parameters: None,
            max_position_embeddings: config.context as i64,
            tie_word_embeddings,
            architectures: default_arch(),
            model_type: default_model_type(),
            gemma3: Gemma3Fields::default(),
        };
        hf.validate().map_err(anyhow::Error::msg)?;
        Ok(hf)
    }

    /// The `config.json` of a Gemma 3 text model of shape `config` (a GGUF's
    /// `gemma3.*` metadata): every layer's type written out, the query scale as
    /// `query_pre_attn_scalar`, linear RoPE scaling of the global layers as
    /// `rope_scaling`, the embedding tied to the output head; checked.
    pub fn from_gemma3_config(config: &Gemma3Config) -> Result<Self> {
        let layer_types = (0..config.layers)
            .map(|l| {
                if config.is_sliding(l) {
                    "sliding_attention"
                } else {
                    "full_attention"
                }
                .to_string()
            })
            .collect();
        let factor = widen(1.0 / config.rope_scale);
        let hf = Self {
            vocab_size: config.vocab as i64,
            hidden_size: config.dim as i64,
            intermediate_size: config.ff as i64,
            num_hidden_layers: config.layers as i64,
            num_attention_heads: config.heads as i64,
            num_key_value_heads: Some(config.kv_heads as i64),
            head_dim: Some(config.head_dim as i64),
            rms_norm_eps: widen(config.rms_eps),
            rope_theta: widen(config.rope_theta),
            rope_scaling: (factor != 1.0).then(|| RopeScaling {
                rope_type: "linear".into(),
                factor,
                low_freq_factor: 0.0,
                high_freq_factor: 0.0,
                original_max_position_embeddings: 0.0,
            }),
            rope_parameters: None,
            max_position_embeddings: config.context as i64,
            tie_word_embeddings: true,
            architectures: vec!["Gemma3ForCausalLM".into()],
            model_type: "gemma3_text".into(),
            gemma3: Gemma3Fields {
                // llama.cpp's scale is 1/sqrt(n) for a whole n (the head width, or
                // dim / heads at 27B): n back, exactly
                query_pre_attn_scalar: Some((1.0 / (config.query_scale as f64).powi(2)).round()),
                sliding_window: Some(config.sliding_window as i64),
                layer_types: Some(layer_types),
                rope_local_base_freq: Some(widen(config.rope_theta_local)),
                hidden_activation: Some(GEMMA3_ACTIVATION.into()),
                ..Gemma3Fields::default()
            },
        };
        hf.validate().map_err(anyhow::Error::msg)?;
        Ok(hf)
    }
}

/// A finite number above zero (NaN is not).
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

/// An f32 value as the shortest decimal that reads back to it, widened (so `1e-5`
/// stored as f32 becomes the f64 `1e-5` a `config.json` would hold).
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_llama3_config_and_rejects_bad_shapes() {
        let json = r#"{"vocab_size":128256,"hidden_size":4096,"intermediate_size":14336,
            "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
            "rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":8192,
            "tie_word_embeddings":false,"torch_dtype":"bfloat16"}"#;
        let cfg: HfConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.head_dim(), 128);
        assert_eq!(cfg.kv_heads(), 8);
        assert_eq!(cfg.theta(), 500000.0);
        let v5 = r#"{"vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
            "num_attention_heads":2,"rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3",
            "factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
            "original_max_position_embeddings":8192}}"#;
        let v5: HfConfig = serde_json::from_str(v5).unwrap();
        assert_eq!(v5.validate(), Ok(()));
        assert_eq!(v5.theta(), 500000.0);
        assert_eq!(v5.scaling().unwrap().factor, 8.0);
        let bad = HfConfig {
            num_key_value_heads: Some(5),
            ..cfg
        };
        assert!(bad.validate().unwrap_err().contains("num_key_value_heads"));
    }

    #[test]
    fn converts_to_the_gguf_shape_and_back() {
        let json = r#"{"vocab_size":128256,"hidden_size":4096,"intermediate_size":14336,
            "num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
            "rms_norm_eps":1e-5,"rope_theta":500000.0,"max_position_embeddings":8192}"#;
        let hf: HfConfig = serde_json::from_str(json).unwrap();
        let shape = hf.llama_config().unwrap();
        assert_eq!(
            shape,
            LlamaConfig {
                vocab: 128256,
                dim: 4096,
                layers: 32,
                heads: 32,
                kv_heads: 8,
                ff: 14336,
                context: 8192,
                rope_theta: 500000.0,
                rope_dims: 128,
                rms_eps: 1e-5,
            }
        );
        let back = HfConfig::from_llama_config(&shape, false).unwrap();
        assert_eq!(back.rms_norm_eps, 1e-5);
        assert_eq!(back.rope_theta, 500000.0);
        assert_eq!(back.head_dim, Some(128));
        assert_eq!(back.llama_config().unwrap(), shape);
        let partial = LlamaConfig {
            rope_dims: 64,
            ..shape
        };
        let err = HfConfig::from_llama_config(&partial, false).unwrap_err();
        assert!(err.to_string().contains("partial RoPE"), "{err}");
    }

    /// The `config.json` of Gemma 3 270M as transformers 4.5x writes it.
    fn gemma3_270m() -> serde_json::Value {
        serde_json::from_str(include_str!(
            "../../../../tests/data/hf/gemma3_270m_config.json"
        ))
        .unwrap()
    }

    #[test]
    fn reads_gemma3_configs_in_both_transformers_layouts() {
        let cfg = HfConfig::from_json(gemma3_270m()).unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.architecture(), Ok(Architecture::Gemma3));
        let global: Vec<i64> = (0..18).filter(|&l| !cfg.is_sliding(l)).collect();
        assert_eq!(global, vec![5, 11, 17]);
        assert_eq!(cfg.attention_scale(), 1.0 / 16.0);
        assert_eq!(cfg.layer_rope(false), Ok((1e6, 1.0)));
        assert_eq!(cfg.layer_rope(true), Ok((1e4, 1.0)));
        assert_eq!(
            (cfg.sliding_window(), cfg.head_dim(), cfg.kv_heads()),
            (512, 256, 1)
        );
        assert!(cfg.tie_word_embeddings);
        // written back, it reads the same
        let again = HfConfig::from_json(serde_json::to_value(&cfg).unwrap()).unwrap();
        assert_eq!(again, cfg);
        // transformers 5: per-layer-type rope_parameters, no layer_types (pattern 6)
        let v5 = serde_json::json!({
            "model_type": "gemma3_text", "vocab_size": 64, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 7, "num_attention_heads": 8,
            "query_pre_attn_scalar": 64, "sliding_window_pattern": 3,
            "rope_parameters": {
                "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}
        });
        let v5 = HfConfig::from_json(v5).unwrap();
        assert_eq!(v5.validate(), Ok(()));
        let global: Vec<i64> = (0..7).filter(|&l| !v5.is_sliding(l)).collect();
        assert_eq!(global, vec![2, 5]);
        assert_eq!(v5.layer_rope(false), Ok((1e6, 8.0)));
        assert_eq!(v5.layer_rope(true), Ok((1e4, 1.0)));
        assert_eq!(v5.attention_scale(), 0.125);
        // transformers' defaults where Gemma's differ from Llama's
        assert_eq!(
            (
                v5.rms_norm_eps,
                v5.head_dim(),
                v5.sliding_window(),
                v5.kv_heads()
            ),
            (1e-6, 256, 4096, 4)
        );
        assert!(v5.tie_word_embeddings);
        // a Llama has no sliding layer and the usual scale
        let llama: HfConfig = serde_json::from_value(serde_json::json!({
            "vocab_size": 8, "hidden_size": 64, "intermediate_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 4}))
        .unwrap();
        assert!(!llama.is_sliding(0));
        assert_eq!(llama.attention_scale(), 0.25);
    }

    #[test]
    fn a_multimodal_gemma3_config_reads_as_its_text_config() {
        let mut text = gemma3_270m();
        text.as_object_mut().unwrap().remove("model_type");
        let outer = serde_json::json!({"model_type": "gemma3", "text_config": text});
        let cfg = HfConfig::from_json(outer).unwrap();
        assert_eq!(cfg.validate(), Ok(()));
        assert_eq!(cfg.model_type, "gemma3_text");
        let bare = serde_json::json!({"model_type": "gemma3"});
        assert!(HfConfig::from_json(bare)
            .unwrap_err()
            .contains("text_config"));
    }

    #[test]
    fn what_the_trainer_would_get_wrong_is_refused() {
        let refused = |key: &str, value: serde_json::Value, expect: &str| {
            let mut json = gemma3_270m();
            json.as_object_mut().unwrap().insert(key.into(), value);
            let err = HfConfig::from_json(json)
                .and_then(|c| c.validate())
                .unwrap_err();
            assert!(err.contains(expect), "{key}: {err}");
        };
        refused(
            "final_logit_softcapping",
            30.0.into(),
            "final_logit_softcapping",
        );
        refused(
            "attn_logit_softcapping",
            50.0.into(),
            "attn_logit_softcapping",
        );
        refused("attention_bias", true.into(), "attention_bias");
        refused("hidden_activation", "gelu".into(), "gelu_pytorch_tanh");
        refused(
            "layer_types",
            serde_json::json!(["full_attention"]),
            "1 entries for 18",
        );
        refused(
            "rope_scaling",
            serde_json::json!({"rope_type": "yarn", "factor": 4.0}),
            "linear",
        );
        refused("model_type", "qwen2".into(), "`qwen2` is not supported");
        // a Llama's scaling must be a complete llama3 one
        let llama = serde_json::json!({"vocab_size": 8, "hidden_size": 8,
            "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
            "rope_scaling": {"rope_type": "linear", "factor": 2.0}});
        let llama: HfConfig = serde_json::from_value(llama).unwrap();
        assert!(llama.validate().unwrap_err().contains("llama3"));
    }

    #[test]
    fn a_gemma3_config_is_the_gguf_shape_and_back() {
        let reference = HfConfig::from_json(gemma3_270m()).unwrap();
        let shape = reference.gemma3_config().unwrap();
        assert_eq!(
            shape,
            Gemma3Config {
                vocab: 262144,
                dim: 640,
                layers: 18,
                heads: 4,
                kv_heads: 1,
                head_dim: 256,
                ff: 2048,
                context: 32768,
                rms_eps: 1e-6,
                rope_theta: 1e6,
                rope_scale: 1.0,
                rope_theta_local: LOCAL_ROPE_THETA,
                sliding_window: 512,
                sliding_window_pattern: SLIDING_WINDOW_PATTERN,
                query_scale: 1.0 / 16.0,
            }
        );
        let hf = HfConfig::from_gemma3_config(&shape).unwrap();
        for l in 0..18 {
            assert_eq!(hf.is_sliding(l), reference.is_sliding(l), "layer {l}");
        }
        assert_eq!(hf.attention_scale(), reference.attention_scale());
        assert_eq!(hf.layer_rope(false), reference.layer_rope(false));
        assert_eq!(hf.layer_rope(true), reference.layer_rope(true));
        assert_eq!(hf.rms_norm_eps, 1e-6);
        assert_eq!(
            (hf.head_dim(), hf.kv_heads(), hf.sliding_window()),
            (256, 1, 512)
        );
        assert_eq!(hf.gemma3_config().unwrap(), shape);
        let scaled = Gemma3Config {
            rope_scale: 0.125,
            ..shape
        };
        let hf = HfConfig::from_gemma3_config(&scaled).unwrap();
        assert_eq!(hf.layer_rope(false), Ok((1e6, 8.0)));
        assert_eq!(hf.layer_rope(true), Ok((1e4, 1.0)));
        assert_eq!(hf.gemma3_config().unwrap(), scaled);
    }

    #[test]
    fn what_a_gemma3_gguf_cannot_express_is_refused_naming_the_field() {
        let refused = |edit: serde_json::Value, field: &str| {
            let mut json = gemma3_270m();
            for (key, value) in edit.as_object().unwrap() {
                json[key] = value.clone();
            }
            let err = HfConfig::from_json(json)
                .unwrap()
                .gemma3_config()
                .unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{err}");
        };
        refused(
            serde_json::json!({"rope_local_base_freq": 20000.0}),
            "rope_local_base_freq",
        );
        let v5_rope = serde_json::json!({"rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e5}}});
        refused(v5_rope, "rope_parameters.sliding_attention.rope_theta");
        let mut types = gemma3_270m()["layer_types"].clone();
        types[0] = "full_attention".into();
        refused(serde_json::json!({"layer_types": types}), "layer_types");
        let pattern = serde_json::json!({"layer_types": null, "sliding_window_pattern": 4});
        refused(pattern, "sliding_window_pattern");
        let saved = serde_json::json!({"layer_types": null, "_sliding_window_pattern": 4});
        refused(saved, "_sliding_window_pattern");
        refused(
            serde_json::json!({"query_pre_attn_scalar": 128}),
            "query_pre_attn_scalar",
        );
        refused(
            serde_json::json!({"max_position_embeddings": 0}),
            "max_position_embeddings",
        );
        refused(serde_json::json!({"rms_norm_eps": 1e-50}), "rms_norm_eps");
        let llama: HfConfig = serde_json::from_value(serde_json::json!({
            "vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
            "num_hidden_layers": 1, "num_attention_heads": 2}))
        .unwrap();
        let err = llama.gemma3_config().unwrap_err();
        assert_eq!(err.field.as_deref(), Some("model_type"), "{err}");
        // what the trainer refuses too is refused once, by `validate`
        let mut capped = gemma3_270m();
        capped["final_logit_softcapping"] = 30.0.into();
        let err = HfConfig::from_json(capped)
            .unwrap()
            .gemma3_config()
            .unwrap_err();
        assert!(err.message.contains("`final_logit_softcapping`"), "{err}");
    }
}
