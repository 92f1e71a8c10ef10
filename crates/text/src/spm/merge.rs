//! The SentencePiece merge of one text fragment, as llama.cpp's `llm_tokenizer_spm`:
//! start from single UTF-8 characters, repeatedly merge the adjacent pair whose joined
//! text is the highest-scoring vocabulary piece (the left-most pair on ties), then
//! emit each final symbol's id, or its bytes as `<0xNN>` tokens when it has none.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::SpmVocab;

/// No neighbour.
const NONE: usize = usize::MAX;

/// A run of the text, linked to its neighbours; `len == 0` once merged away.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: usize,
    next: usize,
}

/// A candidate merge of two adjacent symbols.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    /// Byte length of the joined text when queued; a mismatch later means stale.
    size: usize,
}

impl Ord for Bigram {
    /// Higher score first; on equal scores the left-most pair first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

/// Append the ids of `text` (spaces already escaped as U+2581) to `out`.
///
/// A final symbol is either one character or the result of merges, and a merge only
/// happens when the joined text is a vocabulary piece, so only single characters can
/// miss the vocabulary: they fall back to byte tokens, or to the unknown token when
/// the vocabulary lacks a byte of them (llama.cpp aborts there).
pub(super) fn encode_fragment(vocab: &SpmVocab, text: &str, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::new();
    for (i, (start, c)) in text.char_indices().enumerate() {
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: if i == 0 { NONE } else { i - 1 },
            next: i + 1,
        });
    }
    if let Some(last) = symbols.last_mut() {
        last.next = NONE;
    }
    let mut queue = BinaryHeap::new();
    for right in 1..symbols.len() {
        push_bigram(vocab, text, &symbols, right - 1, right, &mut queue);
    }
    while let Some(bigram) = queue.pop() {
        let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
        if left.len == 0 || right.len == 0 || left.len + right.len != bigram.size {
            continue;
        }
        symbols[bigram.left].len += right.len;
        symbols[bigram.right].len = 0;
        symbols[bigram.left].next = right.next;
        if right.next != NONE {
            symbols[right.next].prev = bigram.left;
        }
        let merged = symbols[bigram.left];
        push_bigram(vocab, text, &symbols, merged.prev, bigram.left, &mut queue);
        push_bigram(vocab, text, &symbols, bigram.left, merged.next, &mut queue);
    }
    let mut i = if symbols.is_empty() { NONE } else { 0 };
    while i != NONE {
        let symbol = symbols[i];
        emit(vocab, &text[symbol.start..symbol.start + symbol.len], out);
        i = symbol.next;
    }
}

/// Queue the merge of `left` and `right` if their joined text is a piece.
fn push_bigram(
    vocab: &SpmVocab,
    text: &str,
    symbols: &[Symbol],
    left: usize,
    right: usize,
    queue: &mut BinaryHeap<Bigram>,
) {
    if left == NONE || right == NONE {
        return;
    }
    let (l, r) = (symbols[left], symbols[right]);
    let joined = &text[l.start..r.start + r.len];
    if let Some(score) = vocab.id(joined).and_then(|id| vocab.score(id)) {
        queue.push(Bigram {
            score,
            left,
            right,
            size: joined.len(),
        });
    }
}

/// The id of a final symbol, else its byte tokens, else the unknown token.
fn emit(vocab: &SpmVocab, piece: &str, out: &mut Vec<u32>) {
    if let Some(id) = vocab.id(piece) {
        out.push(id);
        return;
    }
    let bytes: Option<Vec<u32>> = piece.bytes().map(|b| vocab.byte_token(b)).collect();
    match bytes {
        Some(ids) => out.extend(ids),
        None => out.push(vocab.special().unk),
    }
}
