//! Checkpoint folders: written whole into a hidden temporary folder, synced, then
//! renamed into place (`checkpoints/step-000100`), so a crash or `kill -9` at any
//! moment leaves either the complete new checkpoint or none of it, and the
//! previous ones untouched. Only the newest `keep` are kept.

use super::loss_scale::LossScaler;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Everything besides tensors that a resume needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps completed.
    pub step: u64,
    /// Total optimizer steps of the run.
    pub total_steps: u64,
    /// The epoch the next step belongs to.
    pub epoch: u64,
    /// Micro-batches of that epoch already consumed (the data position).
    pub micro_batch_in_epoch: u64,
    /// The run's seed: data order is `SplitMix64(seed, epoch)` and every dropout
    /// mask is seeded from `(seed, step, micro-batch, layer)`, so these counters
    /// are the complete RNG state.
    pub seed: u64,
    /// Warmup steps of the schedule.
    pub warmup_steps: u64,
    /// Peak learning rate of the schedule.
    pub peak_lr: f64,
    /// Lines of `metrics.jsonl` written up to this step.
    pub metrics_lines: usize,
    /// Hash of the effective recipe, to refuse resuming a different run.
    pub recipe_hash: String,
    /// The fp16 loss scaler's state (absent for bf16 and f32 runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scaler: Option<LossScaler>,
}

/// File name of the trainer state inside a checkpoint.
pub const STATE_FILE: &str = "trainer_state.json";
/// File name of the optimizer state inside a checkpoint.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const PREFIX: &str = "step-";
const TMP_PREFIX: &str = ".tmp-";

/// The folder name for step `step`.
pub fn checkpoint_name(step: u64) -> String {
    format!("{PREFIX}{step:06}")
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Create `final_dir` atomically: `fill` writes into a fresh temporary sibling,
/// every file and the folder are synced, then the folder is renamed into place
/// (replacing an older folder of that name).
pub fn write_dir_atomic(final_dir: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = final_dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    fill(&tmp)?;
    for entry in fs::read_dir(&tmp)? {
        let path = entry?.path();
        fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("syncing {}", path.display()))?;
    }
    sync_dir(&tmp)?;
    if final_dir.exists() {
        let old = parent.join(format!("{TMP_PREFIX}old-{name}-{}", std::process::id()));
        fs::rename(final_dir, &old)?;
        fs::rename(&tmp, final_dir)?;
        fs::remove_dir_all(&old)?;
    } else {
        fs::rename(&tmp, final_dir)
            .with_context(|| format!("renaming into {}", final_dir.display()))?;
    }
    sync_dir(parent)
}

/// Complete checkpoints under `root`, oldest first, as `(step, folder)`.
pub fn list_checkpoints(root: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix(PREFIX)?.parse().ok()?;
            e.path()
                .join(STATE_FILE)
                .is_file()
                .then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The newest complete checkpoint under `root`.
pub fn latest_checkpoint(root: &Path) -> Option<(u64, PathBuf)> {
    list_checkpoints(root).pop()
}

/// Delete all but the newest `keep` checkpoints, and leftovers of interrupted writes.
pub fn prune(root: &Path, keep: usize) -> Result<()> {
    let all = list_checkpoints(root);
    for (_, dir) in all.iter().take(all.len().saturating_sub(keep.max(1))) {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    remove_stale_temporaries(root)
}

/// Remove temporary folders left by a write that was killed.
pub fn remove_stale_temporaries(root: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(root) else {
        return Ok(());
    };
    for e in entries.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            fs::remove_dir_all(e.path())
                .with_context(|| format!("removing {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Read a checkpoint's trainer state.
pub fn read_state(dir: &Path) -> Result<TrainerState> {
    let path = dir.join(STATE_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, step: u64) {
        write_dir_atomic(&root.join(checkpoint_name(step)), |d| {
            fs::write(d.join(STATE_FILE), format!("{step}"))?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn keeps_the_newest_and_ignores_interrupted_writes() {
        let root = tempfile::tempdir().unwrap();
        for s in [100, 200, 300, 400] {
            write(root.path(), s);
        }
        // a write killed mid-way: a temporary folder with a partial state file
        let partial = root.path().join(".tmp-step-000500-999");
        fs::create_dir_all(&partial).unwrap();
        fs::write(partial.join(STATE_FILE), "{\"step\": 5").unwrap();
        // a folder of the right name but without its state file is not complete
        fs::create_dir_all(root.path().join("step-000600")).unwrap();
        assert_eq!(latest_checkpoint(root.path()).unwrap().0, 400);
        prune(root.path(), 3).unwrap();
        let steps: Vec<u64> = list_checkpoints(root.path()).iter().map(|c| c.0).collect();
        assert_eq!(steps, vec![200, 300, 400]);
        assert!(!partial.exists());
    }

    #[test]
    fn rewriting_a_checkpoint_replaces_it_whole() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), 100);
        let failed = write_dir_atomic(&root.path().join(checkpoint_name(100)), |d| {
            fs::write(d.join(STATE_FILE), "half")?;
            anyhow::bail!("disk full")
        });
        assert!(failed.is_err());
        let dir = root.path().join(checkpoint_name(100));
        assert_eq!(fs::read_to_string(dir.join(STATE_FILE)).unwrap(), "100");
    }
}
