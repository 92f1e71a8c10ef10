//! Optimizers: AdamW with f32 states (torch.optim.AdamW's arithmetic, decoupled
//! weight decay) and an 8-bit blockwise AdamW whose moments are stored as
//! bitsandbytes-style dynamic 8-bit codes with one absmax per block of 256
//! (signed map for the first moment, unsigned for the second), optionally paged
//! to pinned CPU memory between steps. Plus gradient-norm clipping.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::dynamic::dynamic_map;

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// AdamW with f32 moments.
    Adamw,
    /// AdamW with 8-bit blockwise-quantized moments.
    Adamw8bit,
}

/// AdamW hyper-parameters (besides the learning rate, which the schedule gives).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWSettings {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWSettings {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// A named trainable tensor and whether weight decay applies to it.
#[derive(Debug)]
pub struct Param {
    /// Stable name (used for state keys).
    pub name: String,
    /// The tensor (its `.grad` holds the gradient).
    pub tensor: Tensor,
    /// Apply weight decay (false for norms).
    pub decay: bool,
}

/// The moments of every parameter, in one flat buffer laid out by [`Segment`]s.
#[derive(Debug)]
enum Moments {
    Full {
        m: Tensor,
        v: Tensor,
    },
    Quantized {
        m: QuantizedState,
        v: QuantizedState,
    },
}

/// A blockwise 8-bit tensor: codes `[n]` u8 and absmax `[ceil(n/256)]` f32.
#[derive(Debug)]
struct QuantizedState {
    codes: Tensor,
    absmax: Tensor,
}

impl QuantizedState {
    /// On `device`. From a parked state (page-locked host memory) the copy is
    /// non-blocking, queued on the stream instead of making the host wait for the
    /// backward pass before it (a blocking host-to-device copy synchronises the
    /// stream). The host buffers stay alive in the optimizer until the next
    /// [`AdamW::park`] writes into them, a copy queued after this one on the same
    /// stream.
    fn to_device(&self, device: Device) -> Self {
        let up = |t: &Tensor| t.to_device_(device, t.kind(), true, false);
        Self {
            codes: up(&self.codes),
            absmax: up(&self.absmax),
        }
    }
}

/// Elements per quantization block of the 8-bit states.
const STATE_BLOCK: i64 = 256;

/// Where one parameter lives in the optimizer's flat buffers: each starts on a
/// multiple of [`STATE_BLOCK`] (zero padding in between), so blockwise
/// quantization of the flat state is that of each parameter on its own.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    name: String,
    shape: Vec<i64>,
    offset: i64,
    numel: i64,
    padded: i64,
}

impl Segment {
    fn layout(params: &[Param]) -> Vec<Segment> {
        let mut offset = 0;
        params
            .iter()
            .map(|p| {
                let numel = p.tensor.numel() as i64;
                let padded = (numel + STATE_BLOCK - 1) / STATE_BLOCK * STATE_BLOCK;
                let seg = Segment {
                    name: p.name.clone(),
                    shape: p.tensor.size(),
                    offset,
                    numel,
                    padded,
                };
                offset += padded;
                seg
            })
            .collect()
    }

    /// This parameter's part of a flat buffer, in its shape.
    fn of(&self, flat: &Tensor) -> Tensor {
        flat.narrow(0, self.offset, self.numel)
            .view(self.shape.as_slice())
    }

    /// This parameter's absmax values in a flat absmax buffer.
    fn blocks_of(&self, absmax: &Tensor) -> Tensor {
        absmax.narrow(0, self.offset / STATE_BLOCK, self.padded / STATE_BLOCK)
    }
}

/// One tensor per segment, flattened, zero-padded and concatenated.
fn flatten(layout: &[Segment], parts: &[Tensor]) -> Tensor {
    let mut pieces = Vec::with_capacity(2 * parts.len());
    for (seg, t) in layout.iter().zip(parts) {
        pieces.push(t.reshape([-1]));
        if seg.padded > seg.numel {
            pieces.push(Tensor::zeros(
                [seg.padded - seg.numel],
                (t.kind(), t.device()),
            ));
        }
    }
    Tensor::cat(&pieces, 0)
}

/// One dynamic map on a device, with the midpoints used for nearest-code search.
#[derive(Debug)]
struct Codebook {
    values: Tensor,
    midpoints: Tensor,
}

