//! The key/value cache in f16, with the token ids it holds so a later prompt can
//! reuse the longest common prefix.

use half::f16;

/// Keys and values of every layer for positions `0..len()`, stored as f16 bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KvCache {
    kv_dim: usize,
    keys: Vec<Vec<u8>>,
    values: Vec<Vec<u8>>,
    tokens: Vec<u32>,
}

impl KvCache {
    /// An empty cache for `layers` layers of `kv_dim`-wide keys and values.
    pub fn new(layers: usize, kv_dim: usize) -> Self {
        Self {
            kv_dim,
            keys: vec![Vec::new(); layers],
            values: vec![Vec::new(); layers],
            tokens: Vec::new(),
        }
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token ids whose keys and values are cached, in order.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Bytes of one position of one layer's keys (or values).
    pub fn row_bytes(&self) -> usize {
        self.kv_dim * 2
    }

    /// Drops every position from `len` on.
    pub fn truncate(&mut self, len: usize) {
        let n = len.min(self.tokens.len());
        self.tokens.truncate(n);
        let bytes = n * self.row_bytes();
        for buf in self.keys.iter_mut().chain(self.values.iter_mut()) {
            buf.truncate(bytes);
        }
    }

    /// Appends the keys and values of layer `layer` for a batch of positions (f32,
    /// `kv_dim` per position, converted to f16). Call for every layer, then [`Self::commit`].
    pub fn append_layer(&mut self, layer: usize, keys: &[f32], values: &[f32]) {
        let to_f16 = |src: &[f32], dst: &mut Vec<u8>| {
            dst.reserve(src.len() * 2);
            for v in src {
                dst.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
            }
        };
        to_f16(keys, &mut self.keys[layer]);
        to_f16(values, &mut self.values[layer]);
    }

    /// Records the tokens whose keys and values every layer just appended.
    pub fn commit(&mut self, tokens: &[u32]) {
        self.tokens.extend_from_slice(tokens);
        debug_assert!(self
            .keys
            .iter()
            .all(|k| k.len() == self.tokens.len() * self.row_bytes()));
    }

    /// Layer `layer`'s keys for positions `0..n` (n ≥ committed length while a batch is
    /// being appended).
    pub fn keys(&self, layer: usize) -> &[u8] {
        &self.keys[layer]
    }

    /// Layer `layer`'s values, laid out like [`Self::keys`].
    pub fn values(&self, layer: usize) -> &[u8] {
        &self.values[layer]
    }

    /// Length of the common prefix of the cached tokens and `tokens`.
    pub fn common_prefix(&self, tokens: &[u32]) -> usize {
        self.tokens
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Bytes held by keys and values.
    pub fn bytes(&self) -> usize {
        self.keys.iter().chain(&self.values).map(Vec::len).sum()
    }

    /// A copy of the first `len` positions.
    pub fn prefix(&self, len: usize) -> KvCache {
        let mut copy = KvCache::new(self.keys.len(), self.kv_dim);
        let n = len.min(self.len());
        let bytes = n * self.row_bytes();
        for (dst, src) in copy.keys.iter_mut().zip(&self.keys) {
            dst.extend_from_slice(&src[..bytes]);
        }
        for (dst, src) in copy.values.iter_mut().zip(&self.values) {
            dst.extend_from_slice(&src[..bytes]);
        }
        copy.tokens.extend_from_slice(&self.tokens[..n]);
        copy
    }
}
