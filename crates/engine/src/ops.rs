//! Element-wise pieces of the transformer graphs, computed the way ggml computes them.

/// RMSNorm of each `weight.len()`-wide row of `x` in place, times `weight`
/// (the squared sum accumulates in f64 like ggml's `rms_norm`).
pub fn rms_norm(x: &mut [f32], weight: &[f32], eps: f32) {
    let n = weight.len();
    for row in x.chunks_exact_mut(n) {
        let sum: f64 = row.iter().map(|&v| (v * v) as f64).sum();
        let mean = (sum / n as f64) as f32;
        let scale = 1.0 / (mean + eps).sqrt();
        for (v, w) in row.iter_mut().zip(weight) {
            *v = (*v * scale) * w;
        }
    }
}

/// `e^x` as ggml's AVX-512 `ggml_v_expf` computes it (a range reduction and a
/// degree-5 polynomial, within 1.5 ulp of the true value), bit for bit: llama.cpp's
/// softmax and SiLU use it on this build, so matching it keeps f16 roundings equal.
pub fn ggml_expf(x: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports FMA (checked above).
        return unsafe { ggml_expf_fma(x) };
    }
    ggml_expf_body(x)
}

/// [`ggml_expf`] with FMA instructions (the same fused operations, not a libm call each).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn ggml_expf_fma(x: f32) -> f32 {
    ggml_expf_body(x)
}

#[inline(always)]
fn ggml_expf_body(x: f32) -> f32 {
    let r = f32::from_bits(0x4b40_0000); // 0x1.8p23
    let z = x.mul_add(f32::from_bits(0x3fb8_aa3b), r); // log2(e)
    let n = z - r;
    let b = (-n).mul_add(
        f32::from_bits(0x35bf_be8e),                  // 0x1.7f7d1cp-20
        (-n).mul_add(f32::from_bits(0x3f31_7200), x), // 0x1.62e4p-1
    );
    if n.abs() > 192.0 || n.is_nan() {
        return if n > 0.0 { f32::INFINITY } else { 0.0 };
    }
    let u = b * b;
    let j = f32::from_bits(0x3c07_2010)
        .mul_add(b, f32::from_bits(0x3d2b_9f17))
        .mul_add(
            u,
            f32::from_bits(0x3e2a_af33).mul_add(b, f32::from_bits(0x3eff_fedb)),
        )
        .mul_add(u, f32::from_bits(0x3f7f_fff6).mul_add(b, 1.0));
    scale_by_power_of_two(j, n as i32)
}

/// `j · 2^n` with one rounding (AVX-512 `scalef` on an integral `n`, |n| ≤ 192).
#[inline(always)]
fn scale_by_power_of_two(j: f32, n: i32) -> f32 {
    // 2^n built from its exponent bits: exact, like `2f64.powi(n)`, without the libcall.
    (j as f64 * f64::from_bits(((n + 1023) as u64) << 52)) as f32
}

/// [`ggml_expf`] of every element of `x`, in place: sixteen at a time with AVX-512
/// where the CPU has it (the same operations per lane, so the same bits).
pub fn ggml_expf_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
    {
        let mut chunks = x.chunks_exact_mut(16);
        for chunk in &mut chunks {
            // SAFETY: the CPU supports AVX-512 F and FMA (checked above).
            unsafe { ggml_expf_16(chunk) };
        }
        chunks
            .into_remainder()
            .iter_mut()
            .for_each(|v| *v = ggml_expf(*v));
        return;
    }
    x.iter_mut().for_each(|v| *v = ggml_expf(*v));
}

/// [`ggml_expf_body`] on sixteen lanes; `scalef` is [`scale_by_power_of_two`].
///
/// # Safety
/// The CPU must support AVX-512 F and FMA; `x` holds 16 values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn ggml_expf_16(x: &mut [f32]) {
    use std::arch::x86_64::*;
    let c = |bits: u32| _mm512_set1_ps(f32::from_bits(bits));
    let v = _mm512_loadu_ps(x.as_ptr());
    let r = c(0x4b40_0000);
    let z = _mm512_fmadd_ps(v, c(0x3fb8_aa3b), r);
    let n = _mm512_sub_ps(z, r);
    let minus_n = _mm512_sub_ps(_mm512_setzero_ps(), n);
    let b = _mm512_fmadd_ps(
        minus_n,
        c(0x35bf_be8e),
        _mm512_fmadd_ps(minus_n, c(0x3f31_7200), v),
    );
    let u = _mm512_mul_ps(b, b);
    let j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(
            _mm512_fmadd_ps(c(0x3c07_2010), b, c(0x3d2b_9f17)),
            u,
            _mm512_fmadd_ps(c(0x3e2a_af33), b, c(0x3eff_fedb)),
        ),
        u,
        _mm512_fmadd_ps(c(0x3f7f_fff6), b, _mm512_set1_ps(1.0)),
    );
    let scaled = _mm512_scalef_ps(j, n);
    // |n| > 192 or NaN: ∞ where n > 0, else 0.
    let abs_n = _mm512_abs_ps(n);
    let out_of_range = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(abs_n, _mm512_set1_ps(192.0));
    let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(n, _mm512_setzero_ps());
    let limit = _mm512_maskz_mov_ps(positive, _mm512_set1_ps(f32::INFINITY));
    let result = _mm512_mask_blend_ps(out_of_range, scaled, limit);
    _mm512_storeu_ps(x.as_mut_ptr(), result);
}

