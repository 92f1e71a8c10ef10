//! Quantize / dequantize throughput of every `okla_formats::quant` type (scalar, one thread),
//! plus whole-tensor quantization on rayon's pool.
//!
//! `cargo bench --bench quant`; throughput is in f32 elements per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use okla_formats::progress::NoProgress;
use okla_formats::quant::tensor::quantize_tensor;
use okla_formats::quant::QuantType;
use std::hint::black_box;

/// Values per benchmarked row: 64 K-quant super-blocks.
const ROW: usize = 16 * 1024;

/// Deterministic weight-like values (a scaled sine-hashed sequence, no RNG needed).
fn weights(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 12.9898).sin() * 43758.547).fract() * 0.05)
        .collect()
}

fn row_codecs(c: &mut Criterion) {
    let x = weights(ROW);
    let mut group = c.benchmark_group("quantize_row");
    group.throughput(Throughput::Elements(ROW as u64));
    for ty in QuantType::ALL {
        let mut out = vec![0u8; ty.bytes_for(ROW).unwrap()];
        group.bench_function(BenchmarkId::from_parameter(ty), |b| {
            b.iter(|| ty.quantize_row(black_box(&x), &mut out).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dequantize_row");
    group.throughput(Throughput::Elements(ROW as u64));
    for ty in QuantType::ALL {
        let mut bytes = vec![0u8; ty.bytes_for(ROW).unwrap()];
        ty.quantize_row(&x, &mut bytes).unwrap();
        let mut out = vec![0f32; ROW];
        group.bench_function(BenchmarkId::from_parameter(ty), |b| {
            b.iter(|| ty.dequantize_row(black_box(&bytes), &mut out).unwrap())
        });
    }
    group.finish();
}

fn tensor_quantize(c: &mut Criterion) {
    let (rows, row_len) = (256, 2048);
    let x = weights(rows * row_len);
    let mut group = c.benchmark_group("quantize_tensor_rayon");
    group.throughput(Throughput::Elements((rows * row_len) as u64));
    group.sample_size(10);
    for ty in [QuantType::Q8_0, QuantType::Q4K, QuantType::Q6K] {
        group.bench_function(BenchmarkId::from_parameter(ty), |b| {
            b.iter(|| quantize_tensor(ty, black_box(&x), row_len, &NoProgress).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, row_codecs, tensor_quantize);
criterion_main!(benches);
