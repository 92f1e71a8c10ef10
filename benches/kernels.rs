//! Dot-product kernels: mat-vec (decode) and mat-mat (prefill) of each weight type,
//! every instruction set this CPU runs (scalar, AVX2, AVX-512), on one thread.
//! Throughput is weight bytes read per second. `memory/read` is the single-thread
//! DRAM read bandwidth (one load per 64-byte line of a buffer far larger than the
//! caches), the bound of decoding when the weights do not fit in cache.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use okla_engine::kernels::{matmul, ActivationRows, Isa, Matrix, WeightType};

const ROWS: usize = 1024;
const COLS: usize = 4096;

fn weights(ty: WeightType) -> Vec<u8> {
    let values: Vec<f32> = (0..ROWS * COLS)
        .map(|i| ((i.wrapping_mul(2_654_435_761) % 2001) as f32 - 1000.0) / 1000.0)
        .collect();
    let codec = ty.quant_type();
    let row_bytes = ty.row_bytes(COLS).unwrap();
    let mut out = vec![0u8; ROWS * row_bytes];
    for (src, dst) in values
        .chunks_exact(COLS)
        .zip(out.chunks_exact_mut(row_bytes))
    {
        codec.quantize_row(src, dst).unwrap();
    }
    out
}

fn kernels(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let isas: Vec<Isa> = [Isa::Scalar, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|isa| isa.is_supported())
        .collect();
    for ty in [
        WeightType::Q4K,
        WeightType::Q6K,
        WeightType::Q8_0,
        WeightType::F16,
        WeightType::F32,
    ] {
        let data = weights(ty);
        let w = Matrix {
            ty,
            rows: ROWS,
            cols: COLS,
            data: &data,
        };
        let mut group = c.benchmark_group(format!("{ty:?}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.sample_size(10);
        for tokens in [1usize, 16, 128] {
            let x: Vec<f32> = (0..tokens * COLS)
                .map(|i| ((i % 97) as f32 - 48.0) / 17.0)
                .collect();
            let acts = ActivationRows::quantize(ty.activation(), &x, COLS);
            let mut out = vec![0.0f32; tokens * ROWS];
            for &isa in &isas {
                let id = BenchmarkId::new(format!("{isa:?}"), format!("{tokens}tok"));
                group.bench_function(id, |b| {
                    b.iter(|| pool.install(|| matmul(isa, &w, &acts, &mut out)))
                });
            }
        }
        group.finish();
    }
}

/// Bytes of the bandwidth buffer: far beyond any last-level cache.
const BANDWIDTH_BYTES: usize = 512 << 20;

fn memory(c: &mut Criterion) {
    let data: Vec<u64> = (0..BANDWIDTH_BYTES as u64 / 8).collect();
    let mut group = c.benchmark_group("memory");
    group.throughput(Throughput::Bytes(BANDWIDTH_BYTES as u64));
    group.sample_size(10);
    group.bench_function("read", |b| {
        // One load per cache line pulls every line from DRAM with almost no arithmetic.
        b.iter(|| {
            data.chunks_exact(8)
                .fold(0u64, |s, line| s.wrapping_add(line[0]))
        })
    });
    group.finish();
}

criterion_group!(benches, kernels, memory);
criterion_main!(benches);
