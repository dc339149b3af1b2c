//! The model in the page: the same `model-core` code and weights as
//! `trainer sample`, on WebGPU (burn-wgpu) where the browser offers it and on
//! burn's flex CPU backend compiled to wasm otherwise.

use burn::prelude::Device;
use model_core::chem::depict::depict_svg;
use model_core::chem::{Molecule, canonical_smiles, parse_smiles};
use model_core::model::sample::{
    BatchRows, Lanes, Sample, Target, decode_greedy, encode_means, nearest_to_gap_trusting,
    predict_gap_ev, sample_batch, sample_batch_async,
};
use model_core::model::weights::load_weights;
use model_core::model::{GraphVae, ModelConfig};

/// Where sampling runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    WebGpu,
    Cpu,
}

impl BackendKind {
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::WebGpu => "WebGPU (burn wgpu)",
            BackendKind::Cpu => "CPU (burn flex, wasm32)",
        }
    }
}

/// The weights loaded on one device.
struct Loaded {
    model: GraphVae,
    device: Device,
}

pub struct Generator {
    config: ModelConfig,
    /// Always there: encoding, greedy decoding and the fallback for sampling.
    cpu: Loaded,
    gpu: Option<Loaded>,
    /// Why sampling does not start on WebGPU: there is none, or its adapter
    /// is a software fallback (slower than the CPU backend).
    gpu_note: Option<String>,
}

/// One molecule, ready to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Drawn {
    pub smiles: String,
    pub svg: String,
    pub predicted_gap_ev: f64,
    pub heavy_atoms: usize,
    /// A ring system whose framework the model's training data lacks (see
    /// `ModelConfig::ring_frameworks`): its predicted gap is extrapolation.
    pub new_ring_system: bool,
}

/// Molecules decoded per batch (as `trainer sample` does).
const BATCH: usize = 256;

/// With a target gap, candidates drawn per molecule shown. The page has no
/// surrogate; the model's own gap head, read from each candidate's encoding,
/// ranks them (`trainer sample --gap` ranks with the surrogate).
const GAP_OVERSAMPLE: usize = 4;

impl Generator {
    /// Loads the weights on the CPU, and on WebGPU when the browser offers it.
    pub async fn load(bytes: &[u8]) -> Result<Generator, String> {
        let cpu_device = Device::flex();
        let (model, config) = load_weights(bytes, &cpu_device).map_err(|e| e.to_string())?;
        let cpu = Loaded {
            model,
            device: cpu_device,
        };
        let (gpu, gpu_note) = match webgpu_device().await {
            Ok((device, software)) => match load_weights(bytes, &device) {
                Ok((model, _)) => (Some(Loaded { model, device }), software),
                Err(e) => (
                    None,
                    Some(format!("the weights did not load on WebGPU: {e}")),
                ),
            },
            Err(why) => (None, Some(why)),
        };
        Ok(Generator {
            config,
            cpu,
            gpu,
            gpu_note,
        })
    }

    pub fn has_webgpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// Where sampling starts: WebGPU on a hardware adapter, the CPU otherwise.
    pub fn preferred_backend(&self) -> BackendKind {
        if self.gpu.is_some() && self.gpu_note.is_none() {
            BackendKind::WebGpu
        } else {
            BackendKind::Cpu
        }
    }

    /// Why sampling does not start on WebGPU, if it does not.
    pub fn webgpu_note(&self) -> Option<&str> {
        self.gpu_note.as_deref()
    }

    /// Samples `n` molecules with `seed` on `backend` (WebGPU falls back to
    /// the CPU when it is not there); with `target_gap_ev`, from the prior
    /// conditioned on that gap, keeping the candidates nearest it. Returns
    /// the backend that ran.
    pub async fn sample(
        &self,
        backend: BackendKind,
        n: usize,
        seed: u64,
        temperature: f32,
        target_gap_ev: Option<f64>,
    ) -> Result<(Vec<Sample>, BackendKind), String> {
        let Some(gap) = target_gap_ev else {
            return self
                .sample_target(backend, n, seed, temperature, Target::Prior)
                .await;
        };
        let (candidates, ran_on) = self
            .sample_target(
                backend,
                n * GAP_OVERSAMPLE,
                seed,
                temperature,
                Target::GapEv(gap),
            )
            .await?;
        // Candidates on ring systems the model never saw rank last, as in
        // `trainer sample --gap`: the gap head's predictions there are guesses.
        let kept = nearest_to_gap_trusting(
            candidates,
            |molecules| self.predict_gaps(&self.encode(molecules)),
            |molecule| self.config.knows_ring_systems_of(molecule),
            gap,
            n,
        );
        Ok((kept, ran_on))
    }

