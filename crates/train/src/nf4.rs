//! NF4 storage for frozen weights, with double quantization, as bitsandbytes does it
//! (`quantize_4bit(quant_type="nf4", blocksize=64, compress_statistics=True)`).
//!
//! * Weights are cut into blocks of 64; each block's absmax scales it into
//!   `[-1, 1]` (`clamp(x * (1/absmax), -1, 1)`), and each value becomes the index of
//!   the nearest NF4 level (first index on ties). Two indices share a byte, the
//!   first in the high nibble.
//! * Double quantization: `offset = mean(absmax)`; `absmax - offset` is quantized
//!   the same way in blocks of 256 against bitsandbytes' signed 8-bit dynamic map,
//!   keeping one f32 scale per 256 blocks. Dequantized as `map[q] * scale + offset`.
//! * Dequantization (on the fly, every forward) goes through a 256-entry table that
//!   turns one packed byte into its two f32 levels, multiplies by the block absmax
//!   and rounds once to the compute dtype (the CUDA kernel's order of operations).
//!
//! One documented difference: the offset is the f64 mean rounded to f32 (torch's
//! f32 reduction order is an implementation detail; it can differ by one ulp).
//! The reference vectors in `tests/data/train/nf4_vectors.json` come from
//! `scripts/reference/nf4_reference.py`.

use anyhow::{bail, Result};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use super::dynamic::dynamic_map;

/// The 16 NF4 levels (bitsandbytes' table), ascending.
pub const NF4_LEVELS: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

/// Weights per NF4 block (one absmax each).
pub const NF4_BLOCK: usize = 64;
/// Absmax values per block of the double quantization (one f32 scale each).
pub const ABSMAX_BLOCK: usize = 256;

/// Index of the code nearest to `x` (`argmin |x - code|`, first index on ties;
/// a NaN input gives 0, as torch's and numpy's argmin do).
fn nearest_code(code: &[f32], x: f32) -> u8 {
    let mut best = 0usize;
    let mut best_d = (x - code[0]).abs();
    for (j, c) in code.iter().enumerate().skip(1) {
        let d = (x - c).abs();
        if d < best_d {
            best = j;
            best_d = d;
        }
    }
    best as u8
}

/// Blockwise absmax quantization against `code`: returns the code indices and one
/// absmax per block (the last block may be partial).
fn quantize_blockwise(values: &[f32], code: &[f32], block: usize) -> (Vec<u8>, Vec<f32>) {
    let absmax: Vec<f32> = values
        .par_chunks(block)
        .map(|b| b.iter().fold(0f32, |m, v| m.max(v.abs())))
        .collect();
    let mut indices = vec![0u8; values.len()];
    indices
        .par_chunks_mut(block)
        .zip(values.par_chunks(block))
        .zip(absmax.par_iter())
        .for_each(|((out, vals), &am)| {
            let inv = 1.0f32 / am;
            for (o, &v) in out.iter_mut().zip(vals) {
                *o = nearest_code(code, (v * inv).clamp(-1.0, 1.0));
            }
        });
    (indices, absmax)
}

/// The double quantization's offset: the mean of the absmax values, summed in f64
/// in order, rounded to f32.
fn mean_offset(absmax: &[f32]) -> f32 {
    (absmax.iter().map(|&v| v as f64).sum::<f64>() / absmax.len().max(1) as f64) as f32
}

/// Elements per piece of [`nearest_codes`]'s distance matrix (bounds its memory).
const DISTANCE_ELEMENTS: i64 = 1 << 26;

