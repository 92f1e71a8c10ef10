//! Gemma 3 tensor names between Hugging Face (`model.layers.0.self_attn.q_norm.weight`)
//! and GGUF (`blk.0.attn_q_norm.weight`), and the one value change llama.cpp's
//! `convert_hf_to_gguf.py` makes on the way: HF's `Gemma3RMSNorm` multiplies by
//! `1 + weight`, so every GGUF norm weight holds the HF weight plus [`NORM_SHIFT`]
//! (llama.cpp then multiplies by the stored weight as for any RMSNorm). Gemma's
//! RoPE rotates halves in both (`rotate_half`, llama.cpp's NEOX mode): no row
//! permutation, unlike Llama's ([`super::llama_names`]). The output head is tied to
//! the token embeddings: there is no `output.weight` / `lm_head.weight`.

/// What `convert_hf_to_gguf.py` adds to every Gemma 3 norm weight.
pub const NORM_SHIFT: f32 = 1.0;

/// The per-layer tensors: (GGUF suffix after `blk.N.`, HF suffix after `model.layers.N.`).
const LAYER_NAMES: [(&str, &str); 13] = [
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("attn_q_norm.weight", "self_attn.q_norm.weight"),
    ("attn_k_norm.weight", "self_attn.k_norm.weight"),
    (
        "post_attention_norm.weight",
        "post_attention_layernorm.weight",
    ),
    ("ffn_norm.weight", "pre_feedforward_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
    ("post_ffw_norm.weight", "post_feedforward_layernorm.weight"),
];

/// The model-wide tensors: (GGUF name, HF name).
const GLOBAL_NAMES: [(&str, &str); 2] = [
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
];

/// The HF name of a GGUF Gemma 3 tensor (`None` for unknown names).
pub fn hf_name(gguf: &str) -> Option<String> {
    if let Some((_, hf)) = GLOBAL_NAMES.iter().find(|(g, _)| *g == gguf) {
        return Some((*hf).to_string());
    }
    let (layer, suffix) = super::llama_names::split_layer(gguf, "blk.")?;
    let (_, hf) = LAYER_NAMES.iter().find(|(g, _)| *g == suffix)?;
    Some(format!("model.layers.{layer}.{hf}"))
}

/// The GGUF name of a HF Gemma 3 tensor (`None` for unknown names).
pub fn gguf_name(hf: &str) -> Option<String> {
    if let Some((g, _)) = GLOBAL_NAMES.iter().find(|(_, h)| *h == hf) {
        return Some((*g).to_string());
    }
    let (layer, suffix) = super::llama_names::split_layer(hf, "model.layers.")?;
    let (g, _) = LAYER_NAMES.iter().find(|(_, h)| *h == suffix)?;
    Some(format!("blk.{layer}.{g}"))
}

/// True for the norm weights, whose GGUF values are the HF values + [`NORM_SHIFT`]
/// (takes either name).
pub fn is_shifted_norm(name: &str) -> bool {
    name.ends_with("norm.weight")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_norms_are_the_shifted_ones() {
        for layer in [0, 17] {
            for (g, h) in LAYER_NAMES {
                let (g, h) = (
                    format!("blk.{layer}.{g}"),
                    format!("model.layers.{layer}.{h}"),
                );
                assert_eq!(hf_name(&g).as_deref(), Some(h.as_str()));
                assert_eq!(gguf_name(&h).as_deref(), Some(g.as_str()));
                assert_eq!(is_shifted_norm(&g), is_shifted_norm(&h), "{g}");
            }
        }
        assert_eq!(
            hf_name("output_norm.weight").as_deref(),
            Some("model.norm.weight")
        );
        assert!(is_shifted_norm("blk.3.attn_k_norm.weight"));
        assert!(!is_shifted_norm("blk.3.attn_k.weight"));
        assert_eq!(hf_name("output.weight"), None);
        assert_eq!(gguf_name("lm_head.weight"), None);
        assert_eq!(hf_name("blk.01.attn_q.weight"), None);
    }
}