    async fn sample_target(
        &self,
        backend: BackendKind,
        n: usize,
        seed: u64,
        temperature: f32,
        target: Target<'_>,
    ) -> Result<(Vec<Sample>, BackendKind), String> {
        let ran_on = match self.gpu {
            Some(_) if backend == BackendKind::WebGpu => BackendKind::WebGpu,
            _ => BackendKind::Cpu,
        };
        let mut out = Vec::with_capacity(n);
        for rows in BatchRows::cut(n, BATCH) {
            match (&self.gpu, ran_on) {
                (Some(gpu), BackendKind::WebGpu) => out.extend(
                    sample_batch_async(
                        &gpu.model,
                        &self.config,
                        seed,
                        rows,
                        temperature,
                        target,
                        &gpu.device,
                    )
                    .await
                    .map_err(|e| format!("WebGPU sampling failed: {e}"))?,
                ),
                _ => {
                    out.extend(
                        sample_batch(
                            &self.cpu.model,
                            &self.config,
                            seed,
                            rows,
                            temperature,
                            target,
                            Lanes::ONE,
                            &self.cpu.device,
                        )
                        .map_err(|e| e.to_string())?,
                    );
                    // Let the page breathe between batches (WebGPU batches await anyway).
                    crate::browser::next_frame().await;
                }
            }
        }
        Ok((out, ran_on))
    }

    /// Mean latents of `molecules` (on the CPU), `[n, latent]` row-major.
    pub fn encode(&self, molecules: &[&Molecule]) -> Vec<f32> {
        encode_means(&self.cpu.model, molecules, &self.cpu.device)
    }

    pub fn latent_size(&self) -> usize {
        self.config.latent
    }

    /// The largest molecule the decoder builds.
    pub fn max_atoms(&self) -> usize {
        self.config.max_atoms
    }

    /// Greedy decoding of latents (on the CPU).
    pub fn decode(&self, z: &[f32]) -> Vec<Molecule> {
        decode_greedy(&self.cpu.model, &self.config, z, &self.cpu.device)
    }

    /// The gap head's prediction for latents, in eV.
    pub fn predict_gaps(&self, z: &[f32]) -> Vec<f64> {
        predict_gap_ev(&self.cpu.model, &self.config, z, &self.cpu.device)
    }

    /// Parses `smiles` and predicts its gap from its mean latent.
    pub fn read(&self, smiles: &str) -> Result<Drawn, String> {
        let molecule = parse_smiles(smiles.trim()).map_err(|e| e.to_string())?;
        let z = self.encode(&[&molecule]);
        let gap = self.predict_gaps(&z)[0];
        Ok(self.draw(&molecule, gap))
    }

    /// The canonical SMILES and 2D drawing of a molecule, with what the
    /// model knows of it.
    pub fn draw(&self, molecule: &Molecule, predicted_gap_ev: f64) -> Drawn {
        Drawn {
            smiles: canonical_smiles(molecule),
            svg: depict_svg(molecule),
            predicted_gap_ev,
            heavy_atoms: molecule.heavy_atom_count(),
            new_ring_system: !self.config.knows_ring_systems_of(molecule),
        }
    }

    pub fn draw_sample(&self, sample: &Sample) -> Drawn {
        self.draw(&sample.molecule, sample.predicted_gap_ev)
    }
}

/// Initialises WebGPU, or says why it is not there. With the device comes a
/// note when the adapter is a software fallback (SwiftShader, say), which
/// runs this model more slowly than the CPU backend.
#[cfg(target_arch = "wasm32")]
async fn webgpu_device() -> Result<(Device, Option<String>), String> {
    let Some(adapter) = crate::browser::webgpu_adapter().await else {
        return Err("this browser offers no WebGPU adapter".into());
    };
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU did not start: {e}"))?;
    let note = adapter.fallback.then(|| {
        format!(
            "its adapter ({}) is a software fallback, slower than the CPU here; choose WebGPU in the backend menu to use it anyway",
            adapter.name
        )
    });
    Ok((device, note))
}

#[cfg(not(target_arch = "wasm32"))]
async fn webgpu_device() -> Result<(Device, Option<String>), String> {
    Err("WebGPU exists only in the browser build".into())
}

pub fn csv(molecules: &[Drawn]) -> String {
    let mut out = String::from("smiles,predicted_gap_ev,heavy_atoms,new_ring_system\n");
    for m in molecules {
        out.push_str(&format!(
            "{},{:.3},{},{}\n",
            m.smiles, m.predicted_gap_ev, m.heavy_atoms, m.new_ring_system
        ));
    }
    out
}