/// [`nearest_code`] with tensor ops on `x`'s device: `[n]` f32 → `[n]` u8 (the same
/// f32 subtraction and first-index-on-ties argmin, so the same codes).
fn nearest_codes(x: &Tensor, code: &Tensor) -> Tensor {
    let n = x.size()[0];
    let chunk = (DISTANCE_ELEMENTS / code.size()[0]).max(1);
    let parts: Vec<Tensor> = (0..n)
        .step_by(chunk as usize)
        .map(|s| {
            let piece = x.narrow(0, s, chunk.min(n - s));
            (piece.unsqueeze(1) - code.unsqueeze(0))
                .abs()
                .argmin(1, false)
                .to_kind(Kind::Uint8)
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// [`quantize_blockwise`] with tensor ops: `[n]` f32 → (`[n]` u8 codes, `[blocks]`
/// f32 absmax); a partial last block is padded with zeros, which change no absmax.
fn quantize_blockwise_tensor(values: &Tensor, code: &Tensor, block: i64) -> (Tensor, Tensor) {
    let n = values.size()[0];
    let blocks = (n + block - 1) / block;
    let padded = values
        .constant_pad_nd([0, blocks * block - n])
        .view([blocks, block]);
    let absmax = padded.abs().amax([1], false);
    let inv = absmax.reciprocal().unsqueeze(1);
    let scaled = (padded * inv).clamp(-1.0, 1.0).view([-1]);
    let codes = nearest_codes(&scaled, code).narrow(0, 0, n);
    (codes, absmax)
}

/// An NF4 + double-quantized weight as plain host data (what bitsandbytes stores).
#[derive(Debug, Clone, PartialEq)]
pub struct Nf4Quantized {
    /// The weight's shape (row-major).
    pub shape: Vec<i64>,
    /// Two 4-bit NF4 indices per byte, the first in the high nibble.
    pub packed: Vec<u8>,
    /// Each 64-block's absmax, minus `offset`, as an 8-bit dynamic-map index.
    pub absmax_q: Vec<u8>,
    /// One f32 scale per 256 absmax values.
    pub absmax_scale: Vec<f32>,
    /// The mean of the absmax values, added back on dequantization.
    pub offset: f32,
}

impl Nf4Quantized {
    /// Quantize row-major f32 `values` of `shape`; the element count must be a
    /// multiple of 64 and every value finite.
    pub fn quantize(values: &[f32], shape: &[i64], dynamic_map: &[f32]) -> Result<Self> {
        let n = values.len();
        if shape.iter().product::<i64>() != n as i64 {
            bail!("NF4: shape {shape:?} does not hold {n} values");
        }
        if n == 0 || !n.is_multiple_of(NF4_BLOCK) {
            bail!("NF4: {n} values is not a positive multiple of the block size {NF4_BLOCK}");
        }
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            bail!("NF4: value #{bad} is not finite ({})", values[bad]);
        }
        let (idx, absmax) = quantize_blockwise(values, &NF4_LEVELS, NF4_BLOCK);
        let packed = idx.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect();
        let offset = mean_offset(&absmax);
        let centered: Vec<f32> = absmax.iter().map(|&v| v - offset).collect();
        let (absmax_q, absmax_scale) = quantize_blockwise(&centered, dynamic_map, ABSMAX_BLOCK);
        Ok(Self {
            shape: shape.to_vec(),
            packed,
            absmax_q,
            absmax_scale,
            offset,
        })
    }

    /// The dequantized per-64 absmax values (`map[q] * scale + offset`).
    pub fn absmax(&self, dynamic_map: &[f32]) -> Vec<f32> {
        self.absmax_q
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                dynamic_map[q as usize] * self.absmax_scale[i / ABSMAX_BLOCK] + self.offset
            })
            .collect()
    }
}

/// The device-side lookup tables shared by every NF4 weight on one device.
#[derive(Debug)]
pub struct Nf4Tables {
    /// `[256, 2]` f32: a packed byte's two NF4 levels (high nibble first).
    pair_table: Tensor,
    /// `[256]` f32: the dynamic map of the double quantization.
    dynamic: Tensor,
    /// The same dynamic map on the host, for quantizing.
    dynamic_host: Vec<f32>,
}

