use proptest::prelude::*;

use super::*;
use okla_formats::quant::QuantType;

/// Random but well-formed weight rows of `ty` with `blocks` blocks: arbitrary quant
/// bytes with finite, moderate f16 scales.
fn weight_row(ty: WeightType, cols: usize, bytes: &[u8], scales: &[f32]) -> Vec<u8> {
    let n = ty.row_bytes(cols).unwrap();
    let mut row: Vec<u8> = bytes.iter().cycle().take(n).copied().collect();
    let f16 = |v: f32| half::f16::from_f32(v).to_le_bytes();
    let mut s = scales.iter().cycle();
    match ty {
        WeightType::F32 => {
            for o in row.chunks_exact_mut(4) {
                o.copy_from_slice(&s.next().unwrap().to_le_bytes());
            }
        }
        WeightType::F16 => {
            for o in row.chunks_exact_mut(2) {
                o.copy_from_slice(&f16(*s.next().unwrap()));
            }
        }
        WeightType::Q8_0 => {
            for b in row.chunks_exact_mut(Q8_0_BLOCK_BYTES) {
                b[..2].copy_from_slice(&f16(*s.next().unwrap()));
                for q in &mut b[2..] {
                    if *q == 0x80 {
                        *q = 0x81;
                    }
                }
            }
        }
        WeightType::Q5_0 => {
            for b in row.chunks_exact_mut(Q5_0_BLOCK_BYTES) {
                b[..2].copy_from_slice(&f16(*s.next().unwrap()));
            }
        }
        WeightType::Q4K => {
            for b in row.chunks_exact_mut(Q4K_BLOCK_BYTES) {
                b[..2].copy_from_slice(&f16(*s.next().unwrap()));
                b[2..4].copy_from_slice(&f16(s.next().unwrap().abs()));
            }
        }
        WeightType::Q6K => {
            for b in row.chunks_exact_mut(Q6K_BLOCK_BYTES) {
                b[208..].copy_from_slice(&f16(*s.next().unwrap()));
            }
        }
    }
    row
}

/// Every way a row can sit in a batch.
const BATCHINGS: [Batching; 4] = [
    Batching {
        group_of_four: false,
        tiled: false,
    },
    Batching {
        group_of_four: true,
        tiled: false,
    },
    Batching {
        group_of_four: true,
        tiled: true,
    },
    Batching {
        group_of_four: false,
        tiled: true,
    },
];

fn close(a: f32, b: f32, scale: f32) -> bool {
    (a - b).abs() <= 1e-4 * scale.max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The AVX2 kernels equal their scalar twins on arbitrary blocks.
    #[test]
    fn avx2_matches_scalar(
        blocks in 1usize..4,
        bytes in proptest::collection::vec(any::<u8>(), 64..700),
        scales in proptest::collection::vec(-0.1f32..0.1, 1..16),
        x in proptest::collection::vec(-4.0f32..4.0, 1..300),
    ) {
        if !Isa::Avx2.is_supported() {
            eprintln!("skipping: this CPU has no AVX2/FMA/F16C");
            return Ok(());
        }
        let cols = blocks * QK_K;
        let xs: Vec<f32> = x.iter().cycle().take(cols).copied().collect();
        for ty in WeightType::ALL {
            let w = weight_row(ty, cols, &bytes, &scales);
            let acts = ActivationRows::quantize(ty.activation(), &xs, cols);
            let scalar = vec_dot(Isa::Scalar, ty, &w, acts.row(0));
            let simd = vec_dot(Isa::Avx2, ty, &w, acts.row(0));
            let magnitude: f32 = xs.iter().map(|v| v.abs()).sum::<f32>();
            prop_assert!(close(scalar, simd, magnitude), "{ty:?}: scalar {scalar} vs avx2 {simd}");
            if matches!(ty, WeightType::Q4K | WeightType::Q6K) {
                // Both reproduce ggml's float order exactly, so they agree to the bit.
                for batching in BATCHINGS {
                    let scalar = vec_dot_in(Isa::Scalar, ty, &w, acts.row(0), batching);
                    let simd = vec_dot_in(Isa::Avx2, ty, &w, acts.row(0), batching);
                    prop_assert_eq!(scalar.to_bits(), simd.to_bits(), "{:?} {:?}", ty, batching);
                }
            }
        }
    }
}