impl Codebook {
    fn new(signed: bool, device: Device) -> Self {
        let v = Tensor::from_slice(&dynamic_map(signed)).to_device(device);
        let midpoints = (v.narrow(0, 0, 255) + v.narrow(0, 1, 255)) / 2.0;
        Self {
            values: v,
            midpoints,
        }
    }

    fn quantize(&self, x: &Tensor) -> QuantizedState {
        let n = x.numel() as i64;
        let blocks = (n + STATE_BLOCK - 1) / STATE_BLOCK;
        let padded = x.view([-1]).constant_pad_nd([0, blocks * STATE_BLOCK - n]);
        let padded = padded.view([blocks, STATE_BLOCK]);
        let absmax = padded.abs().amax([1], false);
        let scaled = (padded / absmax.clamp_min(1e-30).unsqueeze(1)).clamp(-1.0, 1.0);
        let codes = scaled
            .bucketize(&self.midpoints, true, false)
            .to_kind(Kind::Uint8)
            .view([-1])
            .narrow(0, 0, n);
        QuantizedState { codes, absmax }
    }

    fn dequantize(&self, q: &QuantizedState, shape: &[i64]) -> Tensor {
        let n = q.codes.numel() as i64;
        let vals = self.values.index_select(0, &q.codes.to_kind(Kind::Int));
        let scale = q
            .absmax
            .repeat_interleave_self_int(STATE_BLOCK, 0, None)
            .narrow(0, 0, n);
        (vals * scale).view(shape)
    }
}

/// AdamW, f32 or 8-bit states.
#[derive(Debug)]
pub struct AdamW {
    settings: AdamWSettings,
    kind: OptimizerKind,
    page_states: bool,
    step: i64,
    layout: Vec<Segment>,
    moments: Option<Moments>,
    codebooks: Option<(Codebook, Codebook)>,
}

