//! What the GPU computes in: `dtype = "auto"` is bf16 on a GPU of compute capability
//! 8 or more (Ampere, Hopper) and on the CPU, f16 with dynamic loss scaling on older
//! GPUs (a T4 is 7.5), as the seed recipe trains there. The capability comes from
//! `nvidia-smi`, which ships with every NVIDIA driver.

use std::process::Command;

/// The first GPU's compute capability major version, or `None` without a GPU or
/// `nvidia-smi`.
pub fn compute_capability_major() -> Option<u32> {
    let out = Command::new("nvidia-smi")
        .args(["--query-gpu=compute_cap", "--format=csv,noheader"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    major_of(&String::from_utf8_lossy(&out.stdout))
}

/// The major version of the first line of `nvidia-smi --query-gpu=compute_cap`
/// (`"7.5"` → 7).
fn major_of(text: &str) -> Option<u32> {
    text.lines().next()?.trim().split('.').next()?.parse().ok()
}

/// The dtype `auto` stands for on a device of compute capability `major` (`None`:
/// the CPU, or no GPU found).
pub fn auto_dtype(major: Option<u32>) -> &'static str {
    match major {
        Some(m) if m < 8 => "f16",
        _ => "bf16",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_t4_trains_in_f16_and_ampere_or_later_in_bf16() {
        assert_eq!(major_of("7.5\n"), Some(7));
        assert_eq!(major_of("9.0\n9.0\n"), Some(9));
        assert_eq!(major_of(""), None);
        assert_eq!(auto_dtype(major_of("7.5")), "f16");
        assert_eq!(auto_dtype(major_of("8.0")), "bf16");
        assert_eq!(auto_dtype(None), "bf16");
    }
}
