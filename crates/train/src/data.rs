//! Training data: conversations → token ids with labels on assistant tokens only,
//! the P95 sequence-length rule with a truncation count, micro-batches in a seeded
//! order (length-grouped or plain), and padding into tensors.

use anyhow::{bail, Result};
use okla_formats::rng::SplitMix64;
use rayon::prelude::*;
use tch::{Device, Tensor};

use super::model::{Batch, IGNORE_INDEX};
use okla_text::{ChatTokenizer, EOT};
use okla_text::{Conversation, Message};

/// Renders a conversation with the model's chat template and tokenizes it.
/// `Sync`, so a corpus is tokenized on every core.
pub trait ChatEncoder: Sync {
    /// Token ids of the whole conversation, and per token whether the assistant
    /// produced it (each assistant turn's content and its end-of-turn token).
    fn encode_for_training(&self, messages: &[Message]) -> Result<(Vec<u32>, Vec<bool>)>;
}

impl ChatEncoder for ChatTokenizer {
    fn encode_for_training(&self, messages: &[Message]) -> Result<(Vec<u32>, Vec<bool>)> {
        let enc = self.encode_chat_with_assistant_mask(messages)?;
        let mask = enc.assistant_mask();
        Ok((enc.ids, mask))
    }
}

/// The id used to pad batches: `<|eot_id|>`, else 0 (Gemma 3's `<pad>`); padding
/// never carries a label and sits after every real token, so causal attention never
/// sees it.
pub fn pad_id(tokenizer: &ChatTokenizer) -> i64 {
    tokenizer.token_id(EOT).map_or(0, i64::from)
}

/// One tokenized training sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Token ids.
    pub ids: Vec<i64>,
    /// Per-token label: the token id on assistant tokens, [`IGNORE_INDEX`] elsewhere.
    pub labels: Vec<i64>,
}

impl Example {
    /// Build from ids and the assistant mask.
    pub fn from_mask(ids: &[u32], assistant: &[bool]) -> Result<Self> {
        if ids.len() != assistant.len() {
            bail!(
                "encoder returned {} ids but {} mask entries",
                ids.len(),
                assistant.len()
            );
        }
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let labels = ids
            .iter()
            .zip(assistant)
            .map(|(&id, &a)| if a { id } else { IGNORE_INDEX })
            .collect();
        Ok(Self { ids, labels })
    }

    /// Tokens that carry a label.
    pub fn label_count(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE_INDEX).count()
    }
}

/// Tokenize every conversation, in parallel, keeping their order (errors name the
/// conversation's line).
pub fn encode_all(convs: &[Conversation], encoder: &dyn ChatEncoder) -> Result<Vec<Example>> {
    convs
        .par_iter()
        .map(|c| {
            let (ids, mask) = encoder.encode_for_training(&c.messages)?;
            Example::from_mask(&ids, &mask)
                .map_err(|e| e.context(format!("conversation on line {}", c.line)))
        })
        .collect()
}