impl Nf4Tables {
    /// Build the tables on `device`.
    pub fn new(device: Device) -> Self {
        let pairs: Vec<f32> = (0..256usize)
            .flat_map(|b| [NF4_LEVELS[b >> 4], NF4_LEVELS[b & 15]])
            .collect();
        let dynamic_host = dynamic_map(true);
        Self {
            pair_table: Tensor::from_slice(&pairs).view([256, 2]).to_device(device),
            dynamic: Tensor::from_slice(&dynamic_host).to_device(device),
            dynamic_host,
        }
    }

    fn shallow_clone(&self) -> Self {
        Self {
            pair_table: self.pair_table.shallow_clone(),
            dynamic: self.dynamic.shallow_clone(),
            dynamic_host: Vec::new(),
        }
    }
}

/// A frozen NF4 weight on a device, dequantized on demand into the compute dtype.
#[derive(Debug)]
pub struct Nf4Tensor {
    shape: Vec<i64>,
    packed: Tensor,
    absmax_q: Tensor,
    absmax_scale: Tensor,
    offset: f64,
    tables: Nf4Tables,
}

impl Nf4Tensor {
    /// Quantize a float tensor (any float kind) onto `tables`' device: on the
    /// device itself when both are CUDA ([`Self::quantize_with_tensor_ops`]), else
    /// on the host ([`Nf4Quantized::quantize`]); the codes are the same.
    pub fn quantize(weight: &Tensor, tables: &Nf4Tables) -> Result<Self> {
        let device = tables.pair_table.device();
        if device.is_cuda() && weight.device() == device {
            return Self::quantize_with_tensor_ops(weight, tables);
        }
        Self::quantize_on_host(weight, tables)
    }

    /// The same algorithm as [`Nf4Quantized::quantize`] in tensor ops where
    /// `weight` lives (a 7B-parameter model quantizes in seconds on a GPU); only the
    /// absmax mean is taken on the host, to sum in the same order.
    pub fn quantize_with_tensor_ops(weight: &Tensor, tables: &Nf4Tables) -> Result<Self> {
        let shape = weight.size();
        let n = weight.numel();
        if n == 0 || !n.is_multiple_of(NF4_BLOCK) {
            bail!("NF4: {n} values is not a positive multiple of the block size {NF4_BLOCK}");
        }
        let device = tables.pair_table.device();
        let values = weight
            .to_device(device)
            .to_kind(Kind::Float)
            .contiguous()
            .view([-1]);
        if values.isfinite().all().int64_value(&[]) == 0 {
            bail!("NF4: the weight has a value that is not finite");
        }
        let nf4 = Tensor::from_slice(&NF4_LEVELS).to_device(device);
        let (codes, absmax) = quantize_blockwise_tensor(&values, &nf4, NF4_BLOCK as i64);
        let pairs = codes.view([-1, 2]);
        let packed = pairs.select(1, 0) * 16 + pairs.select(1, 1);
        let offset = mean_offset(&Vec::<f32>::try_from(absmax.to_device(Device::Cpu))?);
        let (absmax_q, absmax_scale) = quantize_blockwise_tensor(
            &(absmax - offset as f64),
            &tables.dynamic,
            ABSMAX_BLOCK as i64,
        );
        Ok(Self {
            shape,
            packed,
            absmax_q,
            absmax_scale,
            offset: offset as f64,
            tables: tables.shallow_clone(),
        })
    }

    /// Quantize on the host with [`Nf4Quantized::quantize`] and upload.
    pub fn quantize_on_host(weight: &Tensor, tables: &Nf4Tables) -> Result<Self> {
        let shape = weight.size();
        let host = weight
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous()
            .view([-1]);
        let values = Vec::<f32>::try_from(&host)?;
        let q = Nf4Quantized::quantize(&values, &shape, &tables.dynamic_host)?;
        Ok(Self::from_quantized(&q, tables))
    }

