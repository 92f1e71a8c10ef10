//! Llama tensor names between Hugging Face (`model.layers.0.self_attn.q_proj.weight`)
//! and GGUF (`blk.0.attn_q.weight`), and llama.cpp's row permutation of the query and
//! key projections, both directions.
//!
//! llama.cpp's `convert_hf_to_gguf.py` rotates adjacent pairs in RoPE, while HF's
//! `rotate_half` pairs dimension `i` with `i + head_dim / 2`. The converter therefore
//! reorders the rows of `q_proj` (per query head) and `k_proj` (per key/value head):
//! viewed as `[heads, 2, head_dim / 2, cols]`, the two middle axes are swapped. So
//! GGUF row `h * head_dim + 2 * i + j` holds HF row `h * head_dim + j * head_dim / 2 + i`.

/// The per-layer tensors: (GGUF suffix after `blk.N.`, HF suffix after `model.layers.N.`).
const LAYER_NAMES: [(&str, &str); 9] = [
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

/// The model-wide tensors: (GGUF name, HF name).
const GLOBAL_NAMES: [(&str, &str); 3] = [
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
];

/// llama.cpp's Llama 3.1 RoPE frequency divisors; HF has no tensor for them (it
/// derives them from `rope_scaling` in `config.json`).
pub const ROPE_FREQS: &str = "rope_freqs.weight";

/// The HF name of a GGUF Llama tensor (`None` for `rope_freqs.weight` and unknown names).
pub fn hf_name(gguf: &str) -> Option<String> {
    if let Some((_, hf)) = GLOBAL_NAMES.iter().find(|(g, _)| *g == gguf) {
        return Some((*hf).to_string());
    }
    let (layer, suffix) = split_layer(gguf, "blk.")?;
    let (_, hf) = LAYER_NAMES.iter().find(|(g, _)| *g == suffix)?;
    Some(format!("model.layers.{layer}.{hf}"))
}

/// The GGUF name of a HF Llama tensor (`None` for unknown names).
pub fn gguf_name(hf: &str) -> Option<String> {
    if let Some((g, _)) = GLOBAL_NAMES.iter().find(|(_, h)| *h == hf) {
        return Some((*g).to_string());
    }
    let (layer, suffix) = split_layer(hf, "model.layers.")?;
    let (g, _) = LAYER_NAMES.iter().find(|(_, h)| *h == suffix)?;
    Some(format!("blk.{layer}.{g}"))
}

/// `prefix` + decimal layer + `.` + rest → (layer, rest) (shared with [`super::gemma3_names`]).
pub(super) fn split_layer<'a>(name: &'a str, prefix: &str) -> Option<(u32, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (layer, suffix) = rest.split_once('.')?;
    let canonical = !layer.is_empty() && (layer == "0" || !layer.starts_with('0'));
    canonical.then_some(())?;
    Some((layer.parse().ok()?, suffix))
}

/// How many heads the rows of the HF tensor `hf` are permuted by (query heads for
/// `q_proj`, key/value heads for `k_proj`), or `None` when it is stored unchanged.
pub fn permuted_heads(hf: &str, heads: usize, kv_heads: usize) -> Option<usize> {
    if hf.ends_with(".self_attn.q_proj.weight") {
        Some(heads)
    } else if hf.ends_with(".self_attn.k_proj.weight") {
        Some(kv_heads)
    } else {
        None
    }
}

/// Why rows cannot be permuted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot permute {len} values as {rows} rows of {cols} for {heads} RoPE heads: rows must be a multiple of 2 × heads")]
pub struct PermuteError {
    len: usize,
    rows: usize,
    cols: usize,
    heads: usize,
}

/// Which way rows move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    HfToGguf,
    GgufToHf,
}