/// A cross-ISA kernel case: a weight row of `cols` columns made from `bytes` and
/// `scales` (see [`weight_row`]) against `tokens` activation rows, `xs` in token order.
#[derive(Debug, Clone)]
struct TokenRows {
    cols: usize,
    tokens: usize,
    bytes: Vec<u8>,
    scales: Vec<f32>,
    xs: Vec<f32>,
}

prop_compose! {
    /// One to three super-blocks against one to a whole tile of tokens.
    fn token_rows()(
        blocks in 1usize..4,
        tokens in 1usize..=TILE,
        bytes in proptest::collection::vec(any::<u8>(), 64..700),
        scales in proptest::collection::vec(-0.1f32..0.1, 1..16),
        x in proptest::collection::vec(-4.0f32..4.0, 1..300),
    ) -> TokenRows {
        let cols = blocks * QK_K;
        let xs = x.iter().cycle().take(cols * tokens).copied().collect();
        TokenRows { cols, tokens, bytes, scales, xs }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The AVX-512 kernels give the AVX2 kernels' results bit for bit in every batch
    /// placement (GEMM or GEMV order, tiled matmul or not), one token at a time.
    #[test]
    fn avx512_matches_avx2_bit_for_bit(
        case in token_rows(),
    ) {
        let TokenRows { cols, tokens, bytes, scales, xs } = case;
        if !Isa::Avx512.is_supported() {
            eprintln!("skipping: this CPU has no AVX-512 F/BW/VL/VNNI");
            return Ok(());
        }
        for ty in WeightType::ALL {
            let w = weight_row(ty, cols, &bytes, &scales);
            let acts = ActivationRows::quantize(ty.activation(), &xs, cols);
            for batching in BATCHINGS {
                let dot = |isa, t| vec_dot_in(isa, ty, &w, acts.row(t), batching);
                let avx2: Vec<f32> = (0..tokens).map(|t| dot(Isa::Avx2, t)).collect();
                let avx512: Vec<f32> = (0..tokens).map(|t| dot(Isa::Avx512, t)).collect();
                prop_assert_eq!(&avx2, &avx512, "{:?} vec_dot {:?}", ty, batching);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The tile kernels of every ISA this CPU runs give the AVX2 kernel's results bit
    /// for bit, in tiles of every size and grouping, in a batch below and one at
    /// ggml's tiled-matmul size.
    #[test]
    fn tile_kernels_match_the_avx2_twin_bit_for_bit(
        case in token_rows(),
    ) {
        let TokenRows { cols, tokens, bytes, scales, xs } = case;
        if !Isa::Avx2.is_supported() {
            eprintln!("skipping: this CPU has no AVX2/FMA/F16C");
            return Ok(());
        }
        let isas = [Isa::Avx2, Isa::Avx512].into_iter().filter(|i| i.is_supported());
        for (isa, ty) in isas.flat_map(|isa| WeightType::ALL.map(|ty| (isa, ty))) {
            if !has_tile_kernel(isa, ty) {
                continue;
            }
            let w = weight_row(ty, cols, &bytes, &scales);
            let acts = ActivationRows::quantize(ty.activation(), &xs, cols);
            // Lanes below `split` grouped, the rest alone.
            for (split, tiled) in (0..=tokens).flat_map(|s| [(s, false), (s, true)]) {
                let rows: Vec<&[u8]> = (0..tokens).map(|t| acts.row(t)).collect();
                let placed: Vec<Batching> = (0..tokens)
                    .map(|t| Batching { group_of_four: t < split, tiled })
                    .collect();
                let mut out = vec![0.0f32; tokens];
                let tile = Q8kTile::new(&rows, &placed);
                dot_tile_rows(isa, ty, &w, &tile, &mut out, 1);
                let avx2: Vec<f32> = (0..tokens)
                    .map(|t| vec_dot_in(Isa::Avx2, ty, &w, acts.row(t), placed[t]))
                    .collect();
                prop_assert_eq!(&avx2, &out, "{:?} {:?} tile of {} split {} tiled {}", isa, ty, tokens, split, tiled);
            }
        }
    }
}

/// Q8_K blocks carry the sums of their quants and a scale that maps the largest
/// magnitude to ±127.
#[test]
fn q8k_block_layout() {
    let x: Vec<f32> = (0..256).map(|i| (i as f32 - 100.0) / 10.0).collect();
    let acts = ActivationRows::quantize(ActivationType::Q8K, &x, 256);
    let b = acts.row(0);
    let d = f32::from_le_bytes(b[..4].try_into().unwrap());
    assert!((d - (-15.5 / 127.0)).abs() < 1e-6, "d = {d}");
    let qs: Vec<i32> = b[4..260].iter().map(|&q| q as i8 as i32).collect();
    assert_eq!(qs[255], -127);
    for g in 0..16 {
        let bsum = i16::from_le_bytes([b[260 + 2 * g], b[261 + 2 * g]]) as i32;
        assert_eq!(bsum, qs[16 * g..16 * g + 16].iter().sum::<i32>());
    }
    for (q, v) in qs.iter().zip(&x) {
        assert!((*q as f32 * d - v).abs() <= d.abs() / 2.0 + 1e-6);
    }
}

/// A batched matmul (tiles, full and partial, where the ISA has them) gives, whatever
/// the pool size, exactly the dot products of each token placed in its batch as
/// [`Batching::of`] says, for a batch below and one above ggml's tiled-matmul size.
#[test]
fn matmul_follows_ggml_grouping_and_is_thread_invariant() {
    for tokens in [6, TILE + 5, 2 * PANEL + TILE] {
        check_matmul_batch(tokens);
    }
}

/// [`matmul_follows_ggml_grouping_and_is_thread_invariant`] for a batch of `tokens`.
fn check_matmul_batch(tokens: usize) {
    let (rows, cols) = (37, 512);
    let bytes: Vec<u8> = (0..997u32).map(|i| (i * 7919 % 251) as u8).collect();
    let scales = [0.01f32, -0.02, 0.03];
    let x: Vec<f32> = (0..tokens * cols)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    for ty in WeightType::ALL {
        let data: Vec<u8> = (0..rows)
            .flat_map(|r| weight_row(ty, cols, &bytes[r..], &scales))
            .collect();
        let w = Matrix {
            ty,
            rows,
            cols,
            data: &data,
        };
        let acts = ActivationRows::quantize(ty.activation(), &x, cols);
        let isa = Isa::detect();
        assert_eq!(
            has_tile_kernel(isa, ty),
            isa != Isa::Scalar && matches!(ty, WeightType::Q4K | WeightType::Q6K)
        );
        let run = |threads: usize, acts: &ActivationRows| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = vec![0.0; acts.rows() * rows];
            pool.install(|| matmul(isa, &w, acts, &mut out));
            out
        };
        let batched = run(3, &acts);
        assert_eq!(
            batched,
            run(1, &acts),
            "{ty:?}: thread count changed results"
        );
        for t in 0..tokens {
            let one = ActivationRows::quantize(ty.activation(), &x[t * cols..(t + 1) * cols], cols);
            let expected: Vec<f32> = (0..rows)
                .map(|r| vec_dot_in(isa, ty, w.row(r), one.row(0), Batching::of(t, tokens)))
                .collect();
            assert_eq!(
                &batched[t * rows..(t + 1) * rows],
                &expected[..],
                "{ty:?} token {t}"
            );
        }
    }
}

/// The activation codec of `ty` in the quant module (to dequantize activations).
fn activation_codec(ty: ActivationType) -> QuantType {
    match ty {
        ActivationType::F32 => QuantType::F32,
        ActivationType::F16 => QuantType::F16,
        ActivationType::Q8_0 => QuantType::Q8_0,
        ActivationType::Q8K => QuantType::Q8K,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every kernel (scalar and AVX2) equals the f64 dot product of the dequantized
    /// weights with the dequantized activations.
    #[test]
    fn kernels_match_dequantize_then_dot(
        w in proptest::collection::vec(-1.0f32..1.0, 512),
        x in proptest::collection::vec(-3.0f32..3.0, 512),
    ) {
        for ty in WeightType::ALL {
            let codec = ty.quant_type();
            let mut wq = vec![0u8; ty.row_bytes(512).unwrap()];
            codec.quantize_row(&w, &mut wq).unwrap();
            let mut wd = vec![0.0f32; 512];
            codec.dequantize_row(&wq, &mut wd).unwrap();
            let acts = ActivationRows::quantize(ty.activation(), &x, 512);
            let mut xd = vec![0.0f32; 512];
            activation_codec(ty.activation()).dequantize_row(acts.row(0), &mut xd).unwrap();
            let expected: f64 = wd.iter().zip(&xd).map(|(a, b)| *a as f64 * *b as f64).sum();
            let scale: f64 = wd.iter().zip(&xd).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
            let isas = [Isa::Scalar, Isa::Avx2, Isa::Avx512].into_iter().filter(|i| i.is_supported());
            for (isa, batching) in isas.flat_map(|i| BATCHINGS.map(|b| (i, b))) {
                let got = vec_dot_in(isa, ty, &wq, acts.row(0), batching) as f64;
                prop_assert!(
                    (got - expected).abs() <= 1e-5 * scale + 1e-5,
                    "{ty:?} {isa:?}: {got} vs {expected}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The AVX-512 and AVX2 attention products give the scalar lane-order results bit for bit,
    /// for batched and single-token order, any head width and any number of positions.
    #[test]
    fn attention_simd_matches_scalar_bit_for_bit(
        hd in 1usize..80,
        len in 1usize..140,
        pad in 0usize..3,
        seed in proptest::collection::vec(-2.0f32..2.0, 32),
    ) {
        let stride = 2 * (hd + pad);
        let value = |i: usize| seed[i % 32] * ((i % 7) as f32 - 3.0);
        let cache: Vec<u8> = (0..len * (hd + pad))
            .flat_map(|i| half::f16::from_f32(value(i)).to_le_bytes())
            .collect();
        let q: Vec<f32> = (0..hd).map(|i| half::f16::from_f32(value(i + 5)).to_f32()).collect();
        let p: Vec<f32> = (0..len).map(|j| half::f16::from_f32(value(j + 3).abs() / 8.0).to_f32()).collect();
        for batched in [false, true] {
            let run = |isa| {
                let mut scores = vec![0.0f32; len];
                attention_scores(isa, &cache, stride, &q, batched, &mut scores);
                let mut out = vec![0.0f32; hd];
                attention_values(isa, &p, &cache, stride, batched, &mut out);
                (scores, out)
            };
            let scalar = run(Isa::Scalar);
            for isa in [Isa::Avx2, Isa::Avx512].into_iter().filter(|i| i.is_supported()) {
                prop_assert_eq!(&scalar, &run(isa), "{:?} batched {}", isa, batched);
            }
            let expected = f16_dot(hd, |i| (f16_at(&cache[2 * i..]), q[i]), batched);
            prop_assert_eq!(scalar.0[0], expected);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A weight row times a batch of tokens ([`dot_row_tokens`]: Q5_0 decodes each block
    /// once for up to 8 tokens) equals each token's own [`vec_dot_in`] bit for bit.
    #[test]
    fn row_times_tokens_matches_each_token_bit_for_bit(
        tokens in 1usize..20,
        bytes in proptest::collection::vec(any::<u8>(), 64..200),
        x in proptest::collection::vec(-3.0f32..3.0, 96),
    ) {
        let cols = 256;
        let isas = [Isa::Scalar, Isa::Avx2, Isa::Avx512].into_iter().filter(|i| i.is_supported());
        for (isa, ty) in isas.flat_map(|i| WeightType::ALL.map(|t| (i, t))) {
            let row = weight_row(ty, cols, &bytes, &[0.02, -0.01, 0.03]);
            let values: Vec<f32> = (0..tokens * cols).map(|i| x[i % 96] * (1.0 + (i / 96) as f32)).collect();
            let acts = ActivationRows::quantize(ty.activation(), &values, cols);
            let rows: Vec<&[u8]> = (0..tokens).map(|t| acts.row(t)).collect();
            let placed: Vec<Batching> = (0..tokens).map(|t| Batching::of(t, tokens)).collect();
            let mut got = vec![0.0f32; tokens];
            dot_row_tokens(isa, ty, &row, &rows, &placed, &mut got);
            for t in 0..tokens {
                let one = vec_dot_in(isa, ty, &row, rows[t], placed[t]);
                prop_assert_eq!(got[t].to_bits(), one.to_bits(), "{:?} {:?} token {}", ty, isa, t);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The panel kernels ([`dot_panel_rows`]: decoded Q4_K/Q6_K rows × sixteen tokens
    /// per panel) give each row and token its scalar twin's dot product bit for bit
    /// ([`vec_dot_in`] under [`Isa::Scalar`], placed in the batch as [`Batching::of`]
    /// says), for any number of rows and any batch of ggml's tiled size.
    #[test]
    fn panel_kernels_match_the_scalar_twin_bit_for_bit(
        rows in 1usize..11,
        tokens in TILE..(3 * PANEL + 3),
        bytes in proptest::collection::vec(any::<u8>(), 64..300),
        x in proptest::collection::vec(-3.0f32..3.0, 128),
    ) {
        if !Isa::Avx512.is_supported() {
            eprintln!("skipping: this CPU has no AVX-512 F/BW/VL/VNNI");
            return Ok(());
        }
        let cols = 512;
        for ty in [WeightType::Q4K, WeightType::Q6K] {
            let data: Vec<u8> = (0..rows)
                .flat_map(|r| weight_row(ty, cols, &bytes[r..], &[0.02, -0.01, 0.03]))
                .collect();
            let values: Vec<f32> = (0..tokens * cols)
                .map(|i| x[i % 128] * (1.0 + (i / 128 % 5) as f32))
                .collect();
            let acts = ActivationRows::quantize(ty.activation(), &values, cols);
            let token_rows: Vec<&[u8]> = (0..tokens).map(|t| acts.row(t)).collect();
            let placed: Vec<Batching> = (0..tokens).map(|t| Batching::of(t, tokens)).collect();
            let panels: Vec<Q8kPanel> = token_rows
                .chunks(PANEL)
                .zip(placed.chunks(PANEL))
                .map(|(r, p)| Q8kPanel::new(r, p))
                .collect();
            let mut got = vec![f32::NAN; rows * tokens];
            dot_panel_rows(Isa::Avx512, ty, &data, &panels, |t, r0, v| {
                for (k, value) in v.iter().enumerate() {
                    got[(r0 + k) * tokens + t] = *value;
                }
            });
            let row_bytes = data.len() / rows;
            for r in 0..rows {
                for t in 0..tokens {
                    let w = &data[r * row_bytes..(r + 1) * row_bytes];
                    let expected = vec_dot_in(Isa::Scalar, ty, w, token_rows[t], placed[t]);
                    prop_assert_eq!(
                        got[r * tokens + t].to_bits(),
                        expected.to_bits(),
                        "{:?} row {} token {} of {}", ty, r, t, tokens
                    );
                }
            }
        }
    }
}