    /// Upload host-side quantized data to `tables`' device.
    pub fn from_quantized(q: &Nf4Quantized, tables: &Nf4Tables) -> Self {
        let device = tables.pair_table.device();
        Self {
            shape: q.shape.clone(),
            packed: Tensor::from_slice(&q.packed).to_device(device),
            absmax_q: Tensor::from_slice(&q.absmax_q).to_device(device),
            absmax_scale: Tensor::from_slice(&q.absmax_scale).to_device(device),
            offset: q.offset as f64,
            tables: tables.shallow_clone(),
        }
    }

    /// The weight's shape.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }

    /// The per-64 absmax values, f32 `[n/64]`.
    pub fn absmax(&self) -> Tensor {
        let blocks = self.absmax_q.size()[0];
        let map = self
            .tables
            .dynamic
            .index_select(0, &self.absmax_q.to_kind(Kind::Int));
        let scale = self
            .absmax_scale
            .repeat_interleave_self_int(ABSMAX_BLOCK as i64, 0, None)
            .narrow(0, 0, blocks);
        map * scale + self.offset
    }

    /// The dequantized weight in `kind`: each value is `level * absmax` in f32,
    /// rounded once to `kind`.
    pub fn dequantize(&self, kind: Kind) -> Tensor {
        let levels = self
            .tables
            .pair_table
            .index_select(0, &self.packed.to_kind(Kind::Int));
        // one kernel: the f32 product is rounded once into the `kind` output
        let out = Tensor::empty(self.shape.as_slice(), (kind, levels.device()));
        let blocks = levels.view([-1, NF4_BLOCK as i64]);
        let _ = blocks.mul_out(
            &out.view([-1, NF4_BLOCK as i64]),
            &self.absmax().unsqueeze(1),
        );
        out
    }

