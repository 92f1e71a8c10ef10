use proptest::prelude::*;

use super::*;
use crate::quant::QuantType;

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
const BATCHINGS: [Batching; 3] = [
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
];

const TYPES: [WeightType; 5] = [
    WeightType::F32,
    WeightType::F16,
    WeightType::Q8_0,
    WeightType::Q4K,
    WeightType::Q6K,
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
        if Isa::detect() != Isa::Avx2 {
            eprintln!("skipping: this CPU has no AVX2/FMA/F16C");
            return Ok(());
        }
        let cols = blocks * QK_K;
        let xs: Vec<f32> = x.iter().cycle().take(cols).copied().collect();
        for ty in TYPES {
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

/// A batched matmul gives, whatever the pool size, exactly the dot products of each
/// token placed in its batch as [`Batching::of`] says.
#[test]
fn matmul_follows_ggml_grouping_and_is_thread_invariant() {
    let (rows, cols, tokens) = (37, 512, 9);
    let bytes: Vec<u8> = (0..997u32).map(|i| (i * 7919 % 251) as u8).collect();
    let scales = [0.01f32, -0.02, 0.03];
    let x: Vec<f32> = (0..tokens * cols)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    for ty in TYPES {
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
        for ty in TYPES {
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
            for (isa, batching) in BATCHINGS.iter().flat_map(|b| [(Isa::Scalar, *b), (Isa::detect(), *b)]) {
                let got = vec_dot_in(isa, ty, &wq, acts.row(0), batching) as f64;
                prop_assert!(
                    (got - expected).abs() <= 1e-5 * scale + 1e-5,
                    "{ty:?} {isa:?}: {got} vs {expected}"
                );
            }
        }
    }
}