/// SwiGLU: `gate ← silu(gate) · up`, with ggml's `x / (1 + e^−x)`.
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    let mut e: Vec<f32> = gate.iter().map(|g| 0.0 - g).collect();
    ggml_expf_in_place(&mut e);
    for ((g, u), e) in gate.iter_mut().zip(up).zip(e) {
        *g = *g / (1.0 + e) * u;
    }
}

/// GeGLU: `gate ← gelu_tanh(gate) · up`, as ggml's `ggml_vec_geglu_f32` on x86
/// (`GGML_GELU_FP16`): below −10 the product is 0, from 10 up `gate · up`, between
/// them the gate is rounded to f16 and looked up in ggml's f16 GELU table.
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    let table = gelu_f16_table();
    for (g, u) in gate.iter_mut().zip(up) {
        *g = if *g <= -10.0 {
            0.0
        } else if *g >= 10.0 {
            *g * u
        } else {
            let index = half::f16::from_f32(*g).to_bits();
            table[usize::from(index)] * u
        };
    }
}

/// ggml's `ggml_table_gelu_f16`: for every f16 bit pattern, `ggml_gelu_f32` of its value
/// rounded to f16 (kept here as the f32 the f16 stands for).
fn gelu_f16_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| {
                let x = half::f16::from_bits(bits).to_f32();
                half::f16::from_f32(ggml_gelu_f32(x)).to_f32()
            })
            .collect()
    })
}

/// ggml's `ggml_gelu_f32`: `0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))`, with the
/// fused multiply-add GCC contracts `1 + a·x·x` into.
fn ggml_gelu_f32(x: f32) -> f32 {
    const GELU_COEF_A: f32 = 0.044715;
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let inner = (GELU_COEF_A * x).mul_add(x, 1.0);
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * inner).tanh())
}

/// Sum of 16 f32 lanes in the order of GCC's `_mm512_reduce_add_ps`.
pub fn reduce16(v: &[f32; 16]) -> f32 {
    let t: [f32; 8] = std::array::from_fn(|i| v[i + 8] + v[i]);
    let t: [f32; 4] = std::array::from_fn(|i| t[i + 4] + t[i]);
    (t[0] + t[2]) + (t[1] + t[3])
}

/// `x += y`.
pub fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Natural-log softmax normalizer: `max + ln Σ exp(x − max)` (f64 sum).
pub fn log_sum_exp(x: &[f32]) -> f64 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = x.iter().map(|&v| ((v - max) as f64).exp()).sum();
    max as f64 + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_makes_unit_rms_rows() {
        let mut x = vec![3.0, 4.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        rms_norm(&mut x, &[1.0, 1.0, 1.0, 2.0], 0.0);
        assert!((x[0] - 1.2).abs() < 1e-6 && (x[1] - 1.6).abs() < 1e-6);
        assert_eq!(&x[4..], &[1.0, 1.0, 1.0, 2.0]);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let v = log_sum_exp(&[1000.0, 1000.0]);
        assert!((v - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn ggml_expf_is_within_two_ulp_of_exp() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.043;
            let (ours, exact) = (ggml_expf(x), (x as f64).exp() as f32);
            let ulps = (ours.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 2, "exp({x}) = {ours}, expected {exact}");
        }
        assert_eq!(ggml_expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(ggml_expf(-200.0), 0.0);
    }

    #[test]
    fn ggml_expf_in_place_matches_the_scalar_bit_for_bit() {
        let mut x: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 0.0437).collect();
        x.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -87.5,
            -103.9,
            -120.0,
            88.7,
            89.0,
            192.5,
            -192.5,
            0.0,
            -0.0,
            1e-30,
        ]);
        let mut fast = x.clone();
        ggml_expf_in_place(&mut fast);
        for (v, got) in x.iter().zip(&fast) {
            assert_eq!(got.to_bits(), ggml_expf(*v).to_bits(), "exp({v})");
        }
    }

    #[test]
    fn geglu_follows_gelu_tanh_and_its_cut_offs() {
        let mut g = vec![-11.0, -1.0, 0.0, 0.5, 2.0, 12.0];
        geglu(&mut g, &[2.0; 6]);
        assert_eq!((g[0], g[2], g[5]), (0.0, 0.0, 24.0));
        for (x, y) in [(-1.0f64, g[1]), (0.5, g[3]), (2.0, g[4])] {
            let exact = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
            assert!(
                (y as f64 - 2.0 * exact).abs() < 2e-3 * (1.0 + exact.abs()),
                "gelu({x})"
            );
        }
    }

    #[test]
    fn swiglu_of_zero_gate_is_zero() {
        let mut g = vec![0.0, 10.0];
        swiglu(&mut g, &[5.0, 2.0]);
        assert_eq!(g[0], 0.0);
        assert!((g[1] - 2.0 * 10.0 / (1.0 + (-10f32).exp())).abs() < 1e-5);
    }
}