fn permute<T: Copy>(
    data: &[T],
    cols: usize,
    heads: usize,
    direction: Direction,
) -> Result<Vec<T>, PermuteError> {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    let err = PermuteError {
        len: data.len(),
        rows,
        cols,
        heads,
    };
    if cols == 0 || heads == 0 || rows * cols != data.len() || !rows.is_multiple_of(2 * heads) {
        return Err(err);
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut out = Vec::with_capacity(data.len());
    for row in 0..rows {
        let (h, r) = (row / head_dim, row % head_dim);
        let source = match direction {
            // GGUF row h·hd + 2i + j comes from HF row h·hd + j·half + i.
            Direction::HfToGguf => h * head_dim + (r % 2) * half + r / 2,
            // HF row h·hd + j·half + i comes from GGUF row h·hd + 2i + j.
            Direction::GgufToHf => h * head_dim + 2 * (r % half) + r / half,
        };
        out.extend_from_slice(&data[source * cols..(source + 1) * cols]);
    }
    Ok(out)
}

/// Reorder HF `q_proj`/`k_proj` rows (row-major, `cols` per row) into llama.cpp's
/// layout, as `convert_hf_to_gguf.py`'s `permute(weights, n_head, n_head_kv)` does.
pub fn permute_for_gguf<T: Copy>(
    data: &[T],
    cols: usize,
    heads: usize,
) -> Result<Vec<T>, PermuteError> {
    permute(data, cols, heads, Direction::HfToGguf)
}

/// Undo [`permute_for_gguf`]: llama.cpp's `attn_q`/`attn_k` rows back into HF order.
pub fn unpermute_from_gguf<T: Copy>(
    data: &[T],
    cols: usize,
    heads: usize,
) -> Result<Vec<T>, PermuteError> {
    permute(data, cols, heads, Direction::GgufToHf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn permutation_matches_the_converters_reshape_swapaxes() {
        // One head of width 8, one column: numpy's
        // np.arange(8).reshape(1, 2, 4, 1).swapaxes(1, 2).reshape(8) = [0, 4, 1, 5, 2, 6, 3, 7].
        let hf: Vec<u32> = (0..8).collect();
        assert_eq!(
            permute_for_gguf(&hf, 1, 1).unwrap(),
            vec![0, 4, 1, 5, 2, 6, 3, 7]
        );
        // two heads of width 4, two columns: each head's rows [a, b, c, d] → [a, c, b, d].
        let hf: Vec<u32> = (0..16).collect();
        let rows: Vec<u32> = permute_for_gguf(&hf, 2, 2)
            .unwrap()
            .chunks(2)
            .map(|r| r[0] / 2)
            .collect();
        assert_eq!(rows, vec![0, 2, 1, 3, 4, 6, 5, 7]);
        assert!(permute_for_gguf(&hf, 2, 3).is_err());
        assert!(unpermute_from_gguf(&hf, 0, 1).is_err());
    }

    #[test]
    fn names_map_both_ways_and_refuse_strangers() {
        assert_eq!(
            hf_name("blk.12.attn_q.weight").unwrap(),
            "model.layers.12.self_attn.q_proj.weight"
        );
        assert_eq!(hf_name("output.weight").unwrap(), "lm_head.weight");
        assert_eq!(hf_name(ROPE_FREQS), None);
        assert_eq!(hf_name("blk.01.attn_q.weight"), None);
        assert_eq!(hf_name("blk.x.attn_q.weight"), None);
        assert_eq!(
            gguf_name("model.layers.3.post_attention_layernorm.weight").unwrap(),
            "blk.3.ffn_norm.weight"
        );
        assert_eq!(gguf_name("model.layers.3.mlp.act.weight"), None);
        assert_eq!(
            permuted_heads("model.layers.0.self_attn.k_proj.weight", 32, 8),
            Some(8)
        );
        assert_eq!(
            permuted_heads("model.layers.0.self_attn.v_proj.weight", 32, 8),
            None
        );
    }

    proptest! {
        #[test]
        fn every_name_round_trips(layer in 0u32..10_000, which in 0usize..12) {
            let hf = if which < GLOBAL_NAMES.len() {
                GLOBAL_NAMES[which].1.to_string()
            } else {
                format!("model.layers.{layer}.{}", LAYER_NAMES[which - GLOBAL_NAMES.len()].1)
            };
            let gguf = gguf_name(&hf).unwrap();
            prop_assert_eq!(hf_name(&gguf).unwrap(), hf);
        }

        #[test]
        fn permutation_round_trips_and_moves_rows_whole(
            heads in 1usize..6, half in 1usize..9, cols in 1usize..5, seed in any::<u32>()
        ) {
            let n = heads * 2 * half * cols;
            let data: Vec<u32> = (0..n as u32).map(|v| v.wrapping_mul(seed | 1)).collect();
            let gguf = permute_for_gguf(&data, cols, heads).unwrap();
            prop_assert_eq!(&unpermute_from_gguf(&gguf, cols, heads).unwrap(), &data);
            let hf_rows: Vec<&[u32]> = data.chunks(cols).collect();
            for row in gguf.chunks(cols) {
                prop_assert!(hf_rows.contains(&row));
            }
        }
    }
}