/// The nearest-rank percentile `p` (0..=1) of `lengths` (0 when empty).
pub fn percentile(lengths: &[usize], p: f64) -> usize {
    if lengths.is_empty() {
        return 0;
    }
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Cut every example to `max_len` tokens; returns how many were cut.
pub fn truncate(examples: &mut [Example], max_len: usize) -> usize {
    let mut cut = 0;
    for e in examples.iter_mut().filter(|e| e.ids.len() > max_len) {
        e.ids.truncate(max_len);
        e.labels.truncate(max_len);
        cut += 1;
    }
    cut
}

/// Fisher-Yates shuffle drawing `next_u64() % (i + 1)`: the trainer's data order
/// (pinned by checkpoints and recorded runs, so it keeps its own index mapping).
pub fn shuffle<T>(rng: &mut SplitMix64, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Micro-batches of example indices for one epoch: a seeded permutation cut into
/// micro-batches, or with `group_by_length` cut into mega-batches of 50 micro-batches
/// first, each sorted longest first, as HF's `LengthGroupedSampler` does (less
/// padding, but consecutive micro-batches of similar examples).
pub fn epoch_batches(
    lengths: &[usize],
    micro_batch: usize,
    seed: u64,
    epoch: u64,
    group_by_length: bool,
) -> Vec<Vec<usize>> {
    let micro_batch = micro_batch.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    shuffle(
        &mut SplitMix64::new(seed ^ epoch.wrapping_mul(0xD6E8_FEB8_6659_FD93)),
        &mut order,
    );
    if !group_by_length {
        return order.chunks(micro_batch).map(<[usize]>::to_vec).collect();
    }
    let mut batches = Vec::new();
    for mega in order.chunks(micro_batch * 50) {
        let mut mega = mega.to_vec();
        mega.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
        batches.extend(mega.chunks(micro_batch).map(<[usize]>::to_vec));
    }
    batches
}

/// Right-pad examples into a [`Batch`] (pad id `pad_id`, padded labels ignored),
/// on `device` with its host copy kept ([`Batch::from_host`]: the ids and labels
/// are never read back from the device).
pub fn collate(examples: &[&Example], pad_id: i64, device: Device) -> Batch {
    let t = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(examples.len() * t);
    let mut labels = Vec::with_capacity(examples.len() * t);
    for e in examples {
        ids.extend_from_slice(&e.ids);
        ids.resize(ids.len() + t - e.ids.len(), pad_id);
        labels.extend_from_slice(&e.labels);
        labels.resize(labels.len() + t - e.labels.len(), IGNORE_INDEX);
    }
    let shape = [examples.len() as i64, t as i64];
    Batch::from_host(
        Tensor::from_slice(&ids).view(shape),
        Tensor::from_slice(&labels).view(shape),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_only_where_the_mask_is_set() {
        let e = Example::from_mask(&[1, 2, 3, 4], &[false, true, true, false]).unwrap();
        assert_eq!(e.labels, vec![IGNORE_INDEX, 2, 3, IGNORE_INDEX]);
        assert_eq!(e.label_count(), 2);
        assert!(Example::from_mask(&[1, 2], &[true]).is_err());
    }

    #[test]
    fn p95_and_truncation_count() {
        let lens: Vec<usize> = (1..=100).collect();
        assert_eq!(percentile(&lens, 0.95), 95);
        assert_eq!(percentile(&[7], 0.95), 7);
        let mut ex: Vec<Example> = [3usize, 5, 9]
            .iter()
            .map(|&n| Example::from_mask(&vec![1; n], &vec![true; n]).unwrap())
            .collect();
        assert_eq!(truncate(&mut ex, 5), 1);
        assert_eq!(ex[2].ids.len(), 5);
        assert_eq!(ex[2].labels.len(), 5);
    }

    /// 231 example lengths in no order.
    fn scattered_lengths() -> Vec<usize> {
        (0..231).map(|i| (i * 7919) % 1009).collect()
    }

    #[test]
    fn batches_cover_every_example_once_grouped_by_length_and_seeded() {
        let lens = scattered_lengths();
        let a = epoch_batches(&lens, 2, 42, 0, true);
        let mut seen: Vec<usize> = a.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..231).collect::<Vec<_>>());
        assert_eq!(a.len(), 116);
        for mega in a.chunks(50) {
            let flat: Vec<usize> = mega.iter().flatten().map(|&i| lens[i]).collect();
            assert!(
                flat.windows(2).all(|w| w[0] >= w[1]),
                "mega-batch sorted longest first"
            );
        }
        assert_eq!(a, epoch_batches(&lens, 2, 42, 0, true));
        assert_ne!(epoch_batches(&lens, 2, 42, 1, true), a);
    }

    #[test]
    fn ungrouped_batches_follow_the_seeded_permutation_unsorted() {
        let lens = scattered_lengths();
        let plain = epoch_batches(&lens, 2, 42, 0, false);
        let grouped = epoch_batches(&lens, 2, 42, 0, true);
        let order: Vec<usize> = plain.iter().flatten().copied().collect();
        let mut sorted_order = order.clone();
        sorted_order.sort_unstable();
        assert_eq!(sorted_order, (0..231).collect::<Vec<_>>());
        assert_eq!(plain.len(), 116);
        // Same examples per mega-batch as the grouped order, but not sorted by length.
        let first_mega = |b: &[Vec<usize>]| {
            let mut v: Vec<usize> = b[..50].iter().flatten().copied().collect();
            v.sort_unstable();
            v
        };
        assert_eq!(first_mega(&plain), first_mega(&grouped));
        let lengths: Vec<usize> = order[..100].iter().map(|&i| lens[i]).collect();
        assert!(
            lengths.windows(2).any(|w| w[0] < w[1]),
            "not sorted longest first"
        );
        assert_ne!(epoch_batches(&lens, 2, 42, 1, false), plain);
    }

    #[test]
    fn collate_pads_right_and_ignores_padding() {
        let a = Example::from_mask(&[5, 6, 7], &[false, true, true]).unwrap();
        let b = Example::from_mask(&[8], &[true]).unwrap();
        let batch = collate(&[&a, &b], 0, Device::Cpu);
        let ids = Vec::<i64>::try_from(&batch.input_ids.view([-1])).unwrap();
        let labels = Vec::<i64>::try_from(&batch.labels.view([-1])).unwrap();
        assert_eq!(ids, vec![5, 6, 7, 8, 0, 0]);
        assert_eq!(
            labels,
            vec![IGNORE_INDEX, 6, 7, 8, IGNORE_INDEX, IGNORE_INDEX]
        );
    }
}