impl AdamW {
    /// A fresh optimizer. `page_states` keeps 8-bit states in pinned CPU memory
    /// between steps when the parameters are on a GPU.
    pub fn new(kind: OptimizerKind, settings: AdamWSettings, page_states: bool) -> Self {
        Self {
            settings,
            kind,
            page_states,
            step: 0,
            layout: Vec::new(),
            moments: None,
            codebooks: None,
        }
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> i64 {
        self.step
    }

    fn codebooks(&mut self, device: Device) -> &(Codebook, Codebook) {
        self.codebooks
            .get_or_insert_with(|| (Codebook::new(true, device), Codebook::new(false, device)))
    }

    /// Where a state tensor waits between steps: pinned host memory when paging
    /// from a GPU (reusing the previous step's pinned buffer of the same shape, so
    /// pinned memory is allocated once), else where it is.
    fn park(&self, t: Tensor, previous: Option<Tensor>) -> Tensor {
        match t.device() {
            Device::Cuda(i) if self.page_states => match previous {
                Some(mut buffer) if buffer.device() == Device::Cpu && buffer.size() == t.size() => {
                    buffer.copy_(&t);
                    buffer
                }
                // `_pin_memory`: `pin_memory(device)` warns that the device argument
                // (which tch always passes) is deprecated, once per tensor
                _ => t
                    .to_device(Device::Cpu)
                    .internal_pin_memory(Device::Cuda(i)),
            },
            _ => t,
        }
    }

    fn park_state(&self, q: QuantizedState, previous: Option<QuantizedState>) -> QuantizedState {
        let (codes, absmax) = match previous {
            Some(p) => (Some(p.codes), Some(p.absmax)),
            None => (None, None),
        };
        QuantizedState {
            codes: self.park(q.codes, codes),
            absmax: self.park(q.absmax, absmax),
        }
    }

    /// One update of every parameter, at learning rate `lr`, computed on flat
    /// buffers holding all parameters (a few dozen kernels per step instead of a
    /// few dozen per parameter); element by element the same arithmetic as
    /// torch.optim.AdamW. A step where no parameter has a gradient changes
    /// nothing; a parameter without one (when others have one) counts as zero.
    pub fn step(&mut self, params: &[Param], lr: f64) -> Result<()> {
        self.step += 1;
        let grads: Vec<Tensor> = params.iter().map(|p| p.tensor.grad()).collect();
        if !grads.iter().any(Tensor::defined) {
            return Ok(());
        }
        let layout = Segment::layout(params);
        if self.layout != layout {
            if self.moments.is_some() {
                bail!("the parameters changed between optimizer steps");
            }
            self.layout = layout;
        }
        let s = self.settings;
        let t = self.step as f64;
        let bias1 = 1.0 - s.beta1.powf(t);
        let bias2_sqrt = (1.0 - s.beta2.powf(t)).sqrt();
        let step_size = lr / bias1;
        let device = params[0].tensor.device();
        tch::no_grad(|| -> Result<()> {
            let grads: Vec<Tensor> = grads
                .into_iter()
                .zip(params)
                .map(|(g, p)| {
                    if g.defined() {
                        g
                    } else {
                        p.tensor.zeros_like()
                    }
                })
                .collect();
            let grad = flatten(&self.layout, &grads);
            let weights: Vec<Tensor> = params.iter().map(|p| p.tensor.detach()).collect();
            let mut w = flatten(&self.layout, &weights);
            let total = grad.size()[0];
            let mut parked = None;
            let (mut m, mut v) = match self.moments.take() {
                None => (grad.zeros_like(), grad.zeros_like()),
                Some(Moments::Full { m, v }) => (m, v),
                Some(Moments::Quantized { m: qm, v: qv }) => {
                    let (cm, cv) = self.codebooks(device);
                    let mut m = cm.dequantize(&qm.to_device(device), &[total]);
                    let mut v = cv.dequantize(&qv.to_device(device), &[total]);
                    parked = Some((qm, qv));
                    // padding is zero, as when each parameter is quantized alone
                    if self.layout.iter().any(|seg| seg.padded > seg.numel) {
                        let ones: Vec<Tensor> =
                            params.iter().map(|p| p.tensor.ones_like()).collect();
                        let real = flatten(&self.layout, &ones);
                        let _ = m.g_mul_(&real);
                        let _ = v.g_mul_(&real);
                    }
                    (m, v)
                }
            };
            if s.weight_decay != 0.0 {
                let decays: Vec<Tensor> = params
                    .iter()
                    .map(|p| {
                        let flag = if p.decay { 1.0 } else { 0.0 };
                        Tensor::full(p.tensor.size(), flag, (Kind::Float, device))
                    })
                    .collect();
                let mask = flatten(&self.layout, &decays).ne(0.0);
                let factor =
                    Tensor::where_scalar(&mask, 1.0 - lr * s.weight_decay, 1.0).to_kind(w.kind());
                let _ = w.g_mul_(&factor);
            }
            let _ = m.lerp_(&grad, 1.0 - s.beta1);
            let _ = v.g_mul_scalar_(s.beta2);
            let _ = v.g_add_(&(&grad * (1.0 - s.beta2) * &grad));
            let denom = v.sqrt() / bias2_sqrt + s.eps;
            let _ = w.g_add_(&((&m * -step_size) / denom));
            for (seg, p) in self.layout.iter().zip(params) {
                p.tensor.detach().copy_(&seg.of(&w));
            }
            self.moments = Some(match self.kind {
                OptimizerKind::Adamw => Moments::Full { m, v },
                OptimizerKind::Adamw8bit => {
                    let (cm, cv) = self.codebooks(device);
                    let (qm, qv) = (cm.quantize(&m), cv.quantize(&v));
                    let (pm, pv) = parked.map_or((None, None), |(a, b)| (Some(a), Some(b)));
                    Moments::Quantized {
                        m: self.park_state(qm, pm),
                        v: self.park_state(qv, pv),
                    }
                }
            });
            Ok(())
        })
    }

    /// The state as named tensors (for a checkpoint); the step count is
    /// stored as a one-element int64 tensor `step`.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.step]))];
        let cpu = |t: Tensor| t.to_device(Device::Cpu).contiguous();
        let mut layout: Vec<&Segment> = self.layout.iter().collect();
        layout.sort_by(|a, b| a.name.cmp(&b.name));
        for seg in layout {
            let name = &seg.name;
            match &self.moments {
                None => {}
                Some(Moments::Full { m, v }) => {
                    out.push((format!("{name}.exp_avg"), cpu(seg.of(m))));
                    out.push((format!("{name}.exp_avg_sq"), cpu(seg.of(v))));
                }
                Some(Moments::Quantized { m, v }) => {
                    for (key, q) in [("exp_avg", m), ("exp_avg_sq", v)] {
                        let codes = q.codes.narrow(0, seg.offset, seg.numel);
                        out.push((format!("{name}.{key}.codes"), cpu(codes)));
                        out.push((
                            format!("{name}.{key}.absmax"),
                            cpu(seg.blocks_of(&q.absmax)),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Restore a state written by [`AdamW::state_tensors`] for `params`.
    pub fn load_state(
        &mut self,
        mut tensors: HashMap<String, Tensor>,
        params: &[Param],
    ) -> Result<()> {
        let mut take = |k: &str| {
            tensors
                .remove(k)
                .ok_or_else(|| anyhow!("optimizer state has no `{k}`"))
        };
        let step = take("step")?;
        self.step = step.int64_value(&[0]);
        self.moments = None;
        self.layout = Segment::layout(params);
        if self.step == 0 {
            return Ok(());
        }
        let Some(device) = params.first().map(|p| p.tensor.device()) else {
            return Ok(());
        };
        let mut gather = |key: &str| -> Result<Vec<Tensor>> {
            params
                .iter()
                .map(|p| take(&format!("{}.{key}", p.name)))
                .collect()
        };
        self.moments = Some(match self.kind {
            OptimizerKind::Adamw => Moments::Full {
                m: flatten(&self.layout, &gather("exp_avg")?).to_device(device),
                v: flatten(&self.layout, &gather("exp_avg_sq")?).to_device(device),
            },
            OptimizerKind::Adamw8bit => {
                let mut state = |key: &str| -> Result<QuantizedState> {
                    let codes = flatten(&self.layout, &gather(&format!("{key}.codes"))?);
                    let absmax = Tensor::cat(&gather(&format!("{key}.absmax"))?, 0);
                    Ok(self.park_state(
                        QuantizedState {
                            codes: codes.to_device(device),
                            absmax: absmax.to_device(device),
                        },
                        None,
                    ))
                };
                let m = state("exp_avg")?;
                let v = state("exp_avg_sq")?;
                Moments::Quantized { m, v }
            }
        });
        if let Some(extra) = tensors.keys().next() {
            bail!("optimizer state holds `{extra}`, which is no parameter of this model (another optimizer kind or model?)");
        }
        Ok(())
    }
}

/// Clip the gradients' global L2 norm to `max_norm` as torch's
/// `clip_grad_norm_` does, without reading anything back: the clipping coefficient
/// `min(max_norm / (norm + 1e-6), 1)` is computed on the gradients' device, so on
/// a GPU the host queues the clipping (and the optimizer step after it) without
/// waiting for the backward pass. Returns the norm before clipping, an f32 0-dim
/// tensor on that device (`None`: no gradient, norm 0).
///
/// The coefficient is bit-identical to the f64 host arithmetic it replaces: the
/// f32 norm widened to f64, then IEEE f64 addition and division of two device
/// tensors (no host-scalar divisor, so no multiplication by a reciprocal), and
/// `fmin`, which like `f64::min` takes 1 when the ratio is NaN; multiplying an f32
/// gradient by the f64 0-dim coefficient rounds it to f32 once, as multiplying by
/// the f64 scalar did. (Trainable tensors, hence their gradients, are f32.)
pub fn clip_grad_norm(params: &[Param], max_norm: f64) -> Option<Tensor> {
    tch::no_grad(|| {
        let grads: Vec<Tensor> = params
            .iter()
            .map(|p| p.tensor.grad())
            .filter(Tensor::defined)
            .collect();
        if grads.is_empty() {
            return None;
        }
        let norms: Vec<Tensor> = grads
            .iter()
            .map(|g| g.to_kind(Kind::Float).norm())
            .collect();
        let total = Tensor::stack(&norms, 0).norm();
        let device = total.device();
        let ratio = Tensor::full([], max_norm, (Kind::Double, device))
            / (total.to_kind(Kind::Double) + 1e-6);
        let coef = ratio.fmin(&Tensor::ones([], (Kind::Double, device)));
        for mut g in grads {
            let _ = g.g_mul_(&coef);
        }
        Some(total)
    })
}

/// Zero every parameter's gradient (sets it to zeros; keeps the buffer).
pub fn zero_grads(params: &[Param]) {
    for p in params {
        let mut g = p.tensor.grad();
        if g.defined() {
            let _ = g.zero_();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, values: &[f32], grad: &[f32]) -> Param {
        let t = Tensor::from_slice(values).set_requires_grad(true);
        (&t * Tensor::from_slice(grad)).sum(Kind::Float).backward();
        Param {
            name: name.into(),
            tensor: t,
            decay: true,
        }
    }

    #[test]
    fn adamw_matches_the_closed_form_first_steps() {
        let p = param("w", &[1.0, -2.0, 0.5], &[0.1, -0.3, 0.0]);
        let mut opt = AdamW::new(OptimizerKind::Adamw, AdamWSettings::default(), false);
        opt.step(std::slice::from_ref(&p), 0.01).unwrap();
        // step 1: m_hat = g, v_hat = g^2 → update = lr * g / (|g| + eps) = ±lr where g≠0
        let w = Vec::<f32>::try_from(&p.tensor.detach()).unwrap();
        let decayed = |x: f32| x * (1.0 - 0.01 * 0.01);
        assert!((w[0] - (decayed(1.0) - 0.01)).abs() < 1e-6);
        assert!((w[1] - (decayed(-2.0) + 0.01)).abs() < 1e-6);
        assert!((w[2] - decayed(0.5)).abs() < 1e-7);
        assert_eq!(opt.steps(), 1);
    }

    #[test]
    fn eight_bit_tracks_f32_adamw_closely_and_round_trips_its_state() {
        tch::manual_seed(3);
        let init = Tensor::randn([1000], (Kind::Float, Device::Cpu));
        let mk = || Param {
            name: "w".into(),
            tensor: init.copy().set_requires_grad(true),
            decay: true,
        };
        let (p32, p8) = (mk(), mk());
        let mut o32 = AdamW::new(OptimizerKind::Adamw, AdamWSettings::default(), false);
        let mut o8 = AdamW::new(OptimizerKind::Adamw8bit, AdamWSettings::default(), false);
        for _ in 0..5 {
            for p in [&p32, &p8] {
                zero_grads(std::slice::from_ref(p));
                (p.tensor.pow_tensor_scalar(2) * 0.5)
                    .sum(Kind::Float)
                    .backward();
            }
            o32.step(std::slice::from_ref(&p32), 1e-2).unwrap();
            o8.step(std::slice::from_ref(&p8), 1e-2).unwrap();
        }
        let diff = (&p32.tensor - &p8.tensor).abs();
        let moved = (&p32.tensor - &init).abs();
        let (max_diff, max_moved) = (diff.max().double_value(&[]), moved.max().double_value(&[]));
        assert!(
            max_diff < 0.1 * max_moved,
            "8-bit drifted {max_diff} vs movement {max_moved}"
        );
        let (mean_diff, mean_moved) = (
            diff.mean(Kind::Float).double_value(&[]),
            moved.mean(Kind::Float).double_value(&[]),
        );
        assert!(
            mean_diff < 0.02 * mean_moved,
            "8-bit mean drift {mean_diff} vs {mean_moved}"
        );
        let state: HashMap<String, Tensor> = o8.state_tensors().into_iter().collect();
        assert_eq!(state["w.exp_avg.codes"].kind(), Kind::Uint8);
        let mut again = AdamW::new(OptimizerKind::Adamw8bit, AdamWSettings::default(), false);
        again.load_state(state, std::slice::from_ref(&p8)).unwrap();
        assert_eq!(again.steps(), 5);
    }

    #[test]
    fn flat_steps_equal_each_parameter_alone_and_resume_exactly() {
        tch::manual_seed(4);
        let inits = [
            Tensor::randn([1000], (Kind::Float, Device::Cpu)),
            Tensor::randn([3, 100], (Kind::Float, Device::Cpu)),
        ];
        let make = || -> Vec<Param> {
            inits
                .iter()
                .enumerate()
                .map(|(i, t)| Param {
                    name: format!("p{i}"),
                    tensor: t.copy().set_requires_grad(true),
                    decay: i == 0,
                })
                .collect()
        };
        let backward = |ps: &[Param], k: f64| {
            zero_grads(ps);
            for p in ps {
                ((p.tensor.pow_tensor_scalar(2) * k).sum(Kind::Float)).backward();
            }
        };
        let settings = AdamWSettings::default();
        for kind in [OptimizerKind::Adamw, OptimizerKind::Adamw8bit] {
            let (together, alone) = (make(), make());
            let mut flat = AdamW::new(kind, settings, false);
            let mut single: Vec<AdamW> =
                (0..2).map(|_| AdamW::new(kind, settings, false)).collect();
            let mut resumed_params = make();
            let mut resumed = AdamW::new(kind, settings, false);
            for step in 0..5 {
                let k = 0.5 + step as f64;
                backward(&together, k);
                flat.step(&together, 1e-2).unwrap();
                for (o, p) in single.iter_mut().zip(&alone) {
                    backward(std::slice::from_ref(p), k);
                    o.step(std::slice::from_ref(p), 1e-2).unwrap();
                }
                if step == 2 {
                    // a fresh optimizer from the checkpointed state and weights
                    let state: HashMap<String, Tensor> = flat.state_tensors().into_iter().collect();
                    for (r, t) in resumed_params.iter_mut().zip(&together) {
                        r.tensor = t.tensor.detach().copy().set_requires_grad(true);
                    }
                    resumed.load_state(state, &resumed_params).unwrap();
                }
                if step > 2 {
                    backward(&resumed_params, k);
                    resumed.step(&resumed_params, 1e-2).unwrap();
                }
            }
            for ((t, a), r) in together.iter().zip(&alone).zip(&resumed_params) {
                assert!(
                    t.tensor.equal(&a.tensor),
                    "{kind:?} {}: flat vs alone",
                    t.name
                );
                assert!(t.tensor.equal(&r.tensor), "{kind:?} {}: resumed", t.name);
            }
        }
    }

    #[test]
    fn queued_clipping_is_bit_identical_to_the_host_arithmetic() {
        tch::manual_seed(11);
        // the coefficient as it was computed on the host before
        let host_clip = |grads: &[Tensor], max_norm: f64| -> (f64, Vec<Tensor>) {
            let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
            let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
            let coef = (max_norm / (total + 1e-6)).min(1.0);
            (total, grads.iter().map(|g| g * coef).collect())
        };
        let mut cases: Vec<Vec<Tensor>> = [1e-4, 0.01, 0.3, 3.0, 1e3]
            .iter()
            .map(|&s| {
                vec![
                    Tensor::randn([257], (Kind::Float, Device::Cpu)) * s,
                    Tensor::randn([3, 5], (Kind::Float, Device::Cpu)) * s,
                ]
            })
            .collect();
        cases.push(vec![Tensor::from_slice(&[1.0f32, f32::NAN])]);
        cases.push(vec![Tensor::from_slice(&[1.0f32, f32::INFINITY])]);
        for grads in cases {
            for max_norm in [0.3, 1.0] {
                let params: Vec<Param> = grads
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        let t = g.zeros_like().set_requires_grad(true);
                        (&t * g).sum(Kind::Float).backward();
                        Param {
                            name: format!("p{i}"),
                            tensor: t,
                            decay: true,
                        }
                    })
                    .collect();
                let (norm, expected) = host_clip(&grads, max_norm);
                let queued = clip_grad_norm(&params, max_norm).unwrap();
                let got = queued.double_value(&[]);
                assert!(
                    got == norm || (got.is_nan() && norm.is_nan()),
                    "{got} vs {norm}"
                );
                for (p, e) in params.iter().zip(&expected) {
                    let g = p.tensor.grad();
                    // equal bits, NaN where NaN
                    let same = g
                        .eq_tensor(e)
                        .logical_or(&g.isnan().logical_and(&e.isnan()));
                    assert!(same.all().int64_value(&[]) == 1, "{g:?} vs {e:?}");
                }
            }
        }
        assert!(clip_grad_norm(&[], 1.0).is_none());
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let p = param("w", &[0.0, 0.0], &[3.0, 4.0]);
        let norm = clip_grad_norm(std::slice::from_ref(&p), 1.0).unwrap();
        assert!((norm.double_value(&[]) - 5.0).abs() < 1e-6);
        let g = Vec::<f32>::try_from(&p.tensor.grad()).unwrap();
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
    }
}