    /// Bytes held on the device (packed codes, absmax codes and scales).
    pub fn storage_bytes(&self) -> usize {
        self.packed.numel() + self.absmax_q.numel() + 4 * self.absmax_scale.numel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Vectors {
        dynamic_map: Vec<f32>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        shape: Vec<i64>,
        weight: Vec<f32>,
        packed: Vec<u8>,
        absmax_q: Vec<u8>,
        absmax_scale: Vec<f32>,
        offset: f32,
        absmax: Vec<f32>,
        dequantized: Option<Vec<f32>>,
    }

    fn vectors() -> Vectors {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/train/nf4_vectors.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn dynamic_map_matches_bitsandbytes_construction() {
        let v = vectors();
        assert_eq!(dynamic_map(true), v.dynamic_map);
    }

    #[test]
    fn quantization_matches_reference_vectors_bit_for_bit() {
        let v = vectors();
        let map = dynamic_map(true);
        for case in &v.cases {
            let q = Nf4Quantized::quantize(&case.weight, &case.shape, &map).unwrap();
            assert_eq!(q.packed, case.packed, "{}: packed codes", case.name);
            assert_eq!(q.offset, case.offset, "{}: offset", case.name);
            assert_eq!(q.absmax_q, case.absmax_q, "{}: absmax codes", case.name);
            assert_eq!(
                q.absmax_scale, case.absmax_scale,
                "{}: absmax scales",
                case.name
            );
            assert_eq!(
                q.absmax(&map),
                case.absmax,
                "{}: dequantized absmax",
                case.name
            );
        }
    }

    #[test]
    fn device_dequantization_matches_reference() {
        let v = vectors();
        let tables = Nf4Tables::new(Device::Cpu);
        for case in &v.cases {
            let w = Tensor::from_slice(&case.weight).view(case.shape.as_slice());
            let t = Nf4Tensor::quantize(&w, &tables).unwrap();
            let deq = Vec::<f32>::try_from(&t.dequantize(Kind::Float).view([-1])).unwrap();
            let expected: Vec<f32> = match &case.dequantized {
                Some(d) => d.clone(),
                None => (0..case.weight.len())
                    .map(|i| {
                        let byte = case.packed[i / 2];
                        let code = if i % 2 == 0 { byte >> 4 } else { byte & 15 };
                        NF4_LEVELS[code as usize] * case.absmax[i / NF4_BLOCK]
                    })
                    .collect(),
            };
            assert_eq!(deq, expected, "{}", case.name);
            // round-trip error ≤ half the widest NF4 gap (0.152) of the true absmax,
            // plus what double quantization moved the absmax by
            for (i, (d, w)) in deq.iter().zip(&case.weight).enumerate() {
                let block = i / NF4_BLOCK;
                let true_am = case.weight[block * NF4_BLOCK..(block + 1) * NF4_BLOCK]
                    .iter()
                    .fold(0f32, |m, v| m.max(v.abs()));
                let bound = 0.1520 * true_am + (case.absmax[block] - true_am).abs() + 1e-7;
                assert!((d - w).abs() <= bound, "{} #{i}: {d} vs {w}", case.name);
            }
            let n = case.weight.len();
            assert_eq!(
                t.storage_bytes(),
                n / 2 + n / 64 + 4 * (n / 64).div_ceil(256)
            );
            let bf = t.dequantize(Kind::BFloat16);
            assert_eq!(bf.kind(), Kind::BFloat16);
            let rounded_once = t.dequantize(Kind::Float).to_kind(Kind::BFloat16);
            assert!(
                bf.equal(&rounded_once),
                "{}: bf16 = f32 product rounded once",
                case.name
            );
        }
    }

    #[test]
    fn tensor_op_quantization_is_bit_identical_to_the_host_one() {
        let tables = Nf4Tables::new(Device::Cpu);
        tch::manual_seed(3);
        // 1, 192 (a partial double-quantization block) and 1500 blocks of 64
        for shape in [[1i64, 64], [96, 128], [300, 320]] {
            let w = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 0.02;
            let _ = w.get(0).narrow(0, 0, 64.min(shape[1])).fill_(0.0);
            let _ = w.get(shape[0] - 1).get(5).fill_(0.7);
            let ours = Nf4Tensor::quantize_with_tensor_ops(&w, &tables).unwrap();
            let host = Nf4Tensor::quantize_on_host(&w, &tables).unwrap();
            assert!(ours.packed.equal(&host.packed), "{shape:?}: packed codes");
            assert!(
                ours.absmax_q.equal(&host.absmax_q),
                "{shape:?}: absmax codes"
            );
            assert!(
                ours.absmax_scale.equal(&host.absmax_scale),
                "{shape:?}: absmax scales"
            );
            assert_eq!(ours.offset, host.offset, "{shape:?}: offset");
            assert_eq!(ours.shape, host.shape);
        }
        let bad = Tensor::from_slice(&[f32::INFINITY; 64]);
        assert!(Nf4Tensor::quantize_with_tensor_ops(&bad, &tables).is_err());
    }

    #[test]
    fn rejects_bad_shapes_and_non_finite_values() {
        let map = dynamic_map(true);
        assert!(Nf4Quantized::quantize(&[0.0; 63], &[63], &map).is_err());
        assert!(Nf4Quantized::quantize(&[0.0; 64], &[2, 64], &map).is_err());
        let mut v = vec![0.5f32; 64];
        v[3] = f32::NAN;
        assert!(Nf4Quantized::quantize(&v, &[64], &map).is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_value_maps_to_its_nearest_level(values in proptest::collection::vec(-3.0f32..3.0, 64)) {
            let map = dynamic_map(true);
            let q = Nf4Quantized::quantize(&values, &[64], &map).unwrap();
            let am = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, v) in values.iter().enumerate() {
                let code = if i % 2 == 0 { q.packed[i / 2] >> 4 } else { q.packed[i / 2] & 15 };
                let s = if am > 0.0 { v / am } else { 0.0 };
                let got = (NF4_LEVELS[code as usize] - s).abs();
                for l in NF4_LEVELS { proptest::prop_assert!(got <= (l - s).abs() + 1e-6); }
            }
        }
    }
}
