//! bitsandbytes' 8-bit "dynamic" quantization map (`create_dynamic_map`), used for
//! NF4's double quantization (signed) and the 8-bit optimizer states (signed for
//! the first moment, unsigned for the second).

use tch::{Device, Kind, Tensor};

/// `create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)`, built with
/// the same ATen kernels bitsandbytes calls (float32 `linspace`, float32
/// products), sorted ascending: 256 values in `[-1, 1]` (signed) or `[0, 1]`.
pub fn dynamic_map(signed: bool) -> Vec<f32> {
    let mut data: Vec<f32> = Vec::with_capacity(256);
    for i in 0..7i64 {
        let items = if signed {
            (1 << i) + 1
        } else {
            (1 << (i + 1)) + 1
        };
        let bounds = Tensor::linspace(0.1, 1.0, items, (Kind::Float, Device::Cpu));
        let n = bounds.size()[0];
        let means = (bounds.narrow(0, 0, n - 1) + bounds.narrow(0, 1, n - 1)) / 2.0;
        let scaled = if i == 6 {
            means
        } else {
            means * 10f64.powi(i as i32 - 6)
        };
        let values = Vec::<f32>::try_from(&scaled).unwrap_or_default();
        data.extend(values.iter().copied());
        if signed {
            data.extend(values.iter().map(|v| -v));
        }
    }
    data.push(0.0);
    data.push(1.0);
    data.sort_by(f32::total_cmp);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_have_256_sorted_values_spanning_their_range() {
        for signed in [true, false] {
            let m = dynamic_map(signed);
            assert_eq!(m.len(), 256);
            assert!(m.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(*m.last().unwrap(), 1.0);
            if signed {
                assert!(m[0] < -0.99 && m[0] > -1.0, "{}", m[0]);
            } else {
                assert_eq!(m[0], 0.0);
            }
        }
    }
}
