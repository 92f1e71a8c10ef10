//! Prefill of K-quant weights on CPUs with AVX-512 VNNI: a few weight rows are
//! decoded once into bytes and then meet every [`Q8kPanel`] of the batch, sixteen
//! tokens at a time, one token per lane ([`super::q4_k::panel_avx512`],
//! [`super::q6_k::panel_avx512`]).

use super::q4_k::Q4kDecoded;
use super::q6_k::Q6kDecoded;
use super::{Isa, Q8kPanel, WeightType, PANEL, Q4K_BLOCK_BYTES, Q6K_BLOCK_BYTES};

/// Weight rows one panel kernel call multiplies: each activation load serves them all.
const ROWS: usize = 4;

/// Whether [`dot_panel_rows`] has a kernel for `ty` under `isa`.
pub fn has_panel_kernel(isa: Isa, ty: WeightType) -> bool {
    isa == Isa::Avx512 && matches!(ty, WeightType::Q4K | WeightType::Q6K)
}

/// For each whole weight row `i` in `rows` (consecutive rows of `ty`) and the tokens
/// of each of the `panels` (panel `p` holds tokens `PANEL·p ..`, every panel full but
/// the last): `store(t, i0, values)` with `values[k]` = row `i0 + k` · token `t`, each
/// bit-identical to [`super::vec_dot_in`] of that row and token placed in its batch.
/// Q6_K needs a tiled batch (8 tokens or more). Needs [`has_panel_kernel`]`(isa, ty)`.
pub fn dot_panel_rows(
    isa: Isa,
    ty: WeightType,
    rows: &[u8],
    panels: &[Q8kPanel],
    store: impl FnMut(usize, usize, &[f32]),
) {
    assert!(
        has_panel_kernel(isa, ty),
        "no {isa:?} panel kernel for {ty:?}"
    );
    assert!(
        Isa::Avx512.is_supported(),
        "AVX-512 kernels requested on a CPU without AVX-512 F/BW/VL/VNNI"
    );
    assert!(
        panels.iter().rev().skip(1).all(|p| p.len() == PANEL),
        "only the last panel may be partial"
    );
    match ty {
        WeightType::Q4K => multiply::<Q4kDecoded>(rows, panels, store),
        _ => multiply::<Q6kDecoded>(rows, panels, store),
    }
}

/// A K-quant super-block decoded for a panel kernel.
trait PanelBlock: Copy {
    /// Bytes of the encoded super-block.
    const BLOCK_BYTES: usize;

    /// Decodes one super-block.
    fn decode(block: &[u8]) -> Self;

    /// `out[r][t]` = decoded row `r` · token `t` of `panel`.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F/BW/VL/VNNI, AVX2, FMA and F16C; every row holds
    /// `panel.blocks()` blocks.
    unsafe fn panel<const R: usize>(
        rows: [&[Self]; R],
        panel: &Q8kPanel,
        out: &mut [[f32; PANEL]; R],
    );
}

impl PanelBlock for Q4kDecoded {
    const BLOCK_BYTES: usize = Q4K_BLOCK_BYTES;

    fn decode(block: &[u8]) -> Self {
        Q4kDecoded::new(block)
    }

    unsafe fn panel<const R: usize>(
        rows: [&[Self]; R],
        panel: &Q8kPanel,
        out: &mut [[f32; PANEL]; R],
    ) {
        #[cfg(target_arch = "x86_64")]
        super::q4_k::panel_avx512::<R>(rows, panel, out);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (rows, panel, out);
            panic!("AVX-512 kernels requested on a non-x86-64 CPU")
        }
    }
}

impl PanelBlock for Q6kDecoded {
    const BLOCK_BYTES: usize = Q6K_BLOCK_BYTES;

    fn decode(block: &[u8]) -> Self {
        Q6kDecoded::new(block)
    }

    unsafe fn panel<const R: usize>(
        rows: [&[Self]; R],
        panel: &Q8kPanel,
        out: &mut [[f32; PANEL]; R],
    ) {
        #[cfg(target_arch = "x86_64")]
        super::q6_k::panel_avx512::<R>(rows, panel, out);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (rows, panel, out);
            panic!("AVX-512 kernels requested on a non-x86-64 CPU")
        }
    }
}

/// [`dot_panel_rows`] for one block type: [`ROWS`] rows at a time are decoded, then
/// pass every panel.
fn multiply<B: PanelBlock>(
    rows: &[u8],
    panels: &[Q8kPanel],
    mut store: impl FnMut(usize, usize, &[f32]),
) {
    let Some(first) = panels.first() else {
        return;
    };
    let row_bytes = first.blocks() * B::BLOCK_BYTES;
    assert!(
        row_bytes > 0 && rows.len().is_multiple_of(row_bytes),
        "weight rows do not match the panel width"
    );
    let mut decoded: Vec<B> = Vec::with_capacity(ROWS * first.blocks());
    for (g, group) in rows.chunks(ROWS * row_bytes).enumerate() {
        decoded.clear();
        decoded.extend(group.chunks_exact(B::BLOCK_BYTES).map(B::decode));
        let mut store = |t: usize, r0: usize, values: &[f32]| store(t, g * ROWS + r0, values);
        match group.len() / row_bytes {
            1 => group_times_panels::<B, 1>(&decoded, panels, &mut store),
            2 => group_times_panels::<B, 2>(&decoded, panels, &mut store),
            3 => group_times_panels::<B, 3>(&decoded, panels, &mut store),
            _ => group_times_panels::<B, ROWS>(&decoded, panels, &mut store),
        }
    }
}

/// `R` decoded rows (`decoded`, row after row) × every panel, handed to `store` as
/// `(token, first row, the R rows' values)`.
fn group_times_panels<B: PanelBlock, const R: usize>(
    decoded: &[B],
    panels: &[Q8kPanel],
    store: &mut impl FnMut(usize, usize, &[f32]),
) {
    let blocks = decoded.len() / R;
    let rows: [&[B]; R] = std::array::from_fn(|r| &decoded[r * blocks..(r + 1) * blocks]);
    let mut results = [[0.0f32; PANEL]; R];
    for (p, panel) in panels.iter().enumerate() {
        // SAFETY: `dot_panel_rows` checked the CPU; each row holds the panel's blocks.
        unsafe { B::panel::<R>(rows, panel, &mut results) };
        let by_token: [[f32; R]; PANEL] = std::array::from_fn(|t| results.map(|row| row[t]));
        for (t, values) in by_token.iter().enumerate().take(panel.len()) {
            store(p * PANEL + t, 0, values);
        }
    }
}
